#include "daemon/bus/message_bus.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <set>

#include "daemon/engine/engine.hpp"
#include "proto/wire.hpp"

namespace coordd {

MessageBus::MessageBus(boost::asio::io_context& io, Engine& engine, MessageFanout& fanout,
                       MessageLimits limits)
    : io_(io),
      engine_(engine),
      fanout_(fanout),
      limits_(limits),
      expired_log_(engine.clock(), io.get_executor()) {
  budget_.max_bytes = limits_.mailbox_total_bytes;
}

MessageBus::Agent& MessageBus::agent_entry(const std::string& agent) {
  return agents_
      .try_emplace(agent, limits_.mailbox_messages, limits_.mailbox_bytes, &budget_, store_)
      .first->second;
}

void MessageBus::recover(MessageStore& store) {
  store_ = &store;
  WallTime now = engine_.clock().now();
  std::map<std::string, WallTime> last_deadline;
  std::size_t restored = 0, expired = 0, no_room = 0;
  for (StoredMessage& stored : store.take_recovered()) {
    WallTime deadline =
        stored.sent_at + std::chrono::duration_cast<std::chrono::microseconds>(limits_.mailbox_ttl);
    if (deadline <= now) {
      store.settle(stored.id);
      ++expired;
      continue;
    }
    Agent& entry = agent_entry(stored.to);
    EventPtr event =
        make_message(stored.from, stored.to, stored.message, stored.sent_at, own_host());
    if (!entry.mailbox.has_room(event->body->size())) {
      store.settle(stored.id);  // the bounds were lowered since it was sent
      ++no_room;
      continue;
    }
    entry.mailbox.push(event, stored.id, deadline);
    last_deadline[stored.to] = deadline;
    ++restored;
  }
  for (const auto& [agent, deadline] : last_deadline) retain(agent, deadline - now);
  if (restored || expired || no_room) {
    spdlog::info("message log: {} message(s) for {} agent(s) wait for their next hello", restored,
                 last_deadline.size());
  }
  if (expired) {
    spdlog::warn(
        "message log: dropped {} message(s) whose mailbox TTL passed while coordd was down",
        expired);
  }
  if (no_room) {
    spdlog::warn("message log: dropped {} message(s) that no longer fit their mailbox bounds",
                 no_room);
  }
}

Status MessageBus::attach(const std::shared_ptr<AgentSession>& session, const std::string& agent,
                          bool takeover, std::size_t& waiting) {
  Agent& entry = agent_entry(agent);
  std::shared_ptr<AgentSession> old = entry.session.lock();
  if (old && old != session) {
    if (!takeover) {
      return Status::error("agent_taken", "agent '" + agent +
                                              "' is connected elsewhere; say hello with "
                                              "\"takeover\":true to replace that connection");
    }
    entry.session.reset();
    old->set_agent(std::nullopt, nullptr);
    entry.mailbox.requeue_unacked();  // what it did not ack comes first to the new one
    old->close_with(error_line(
        nullptr, "taken_over",
        "another connection said hello as agent '" + agent + "' with takeover; closing this one"));
    spdlog::info("agent {} taken over by client {}", agent, session->session_id());
  }
  if (entry.expiry) {
    entry.expiry->cancel();
    entry.expiry.reset();
  }
  entry.session = session;
  if (std::size_t late = entry.mailbox.drop_expired(engine_.clock().now())) {
    spdlog::warn(
        "agent {} came back after the TTL of {} message(s) kept over a restart; "
        "dropped them",
        agent, late);
  }
  waiting = entry.mailbox.size();
  session->set_agent(agent, &entry.mailbox);
  return Status();
}

void MessageBus::detach(const AgentSession& session, const std::string& agent) {
  auto it = agents_.find(agent);
  if (it == agents_.end()) return;
  Agent& entry = it->second;
  // A session being destroyed can no longer be locked: compare without.
  std::shared_ptr<AgentSession> live = entry.session.lock();
  if (live && live.get() != &session) return;
  entry.session.reset();
  entry.mailbox.requeue_unacked();
  retain(agent, limits_.mailbox_ttl);
  if (route_) route_->detached(agent);
}

void MessageBus::retain(const std::string& agent, SteadyDuration ttl) {
  Agent& entry = agents_.at(agent);
  entry.expiry = engine_.clock().make_alarm(io_.get_executor());
  entry.expiry->arm(ttl, [this, agent] {
    auto found = agents_.find(agent);
    if (found == agents_.end() || !found->second.session.expired()) return;
    if (!found->second.mailbox.empty()) {
      expired_log_.warn(
          fmt::format("agent {} did not come back within the mailbox TTL; dropping {} message(s)",
                      agent, found->second.mailbox.size()));
    }
    found->second.mailbox.drop_all();  // settled: they must not come back after a restart
    agents_.erase(found);
    if (route_) route_->forgotten(agent);
  });
}

std::string_view MessageBus::own_host() const {
  return route_ ? std::string_view(route_->host()) : std::string_view();
}

EventPtr MessageBus::make_message(const std::optional<std::string>& from, std::string_view to,
                                  const boost::json::object& message, WallTime sent_at,
                                  std::string_view from_host) {
  auto event = std::make_shared<Event>();
  event->seq = engine_.allocate_seq();
  event->is_message = true;
  event->from = from.value_or("");
  event->to = std::string(to);
  std::string from_json = from ? "\"" + *from + "\"" : std::string("null");  // ids are JSON-safe
  event->body = std::make_shared<const std::string>(
      message_body(event->seq, from_json, to, format_timestamp(sent_at),
                   boost::json::serialize(message), from_host));
  return event;
}

SendOutcome MessageBus::send(const std::optional<std::string>& from, const std::string& to,
                             boost::json::object message) {
  SendOutcome outcome;
  auto it = agents_.find(to);
  if (it == agents_.end()) {
    outcome.status =
        Status::error("not_subscribed", "agent " + to +
                                            " is not subscribed (it never said hello, or "
                                            "its mailbox expired after the mailbox TTL)");
    return outcome;
  }
  Mailbox& mailbox = it->second.mailbox;
  std::size_t estimate = boost::json::serialize(message).size() + 256;
  if (mailbox.over_total(estimate) && !mailbox.lag_pending()) {
    outcome.status = Status::error(
        "mailbox_full",
        "the mailboxes of all agents together hold " + std::to_string(budget_.bytes) +
            " bytes, the most " + "--mailbox-total-max-bytes allows (" +
            std::to_string(budget_.max_bytes) + "); retry once agents have read their messages");
    return outcome;
  }
  if (!mailbox.has_room(estimate)) {
    outcome.status = Status::error(
        "mailbox_full", "agent " + to + "'s mailbox is full (" + std::to_string(mailbox.size()) +
                            " messages, " + std::to_string(mailbox.bytes()) +
                            " bytes); retry once it has read its "
                            "messages");
    return outcome;
  }
  WallTime now = engine_.clock().now();
  std::uint64_t store_id = 0;
  if (store_) {
    Result<std::uint64_t> recorded = store_->record(StoredMessage{0, to, from, now, message});
    if (!recorded.ok()) {
      outcome.status = recorded.status();
      return outcome;
    }
    store_id = *recorded;
  }
  EventPtr event = make_message(from, to, message, now, own_host());
  mailbox.push(event, store_id);
  fanout_.publish_message(event, nullptr);  // journal and taps
  if (auto session = it->second.session.lock()) session->mailbox_ready();
  if (route_) route_->delivered_here(from, to, message, now);
  outcome.seq = event->seq;
  return outcome;
}

SendOutcome MessageBus::broadcast(const std::optional<std::string>& from,
                                  boost::json::object message) {
  WallTime now = engine_.clock().now();
  EventPtr event = make_message(from, "*", message, now, own_host());
  std::set<const AgentSession*> recipients;
  std::vector<std::shared_ptr<AgentSession>> live;
  for (auto& [agent, entry] : agents_) {
    std::shared_ptr<AgentSession> session = entry.session.lock();
    if (!session) continue;  // retained mailboxes do not get broadcasts
    if (entry.mailbox.has_room(event->body->size())) {
      entry.mailbox.push(event);
      recipients.insert(session.get());
    } else {
      entry.mailbox.note_dropped(event->seq);
    }
    live.push_back(std::move(session));
  }
  std::vector<const AgentSession*> taps;
  fanout_.publish_message(event, &taps);
  recipients.insert(taps.begin(), taps.end());
  for (auto& session : live) session->mailbox_ready();
  SendOutcome outcome;
  outcome.seq = event->seq;
  outcome.recipients = recipients.size();
  if (route_) {
    outcome.recipients += route_->delivered_here(from, "*", message, now);
    outcome.lower_bound = true;
  }
  return outcome;
}

std::uint64_t MessageBus::deliver_remote(RemoteMessage remote) {
  EventPtr event =
      make_message(remote.from, remote.to, remote.message, remote.sent_at, remote.from_host);
  if (remote.to == "*") {
    std::vector<std::shared_ptr<AgentSession>> live;
    for (auto& [agent, entry] : agents_) {
      std::shared_ptr<AgentSession> session = entry.session.lock();
      if (!session) continue;
      if (entry.mailbox.has_room(event->body->size())) {
        entry.mailbox.push(event);
      } else {
        entry.mailbox.note_dropped(event->seq);
      }
      live.push_back(std::move(session));
    }
    fanout_.publish_message(event, nullptr);
    for (auto& session : live) session->mailbox_ready();
    return event->seq;
  }
  std::shared_ptr<AgentSession> session;
  if (remote.to_mailbox) {
    // Unconditionally: the swarm bounds what it hands over (the consumer's
    // ack window) by the mailbox's own count.
    Agent& entry = agent_entry(remote.to);
    entry.mailbox.push(event, remote.settle_id, WallTime::max(), remote.settle_in);
    session = entry.session.lock();
  }
  fanout_.publish_message(event, nullptr);
  if (session) session->mailbox_ready();
  return event->seq;
}

std::vector<Mailbox::Taken> MessageBus::evict(const std::string& agent, const std::string& why) {
  auto it = agents_.find(agent);
  if (it == agents_.end()) return {};
  Agent& entry = it->second;
  if (std::shared_ptr<AgentSession> live = entry.session.lock()) {
    entry.session.reset();
    live->set_agent(std::nullopt, nullptr);
    live->close_with(error_line(nullptr, "taken_over", why));
    spdlog::info("agent {}: {}", agent, why);
  }
  if (entry.expiry) entry.expiry->cancel();
  std::vector<Mailbox::Taken> taken = entry.mailbox.take_all();
  agents_.erase(it);
  return taken;
}

bool MessageBus::connected(const std::string& agent) const {
  auto it = agents_.find(agent);
  return it != agents_.end() && !it->second.session.expired();
}

Mailbox* MessageBus::mailbox_of(const std::string& agent) {
  auto it = agents_.find(agent);
  return it == agents_.end() ? nullptr : &it->second.mailbox;
}

std::size_t MessageBus::agents_connected() const {
  std::size_t n = 0;
  for (const auto& [agent, entry] : agents_) n += !entry.session.expired();
  return n;
}

std::size_t MessageBus::messages_waiting() const {
  std::size_t n = 0;
  for (const auto& [agent, entry] : agents_) n += entry.mailbox.size();
  return n;
}

std::vector<MessageBus::AgentState> MessageBus::agent_states() const {
  std::vector<AgentState> out;
  out.reserve(agents_.size());
  for (const auto& [agent, entry] : agents_) {
    out.push_back({agent, !entry.session.expired(), entry.mailbox.size()});
  }
  return out;
}

}  // namespace coordd
