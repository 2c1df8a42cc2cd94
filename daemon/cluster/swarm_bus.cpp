#include "daemon/cluster/swarm_bus.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "daemon/bus/agent_message.hpp"
#include "proto/cluster_names.hpp"
#include "proto/display.hpp"
#include "proto/timestamp.hpp"

namespace coordd {
namespace json = boost::json;

namespace {

constexpr std::size_t kRecentIds = 16'384;
// A message whose sender the registry does not show yet waits this long
// for its entry before it is refused.
constexpr auto kSenderWait = std::chrono::seconds(2);
constexpr auto kRetryAfter = std::chrono::milliseconds(250);
constexpr int kMaxConflicts = 8;
// How long a hello waits for the swarm's registry of a coordd that has
// just joined, before it is served locally (and claimed later).
constexpr auto kRegistryWait = std::chrono::seconds(5);
constexpr std::size_t kMaxInTransit = 65'536;
// Stream seqs remembered per mailbox as handed over: a re-made consumer
// delivers again only what was unacked, i.e. acks lost in a failover.
constexpr std::size_t kHandedWindow = 4096;

Status unavailable(std::string why) {
  return Status::error("cluster_unavailable",
                       std::move(why) + "; messages to agents on this host still work");
}

}  // namespace

SwarmBus::SwarmBus(boost::asio::io_context& io, const Clock& clock, MessageBus& bus,
                   MessageBridge& bridge, SwarmBusOptions options,
                   std::function<bool(const std::string&, const std::string&)> gone)
    : clock_(clock),
      bus_(bus),
      bridge_(bridge),
      options_(std::move(options)),
      gone_(std::move(gone)),
      prefix_(message_subject_prefix(options_.cluster_name)),
      acks_(*this),
      refused_log_(clock, io.get_executor()),
      errors_log_(clock, io.get_executor()),
      retry_(clock.make_alarm(io.get_executor())),
      registry_wait_(clock.make_alarm(io.get_executor())) {}

SwarmBus::~SwarmBus() {
  retry_->cancel();
  registry_wait_->cancel();
}

std::string SwarmBus::next_id() {
  return options_.host_id + ":" + options_.epoch + ":" + std::to_string(next_message_++);
}

bool SwarmBus::live_elsewhere(const Registered& entry) const {
  return entry.value.host != options_.host_id && entry.value.connected &&
         !gone_(entry.value.host, entry.value.epoch);
}

void SwarmBus::release_waiters() {
  if (ready() && registry_caught_up_) return;
  std::vector<Waiter> waiters;
  for (auto& [agent, mine] : mine_) {
    for (Waiter& waiter : std::exchange(mine.waiters, {})) waiters.push_back(std::move(waiter));
  }
  for (Waiter& waiter : waiters) waiter.done(Status());
}

void SwarmBus::set_joined(bool joined) {
  bool was = ready();
  joined_ = joined;
  if (!joined_) release_waiters();
  if (ready() && !was) {
    for (auto& [agent, mine] : mine_) kick(agent);
  }
}

void SwarmBus::arm_retry() {
  if (retry_armed_) return;
  retry_armed_ = true;
  retry_->arm(kRetryAfter, [this] {
    retry_armed_ = false;
    bool again = false;
    std::vector<std::string> agents;
    for (auto& [agent, mine] : mine_) agents.push_back(agent);
    for (const std::string& agent : agents) {
      kick(agent);
      drain_waiting(agent);
      auto it = mine_.find(agent);
      if (it != mine_.end() && !it->second.waiting.empty()) again = true;
    }
    if (again) arm_retry();
  });
}

// --- the registry ------------------------------------------------------------

void SwarmBus::claim(const std::string& agent, bool takeover, std::function<void(Status)> done) {
  if (ready() && registry_caught_up_) {
    auto it = registry_.find(agent);
    if (it != registry_.end() && live_elsewhere(it->second) && !takeover) {
      done(Status::error("agent_taken", "agent '" + agent + "' is connected on host " +
                                            it->second.value.host +
                                            "; say hello with \"takeover\":true to replace "
                                            "that connection"));
      return;
    }
  }
  Mine& mine = mine_[agent];
  mine.want_connected = true;
  mine.waiters.push_back({takeover, std::move(done)});
  kick(agent);
}

void SwarmBus::kick(const std::string& agent) {
  auto it = mine_.find(agent);
  if (it == mine_.end()) return;
  Mine& mine = it->second;
  if (mine.writing) return;
  if (!ready() || !registry_caught_up_) {
    // Joined but the registry not read yet (just started): a hello waits
    // for it a little. Otherwise local service never waits on the swarm:
    // the agent is served here and claimed once the swarm is back (a
    // conflict then closes it).
    if (joined_ && !mine.waiters.empty()) {
      if (!registry_wait_armed_) {
        registry_wait_armed_ = true;
        registry_wait_->arm(kRegistryWait, [this] {
          registry_wait_armed_ = false;
          release_waiters();
        });
      }
      return;
    }
    for (Waiter& waiter : std::exchange(mine.waiters, {})) waiter.done(Status());
    return;
  }
  if (mine.revision != 0 && mine.written_connected == mine.want_connected && mine.waiters.empty()) {
    if (mine.want_connected && !mine.pulling) {
      bridge_.open_mailbox(encode_name_part(agent), !mine.consumer_made);
      mine.consumer_made = true;
      mine.pulling = true;
      mine.opening = true;
    }
    return;
  }
  std::uint64_t expected = mine.revision;
  if (expected == 0) {
    auto found = registry_.find(agent);
    expected = found == registry_.end() ? 0 : found->second.revision;
  }
  AgentValue value{options_.host_id, options_.epoch, mine.want_connected,
                   format_timestamp(clock_.now())};
  std::uint64_t token = next_token_++;
  writes_[token] = agent;
  mine.writing = true;
  mine.writing_connected = value.connected;
  bridge_.write_agent(token, encode_name_part(agent), encode_agent_value(value), expected);
}

void SwarmBus::on_written(BridgeAgentWritten& written) {
  auto w = writes_.find(written.token);
  if (w == writes_.end()) return;
  std::string agent = w->second;
  writes_.erase(w);
  auto it = mine_.find(agent);
  if (it == mine_.end()) return;  // forgotten meanwhile
  Mine& mine = it->second;
  mine.writing = false;
  if (written.ok) {
    mine.conflicts = 0;
    // What we wrote is what was wanted when kick() ran; want may have moved on.
    AgentValue value{options_.host_id, options_.epoch, mine.writing_connected,
                     format_timestamp(clock_.now())};
    mine.revision = written.revision;
    mine.written_connected = value.connected;
    Registered& entry = registry_[agent];
    if (entry.revision < written.revision) entry = {value, written.revision};
    for (Waiter& waiter : std::exchange(mine.waiters, {})) waiter.done(Status());
    kick(agent);
    return;
  }
  if (!written.conflict) {
    // Not answered (no quorum, a leader election): serve locally, try again.
    errors_log_.warn("swarm: cannot write agent " + escape_control(agent) +
                     " to the registry: " + escape_control(written.error) + "; retrying");
    for (Waiter& waiter : std::exchange(mine.waiters, {})) waiter.done(Status());
    arm_retry();
    return;
  }
  // Someone else wrote the entry since we looked.
  mine.revision = 0;
  std::optional<AgentValue> current = decode_agent_value(written.current);
  if (written.current_revision == 0 || !current) {
    registry_.erase(agent);
  } else {
    registry_[agent] = {*current, written.current_revision};
  }
  auto entry = registry_.find(agent);
  bool taken = entry != registry_.end() && live_elsewhere(entry->second);
  if (taken) {
    bool forced = false;
    for (const Waiter& waiter : mine.waiters) forced = forced || waiter.takeover;
    if (!forced) {
      std::string why = "agent '" + agent + "' is connected on host " + entry->second.value.host +
                        "; say hello with \"takeover\":true to replace that connection";
      std::vector<Waiter> waiters = std::exchange(mine.waiters, {});
      bool served_here = bus_.holds(agent);
      if (waiters.empty() || served_here) {
        lose(agent, "agent " + agent + " is connected on host " + entry->second.value.host +
                        " (claimed there while this host was away from the swarm)");
      } else {
        mine_.erase(agent);
      }
      for (Waiter& waiter : waiters) waiter.done(Status::error("agent_taken", why));
      return;
    }
  }
  if (++mine.conflicts > kMaxConflicts) {
    mine.conflicts = 0;
    for (Waiter& waiter : std::exchange(mine.waiters, {})) {
      waiter.done(unavailable("the registry entry of agent " + agent +
                              " keeps changing under this coordd's writes"));
    }
    return;
  }
  kick(agent);
}

void SwarmBus::on_agent(const BridgeAgent& event) {
  std::optional<std::string> agent = decode_name_part(event.key);
  if (!agent) return;
  std::optional<AgentValue> value = event.deleted ? std::nullopt : decode_agent_value(event.value);
  auto known = registry_.find(*agent);
  if (known != registry_.end() && known->second.revision >= event.revision) return;  // stale
  if (!value) {
    registry_.erase(*agent);
  } else {
    registry_[*agent] = {*value, event.revision};
  }
  auto it = mine_.find(*agent);
  if (it != mine_.end() && value) {
    Mine& mine = it->second;
    bool ours = value->host == options_.host_id && value->epoch == options_.epoch;
    if (!ours && mine.revision != 0 && event.revision > mine.revision) {
      lose(*agent, "agent " + *agent + " said hello on host " + value->host +
                       (value->connected ? " with takeover" : "") + "; closing this connection");
    }
  }
  // Messages held back for a sender the registry did not show may pass now.
  std::vector<std::string> holding;
  for (const auto& [other, state] : mine_) {
    if (!state.waiting.empty()) holding.push_back(other);
  }
  for (const std::string& other : holding) drain_waiting(other);
}

void SwarmBus::lose(const std::string& agent, const std::string& why) {
  auto it = mine_.find(agent);
  if (it != mine_.end()) {
    if (it->second.pulling) bridge_.close_mailbox(encode_name_part(agent), false);
    mine_.erase(it);
  }
  // Pulled messages not handed over stay in the stream for the new holder;
  // the ones sent here directly go on to it.
  for (auto ack = unacked_.begin(); ack != unacked_.end();) {
    ack = ack->second.agent == agent ? unacked_.erase(ack) : std::next(ack);
  }
  for (Mailbox::Taken& taken : bus_.evict(agent, why)) {
    if (taken.store == &acks_ || !taken.message) continue;
    json::error_code ec;
    json::value line = json::parse("{" + *taken.message->body, ec);
    const json::object* o = line.is_object() ? &line.get_object() : nullptr;
    const json::value* message = o ? o->if_contains("message") : nullptr;
    const json::value* at = o ? o->if_contains("timestamp") : nullptr;
    if (ec || !message || !message->is_object() || !at || !at->is_string()) continue;
    PendingSend pending;
    if (!taken.message->from.empty()) pending.from = taken.message->from;
    pending.to = agent;
    pending.message = message->get_object();
    pending.sent_at = parse_timestamp(at->get_string()).value_or(clock_.now());
    pending.settle_in = taken.store;
    pending.settle_id = taken.store_id;
    MessageValue value{
        next_id(),      pending.from, options_.host_id, agent, format_timestamp(pending.sent_at),
        pending.message};
    std::uint64_t token = next_token_++;
    bridge_.publish_message(token, mailbox_subject(options_.cluster_name, agent, options_.host_id),
                            encode_message_value(value), value.id);
    sends_[token] = std::move(pending);
  }
}

void SwarmBus::detached(const std::string& agent) {
  auto it = mine_.find(agent);
  if (it == mine_.end()) return;
  it->second.want_connected = false;
  if (it->second.pulling) {
    bridge_.close_mailbox(encode_name_part(agent), false);
    it->second.pulling = false;
  }
  kick(agent);
}

void SwarmBus::forgotten(const std::string& agent) {
  auto it = mine_.find(agent);
  if (it == mine_.end()) return;
  bridge_.close_mailbox(encode_name_part(agent), true);
  auto entry = registry_.find(agent);
  if (ready() && entry != registry_.end() && entry->second.revision == it->second.revision) {
    bridge_.delete_agent(encode_name_part(agent));
  }
  mine_.erase(it);
}

// --- sending -------------------------------------------------------------------

bool SwarmBus::routes(const std::optional<std::string>& from, const std::string& to) const {
  return !bus_.holds(to) || in_transit_.contains({from.value_or(""), to});
}

void SwarmBus::send(const std::optional<std::string>& from, const std::string& to,
                    json::object message, std::function<void(SendOutcome)> done) {
  SendOutcome outcome;
  if (!joined_) {
    outcome.status = unavailable("agent " + to +
                                 " is not on this host and this coordd is not connected to the "
                                 "swarm");
  } else if (!messages_ready_) {
    outcome.status = unavailable(
        "agent " + to + " is not on this host and this coordd cannot reach the swarm's message " +
        "stream" + (messages_error_.empty() ? "" : " (" + messages_error_ + ")"));
  } else if (!registry_caught_up_) {
    outcome.status = unavailable("this coordd is still reading the swarm's agent registry");
  }
  if (!outcome.status.ok()) {
    ++counters_.send_failures;
    done(std::move(outcome));
    return;
  }
  QueuedSend queued{from, to, std::move(message), std::move(done)};
  if (auto lookup = lookups_.find(to); lookup != lookups_.end()) {
    lookup->second.push_back(std::move(queued));  // behind the sends already waiting
    return;
  }
  if (subscribed(to)) {
    publish(std::move(queued));
    return;
  }
  // Not in our copy of the registry, which the watch may bring a moment
  // after a hello elsewhere was answered: ask the registry's leader.
  std::uint64_t token = next_token_++;
  reads_[token] = to;
  lookups_[to].push_back(std::move(queued));
  bridge_.read_agent(token, encode_name_part(to));
}

bool SwarmBus::subscribed(const std::string& agent) const {
  auto entry = registry_.find(agent);
  if (entry == registry_.end()) return false;
  const AgentValue& value = entry->second.value;
  if (value.connected && !gone_(value.host, value.epoch)) return true;
  std::optional<WallTime> since = parse_timestamp(value.ts);
  return !since || clock_.now() - *since <= std::chrono::duration_cast<std::chrono::microseconds>(
                                                bus_.limits().mailbox_ttl);
}

void SwarmBus::on_read(BridgeAgentRead& read) {
  auto r = reads_.find(read.token);
  if (r == reads_.end()) return;
  std::string to = r->second;
  reads_.erase(r);
  if (read.ok && read.found)
    on_agent(BridgeAgent{read.key, read.value, read.deleted, read.revision});
  auto lookup = lookups_.find(to);
  if (lookup == lookups_.end()) return;
  std::deque<QueuedSend> queued = std::move(lookup->second);
  lookups_.erase(lookup);
  for (QueuedSend& send : queued) {
    if (read.ok && subscribed(to)) {
      publish(std::move(send));
      continue;
    }
    ++counters_.send_failures;
    SendOutcome outcome;
    if (!read.ok) {
      outcome.status = unavailable("agent " + to +
                                   " is not on this host and the swarm's agent registry cannot "
                                   "be read (" +
                                   read.error + ")");
    } else {
      outcome.status = Status::error(
          "not_subscribed", "agent " + to +
                                " is not subscribed anywhere in the swarm (it never said hello, "
                                "or its mailbox expired after the mailbox TTL)");
    }
    send.done(std::move(outcome));
  }
}

void SwarmBus::publish(QueuedSend send) {
  WallTime now = clock_.now();
  MessageValue value{next_id(),   send.from, options_.host_id, send.to, format_timestamp(now),
                     send.message};
  std::uint64_t token = next_token_++;
  bridge_.publish_message(token, mailbox_subject(options_.cluster_name, send.to, options_.host_id),
                          encode_message_value(value), value.id);
  sends_[token] = PendingSend{std::move(send.done),
                              value.id,
                              std::move(send.from),
                              std::move(send.to),
                              std::move(send.message),
                              now,
                              nullptr,
                              0};
}

std::size_t SwarmBus::delivered_here(const std::optional<std::string>& from, std::string_view to,
                                     const json::object& message, WallTime sent_at) {
  if (!ready()) return 0;
  bool broadcast = to == "*";
  MessageValue value{next_id(), from, options_.host_id, std::string(to), format_timestamp(sent_at),
                     message};
  bridge_.publish_core(broadcast ? broadcast_subject(options_.cluster_name, options_.host_id)
                                 : tap_copy_subject(options_.cluster_name, options_.host_id),
                       encode_message_value(value));
  if (!broadcast) return 0;
  std::size_t elsewhere = 0;
  for (const auto& [agent, entry] : registry_) elsewhere += live_elsewhere(entry);
  return elsewhere;
}

// --- receiving -------------------------------------------------------------------

std::optional<std::string> SwarmBus::check_sender(const MessageValue& value,
                                                  const std::string& subject_host) const {
  if (value.from_host != subject_host) {
    return "it names host " + value.from_host + " but was published as host " + subject_host;
  }
  if (value.from) {
    if (!is_valid_agent_id(*value.from)) return std::string("its sender is not a valid agent id");
    auto entry = registry_.find(*value.from);
    if (entry == registry_.end()) return std::nullopt;
    if (entry->second.value.host != value.from_host) {
      return "its sender " + *value.from + " is an agent of host " + entry->second.value.host +
             ", not of " + value.from_host;
    }
  }
  json::object copy = value.message;
  if (Status valid = validate_message(copy, value.from); !valid.ok()) return valid.message();
  return std::string();
}

void SwarmBus::refuse(const std::string& why) {
  ++counters_.refused;
  refused_log_.warn("refused a message from the swarm: " + escape_control(why));
}

void SwarmBus::on_pulled(BridgeMessage& message) {
  std::optional<std::string> agent = decode_name_part(message.agent);
  if (!agent) return;
  auto it = mine_.find(*agent);
  if (it == mine_.end()) return;  // no longer ours: the next holder gets it
  Mine& mine = it->second;
  if (mine.in_mailbox.contains(message.stream_seq)) return;  // here already, not handed yet
  if (mine.handed.contains(message.stream_seq)) {
    ++counters_.duplicates;
    bridge_.ack(message.ack_subject);  // handed over before: its ack was lost
    return;
  }
  std::optional<MessageSubject> subject = parse_message_subject(prefix_, message.subject);
  std::optional<MessageValue> value = decode_message_value(message.data);
  if (!subject || subject->type != MessageSubject::Type::kMailbox || subject->agent != *agent ||
      !value || value->to != *agent) {
    refuse("a malformed message on " + message.subject);
    bridge_.ack(message.ack_subject);
    return;
  }
  mine.in_mailbox.insert(message.stream_seq);
  mine.waiting.push_back(Pulled{std::move(*value), subject->host, std::move(message.ack_subject),
                                message.stream_seq, clock_.steady_now()});
  drain_waiting(*agent);
}

void SwarmBus::drain_waiting(const std::string& agent) {
  auto it = mine_.find(agent);
  if (it == mine_.end()) return;
  Mine& mine = it->second;
  while (!mine.waiting.empty()) {
    Pulled& front = mine.waiting.front();
    std::optional<std::string> verdict = check_sender(front.value, front.sender_host);
    if (!verdict) {
      if (clock_.steady_now() - front.arrived < kSenderWait) {
        arm_retry();
        return;
      }
      verdict = "its sender " + front.value.from.value_or("") + " is in no host's registry entry";
    }
    Pulled pulled = std::move(front);
    mine.waiting.pop_front();
    if (!verdict->empty()) {
      refuse(*verdict);
      mine.in_mailbox.erase(pulled.stream_seq);
      bridge_.ack(pulled.ack_subject);
      continue;
    }
    if (!recent_ids_.insert(pulled.value.id).second) {
      ++counters_.duplicates;
      mine.in_mailbox.erase(pulled.stream_seq);
      bridge_.ack(pulled.ack_subject);
      continue;
    }
    recent_order_.push_back(pulled.value.id);
    if (recent_order_.size() > kRecentIds) {
      recent_ids_.erase(recent_order_.front());
      recent_order_.pop_front();
    }
    if (pulled.value.from_host == options_.host_id) {
      auto transit = in_transit_.find({pulled.value.from.value_or(""), agent});
      if (transit != in_transit_.end() && transit->second == pulled.value.id) {
        in_transit_.erase(transit);
      }
    }
    std::uint64_t id = next_token_++;
    unacked_[id] = PendingAck{agent, pulled.ack_subject, pulled.stream_seq};
    ++counters_.received;
    RemoteMessage remote;
    remote.from = pulled.value.from;
    remote.from_host = pulled.value.from_host;
    remote.to = agent;
    remote.sent_at = parse_timestamp(pulled.value.timestamp).value_or(clock_.now());
    remote.message = std::move(pulled.value.message);
    remote.to_mailbox = true;
    remote.settle_in = &acks_;
    remote.settle_id = id;
    bus_.deliver_remote(std::move(remote));
  }
}

void SwarmBus::settle(std::uint64_t id) {
  auto it = unacked_.find(id);
  if (it == unacked_.end()) return;
  bridge_.ack(it->second.ack_subject);
  if (auto found = mine_.find(it->second.agent); found != mine_.end()) {
    Mine& mine = found->second;
    std::uint64_t seq = it->second.stream_seq;
    mine.in_mailbox.erase(seq);
    if (mine.handed.insert(seq).second) mine.handed_order.push_back(seq);
    if (mine.handed_order.size() > kHandedWindow) {
      mine.handed.erase(mine.handed_order.front());
      mine.handed_order.pop_front();
    }
  }
  unacked_.erase(it);
}

void SwarmBus::on_seen(BridgeMessage& message) {
  std::optional<MessageSubject> subject = parse_message_subject(prefix_, message.subject);
  if (!subject || subject->host == options_.host_id) return;  // our own, or not a message
  // The holder of a mailbox journals its messages as it pulls them.
  if (subject->type == MessageSubject::Type::kMailbox && mine_.contains(subject->agent)) return;
  std::optional<MessageValue> value = decode_message_value(message.data);
  if (!value) return refuse("a malformed message on " + message.subject);
  if (subject->type == MessageSubject::Type::kBroadcast ? value->to != "*"
                                                        : !is_valid_agent_id(value->to)) {
    return refuse("a message on " + message.subject + " addressed to '" + value->to + "'");
  }
  std::optional<std::string> verdict = check_sender(*value, subject->host);
  // Seen copies are not held back: an unknown sender is shown, as taps
  // show what crosses the swarm; only a contradiction is refused.
  if (verdict && !verdict->empty()) return refuse(*verdict);
  if (subject->type == MessageSubject::Type::kBroadcast) ++counters_.received;
  RemoteMessage remote;
  remote.from = value->from;
  remote.from_host = value->from_host;
  remote.to = value->to;
  remote.sent_at = parse_timestamp(value->timestamp).value_or(clock_.now());
  remote.message = std::move(value->message);
  bus_.deliver_remote(std::move(remote));
}

void SwarmBus::on_event(BridgeEvent& event) {
  if (auto* ready = std::get_if<BridgeMessagesReady>(&event)) {
    bool was = this->ready();
    messages_ready_ = ready->ok;
    messages_error_ = ready->error;
    if (ready->ok) {
      spdlog::info("agent messages cross swarm {}: agents on every host are reachable",
                   escape_control(options_.cluster_name));
    } else {
      spdlog::warn("swarm: {}", escape_control(ready->error));
    }
    if (this->ready() && !was) {
      for (auto& [agent, mine] : mine_) kick(agent);
    }
  } else if (auto* agent = std::get_if<BridgeAgent>(&event)) {
    on_agent(*agent);
  } else if (std::holds_alternative<BridgeAgentsCaughtUp>(event)) {
    if (!registry_caught_up_) {
      registry_caught_up_ = true;
      for (auto& [name, mine] : mine_) kick(name);
    }
  } else if (auto* written = std::get_if<BridgeAgentWritten>(&event)) {
    on_written(*written);
  } else if (auto* read = std::get_if<BridgeAgentRead>(&event)) {
    on_read(*read);
  } else if (auto* ack = std::get_if<BridgeMessageAck>(&event)) {
    auto it = sends_.find(ack->token);
    if (it == sends_.end()) return;
    PendingSend pending = std::move(it->second);
    sends_.erase(it);
    if (!pending.done) {  // forwarded
      if (ack->ok) {
        ++counters_.forwarded;
        if (pending.settle_in && pending.settle_id) pending.settle_in->settle(pending.settle_id);
      } else {
        errors_log_.warn("swarm: a message kept here for " + escape_control(pending.to) +
                         " could not be sent on to its new host (" + escape_control(ack->error) +
                         "); it stays in the message log for the next start");
      }
      return;
    }
    SendOutcome outcome;
    if (ack->ok) {
      ++counters_.sent;
      if (in_transit_.size() >= kMaxInTransit) in_transit_.erase(in_transit_.begin());
      in_transit_[{pending.from.value_or(""), pending.to}] = pending.id;
      RemoteMessage own;
      own.from = pending.from;
      own.from_host = options_.host_id;
      own.to = pending.to;
      own.sent_at = pending.sent_at;
      own.message = std::move(pending.message);
      outcome.seq = bus_.deliver_remote(std::move(own));  // the journal and taps here
    } else if (ack->mailbox_full) {
      ++counters_.send_failures;
      outcome.status = Status::error(
          "mailbox_full", "agent " + pending.to + "'s mailbox in the swarm is full (" +
                              std::to_string(bus_.limits().mailbox_messages) +
                              " messages from this host wait for it); retry once it has read "
                              "its messages");
    } else {
      ++counters_.send_failures;
      outcome.status = unavailable("the swarm did not store the message (" + ack->error + ")");
    }
    pending.done(std::move(outcome));
  } else if (auto* message = std::get_if<BridgeMessage>(&event)) {
    if (message->agent.empty()) {
      on_seen(*message);
    } else {
      on_pulled(*message);
    }
  } else if (auto* opened = std::get_if<BridgeMailboxOpened>(&event)) {
    if (std::optional<std::string> agent = decode_name_part(opened->agent)) {
      if (auto it = mine_.find(*agent); it != mine_.end()) it->second.opening = false;
    }
    if (!opened->ok) {
      errors_log_.warn("swarm: " + escape_control(opened->error) + "; retrying");
      std::optional<std::string> agent = decode_name_part(opened->agent);
      if (agent) {
        if (auto it = mine_.find(*agent); it != mine_.end()) {
          it->second.pulling = false;
          it->second.consumer_made = false;
        }
      }
      arm_retry();
    }
  }
}

json::object SwarmBus::status() const {
  json::object out;
  out["ready"] = ready();
  if (!messages_error_.empty() && !messages_ready_) out["error"] = messages_error_;
  out["registry_agents"] = registry_.size();
  std::size_t connected_elsewhere = 0;
  for (const auto& [agent, entry] : registry_) connected_elsewhere += live_elsewhere(entry);
  out["connected_elsewhere"] = connected_elsewhere;
  out["held_here"] = mine_.size();
  // Mailbox consumers asked for and not made yet (a burst of hellos makes
  // them one at a time): their messages wait in the stream meanwhile.
  std::size_t opening = 0;
  for (const auto& [agent, mine] : mine_) opening += mine.opening;
  out["mailboxes_opening"] = opening;
  out["sent"] = counters_.sent;
  out["received"] = counters_.received;
  out["refused"] = counters_.refused;
  out["duplicates"] = counters_.duplicates;
  out["forwarded"] = counters_.forwarded;
  out["send_failures"] = counters_.send_failures;
  out["unacked"] = unacked_.size();
  return out;
}

}  // namespace coordd
