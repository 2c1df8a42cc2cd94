#include "daemon/cluster/nats_bridge.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cstring>
#include <map>
#include <stdexcept>

#include "daemon/cluster/nats_api.hpp"
#include "proto/cluster_names.hpp"
#include "proto/cluster_value.hpp"
#include "proto/display.hpp"
#include "proto/timestamp.hpp"

namespace coordd {

// The inbox nats.c's threads fill and the reactor drains. Bounded: a thread
// that finds it full waits, which the server sees as a slow consumer and
// answers with flow control, never by dropping a value silently.
struct NatsBridge::Shared : std::enable_shared_from_this<NatsBridge::Shared> {
  static constexpr std::size_t kMaxInbox = 65'536;

  Shared(boost::asio::io_context& io, Sink sink) : io(io), sink(std::move(sink)) {}

  void report(BridgeEvent event) {
    std::unique_lock lock(mutex);
    room.wait(lock, [&] { return closed || inbox.size() < kMaxInbox; });
    if (closed) return;
    inbox.push_back(std::move(event));
    if (drain_posted) return;
    drain_posted = true;
    lock.unlock();
    boost::asio::post(io, [self = shared_from_this()] { self->drain(); });
  }

  void drain() {
    std::vector<BridgeEvent> batch;
    {
      std::lock_guard lock(mutex);
      drain_posted = false;
      if (closed) return;
      batch.swap(inbox);
    }
    room.notify_all();
    if (!batch.empty()) sink(batch);
  }

  void close() {
    {
      std::lock_guard lock(mutex);
      closed = true;
      inbox.clear();
    }
    room.notify_all();
  }

  boost::asio::io_context& io;
  Sink sink;
  std::mutex mutex;
  std::condition_variable room;
  std::vector<BridgeEvent> inbox;
  bool drain_posted = false;
  bool closed = false;
  std::string subject_prefix;  // "$KV.<bucket>." (set before the first report)
};

namespace {

// nats.c, as loaded by the first NatsBridge (whose constructor fails when
// it cannot be): every call below goes through it.
const NatsApi& nats() {
  static const NatsApi* api = [] {
    std::string ignored;
    return load_nats_api(ignored);
  }();
  return *api;
}

std::string status_text(natsStatus status) {
  const char* last = nats().nats_GetLastError(nullptr);
  std::string text = nats().natsStatus_GetText(status);
  if (last != nullptr && *last != '\0' && text != last) text += std::string(": ") + last;
  return text;
}

// One watched key range: the closure of its subscription's callback.
struct Watch {
  std::string prefix;
  std::string subject_prefix;  // "$KV.<bucket>."
  std::string stream;          // "KV_<bucket>"
  enum class Kind { kRecords, kHosts, kAgents } kind = Kind::kRecords;
  NatsBridge::Shared* shared = nullptr;
  natsSubscription* sub = nullptr;
  bool caught_up = false;  // touched only by the subscription's delivery thread
};

void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* watch = static_cast<Watch*>(closure);
  BridgeEntry entry;
  entry.watch = watch->prefix;
  std::string_view subject = nats().natsMsg_GetSubject(msg);
  const std::string& prefix = watch->subject_prefix;
  if (subject.starts_with(prefix)) subject.remove_prefix(prefix.size());
  entry.key = std::string(subject);
  if (const char* data = nats().natsMsg_GetData(msg); data != nullptr) {
    entry.value.assign(data, std::size_t(nats().natsMsg_GetDataLength(msg)));
  }
  const char* operation = nullptr;
  if (nats().natsMsgHeader_Get(msg, "KV-Operation", &operation) == NATS_OK &&
      operation != nullptr) {
    entry.deleted = std::strcmp(operation, "DEL") == 0 || std::strcmp(operation, "PURGE") == 0;
  }
  jsMsgMetaData* meta = nullptr;
  if (nats().natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
    entry.stream_seq = meta->Sequence.Stream;
    entry.pending = meta->NumPending;
    nats().jsMsgMetaData_Destroy(meta);
  }
  nats().natsMsg_Destroy(msg);
  if (watch->kind == Watch::Kind::kHosts) {
    watch->shared->report(BridgeHost{std::move(entry.key), std::move(entry.value), entry.deleted});
    return;
  }
  if (watch->kind == Watch::Kind::kAgents) {
    bool first = entry.pending == 0 && !watch->caught_up;
    if (first) watch->caught_up = true;
    watch->shared->report(
        BridgeAgent{std::move(entry.key), std::move(entry.value), entry.deleted, entry.stream_seq});
    if (first) watch->shared->report(BridgeAgentsCaughtUp{});
    return;
  }
  bool caught_up = entry.pending == 0 && !watch->caught_up;
  if (caught_up) watch->caught_up = true;
  std::string prefix_copy = entry.watch;
  watch->shared->report(std::move(entry));
  if (caught_up) watch->shared->report(BridgeCaughtUp{std::move(prefix_copy)});
}

void on_ack(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* error, void* closure) {
  auto* shared = static_cast<NatsBridge::Shared*>(closure);
  if (const char* token = nullptr;
      nats().natsMsgHeader_Get(msg, "Coord-Token", &token) == NATS_OK && token != nullptr) {
    BridgeMessageAck result;
    result.token = std::strtoull(token, nullptr, 10);
    result.ok = ack != nullptr && error == nullptr;
    if (error != nullptr) {
      result.error =
          error->ErrText != nullptr ? error->ErrText : nats().natsStatus_GetText(error->Err);
      // nats-server 2.9: "maximum messages per subject exceeded" (DiscardNewPerSubject).
      result.mailbox_full = result.error.find("per subject") != std::string::npos;
    }
    nats().natsMsg_Destroy(msg);
    shared->report(std::move(result));
    return;
  }
  BridgeAck result;
  std::string_view subject = nats().natsMsg_GetSubject(msg);
  if (subject.starts_with(shared->subject_prefix))
    subject.remove_prefix(shared->subject_prefix.size());
  result.key = std::string(subject);
  const char* generation = nullptr;
  if (nats().natsMsgHeader_Get(msg, "Coord-Gen", &generation) == NATS_OK && generation != nullptr) {
    result.generation = std::strtoull(generation, nullptr, 10);
  }
  result.ok = ack != nullptr && error == nullptr;
  if (error != nullptr) {
    result.error =
        error->ErrText != nullptr ? error->ErrText : nats().natsStatus_GetText(error->Err);
  }
  nats().natsMsg_Destroy(msg);
  shared->report(std::move(result));
}

// Answers pings on this host's subject with the epoch of the run holding it.
struct PingResponder {
  std::string epoch;
};

void on_ping(natsConnection* nc, natsSubscription*, natsMsg* msg, void* closure) {
  const char* reply = nats().natsMsg_GetReply(msg);
  if (reply != nullptr && *reply != '\0') {
    nats().natsConnection_PublishString(nc, reply,
                                        static_cast<PingResponder*>(closure)->epoch.c_str());
  }
  nats().natsMsg_Destroy(msg);
}

// How long a pulled message may stay unacked before it is delivered again.
constexpr std::chrono::seconds kAckWait{30};

// The mailboxes this coordd pulls, by encoded agent name: the closure of
// the one inbox subscription their messages arrive on. A pull request asks
// for up to kPullBatch messages and lasts kPullExpires; when it is used up
// or expires, the next is sent from the delivery thread, so pulling never
// waits on the bridge thread.
struct Pulls {
  static constexpr int kPullBatch = 64;
  static constexpr std::chrono::seconds kPullExpires{5};

  struct Pull {
    std::string agent;
    std::string request_subject;  // $JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>
    std::string reply;            // inbox + "." + enc(agent)
    bool active = false;
    int outstanding = 0;
    std::chrono::steady_clock::time_point issued{};
  };

  // Sends the next pull request of `pull`; mutex held.
  void issue(Pull& pull) {
    if (nc == nullptr) return;
    std::string body = "{\"batch\":" + std::to_string(kPullBatch) + ",\"expires\":" +
                       std::to_string(std::chrono::nanoseconds(kPullExpires).count()) + "}";
    pull.outstanding = kPullBatch;
    pull.issued = std::chrono::steady_clock::now();
    nats().natsConnection_PublishRequestString(nc, pull.request_subject.c_str(), pull.reply.c_str(),
                                               body.c_str());
  }

  std::mutex mutex;
  std::map<std::string, Pull> by_token;
  natsConnection* nc = nullptr;
  NatsBridge::Shared* shared = nullptr;
  std::string inbox;  // "_INBOX.coordd.<host>.<epoch>"
};

// The stream seq in a JetStream ack subject, $JS.ACK.<stream>.<consumer>.
// <delivered>.<sseq>.<cseq>.<ts>.<pending> (or the newer form with a domain
// and account hash before the stream, and a token after), and in `agent`
// the encoded agent its consumer ("mb_" + agent) names.
std::uint64_t ack_stream_seq(std::string_view ack, std::string& agent) {
  std::vector<std::string_view> tokens = subject_tokens(ack);
  std::size_t index = tokens.size() == 9 ? 5 : tokens.size() >= 11 ? 7 : 0;
  if (index == 0) return 0;
  std::string_view consumer = tokens[index - 2];
  if (consumer.starts_with("mb_")) agent = std::string(consumer.substr(3));
  return std::strtoull(std::string(tokens[index]).c_str(), nullptr, 10);
}

void on_pulled(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* pulls = static_cast<Pulls*>(closure);
  // A status (408: the request expired) comes on the request's reply
  // subject, which names the mailbox; a message keeps the subject it was
  // published on, and its ack subject names the consumer ("mb_" + agent).
  std::string_view subject = nats().natsMsg_GetSubject(msg);
  std::string token;
  const char* status = nullptr;
  bool is_status = nats().natsMsgHeader_Get(msg, "Status", &status) == NATS_OK && status != nullptr;
  BridgeMessage pulled;
  if (is_status) {
    if (subject.size() > pulls->inbox.size() + 1 && subject.starts_with(pulls->inbox)) {
      token = std::string(subject.substr(pulls->inbox.size() + 1));
    }
  } else {
    const char* reply = nats().natsMsg_GetReply(msg);
    pulled.ack_subject = reply != nullptr ? reply : "";
    pulled.stream_seq = ack_stream_seq(pulled.ack_subject, token);
    pulled.subject = std::string(subject);
    if (const char* data = nats().natsMsg_GetData(msg); data != nullptr) {
      pulled.data.assign(data, std::size_t(nats().natsMsg_GetDataLength(msg)));
    }
  }
  bool heartbeat = is_status && std::strncmp(status, "100", 3) == 0;
  nats().natsMsg_Destroy(msg);
  if (heartbeat) return;
  {
    std::lock_guard lock(pulls->mutex);
    auto it = pulls->by_token.find(token);
    if (it == pulls->by_token.end()) return;
    Pulls::Pull& pull = it->second;
    pulled.agent = pull.agent;
    pull.outstanding = is_status ? 0 : pull.outstanding - 1;
    if (pull.active && pull.outstanding <= 0) pulls->issue(pull);
  }
  if (!is_status && !pulled.ack_subject.empty()) pulls->shared->report(std::move(pulled));
}

// Every message subject of the swarm, as core NATS delivers it.
void on_seen(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  BridgeMessage seen;
  seen.subject = nats().natsMsg_GetSubject(msg);
  if (const char* data = nats().natsMsg_GetData(msg); data != nullptr) {
    seen.data.assign(data, std::size_t(nats().natsMsg_GetDataLength(msg)));
  }
  nats().natsMsg_Destroy(msg);
  static_cast<NatsBridge::Shared*>(closure)->report(std::move(seen));
}

std::string now_timestamp() {
  return format_timestamp(
      std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()));
}

// Without any user:password it was given: this goes to logs and status.
std::string connected_url(natsConnection* nc) {
  char buffer[512] = {};
  if (nats().natsConnection_GetConnectedUrl(nc, buffer, sizeof buffer) != NATS_OK) return "";
  return without_userinfo(buffer);
}

void on_disconnected(natsConnection*, void* closure) {
  static_cast<NatsBridge::Shared*>(closure)->report(
      BridgeConnection{false, "", "disconnected; reconnecting"});
}

void on_connected(natsConnection* nc, void* closure) {
  static_cast<NatsBridge::Shared*>(closure)->report(
      BridgeConnection{true, connected_url(nc), "", nats().natsConnection_GetMaxPayload(nc)});
}

void on_error(natsConnection*, natsSubscription*, natsStatus status, void* closure) {
  // status_text adds nats.c's detail where it has one (for a permissions
  // violation: the subject refused).
  static_cast<NatsBridge::Shared*>(closure)->report(BridgeError{status_text(status)});
}

// Everything nats.c gives us, owned by the bridge thread.
class Session {
 public:
  Session(const BridgeConfig& config, NatsBridge::Shared& shared)
      : config_(config), shared_(shared) {}
  ~Session() { close(); }

  // Creates the options and starts connecting (retrying in the background).
  bool connect() {
    natsStatus s = nats().natsOptions_Create(&options_);
    std::vector<const char*> servers;
    for (const std::string& url : config_.servers) servers.push_back(url.c_str());
    if (s == NATS_OK)
      s = nats().natsOptions_SetServers(options_, servers.data(), int(servers.size()));
    if (s == NATS_OK) s = nats().natsOptions_SetName(options_, config_.client_name.c_str());
    // The servers in the order given: the first is the one preferred.
    if (s == NATS_OK) s = nats().natsOptions_SetNoRandomize(options_, true);
    if (s == NATS_OK && !config_.discover_servers) {
      s = nats().natsOptions_SetIgnoreDiscoveredServers(options_, true);
    }
    // Notice a dead server within ~3 s (nats.c's default is minutes).
    if (s == NATS_OK) s = nats().natsOptions_SetPingInterval(options_, 1000);
    if (s == NATS_OK) s = nats().natsOptions_SetMaxPingsOut(options_, 2);
    if (s == NATS_OK) s = nats().natsOptions_SetMaxReconnect(options_, -1);
    if (s == NATS_OK) s = nats().natsOptions_SetReconnectWait(options_, 250);
    if (s == NATS_OK) s = nats().natsOptions_SetTimeout(options_, 2000);
    // Write each publish at once: nats.c's flusher otherwise waits up to
    // 1 ms per message, on the path of every cross-host hop (measured: a
    // core request/reply 1.00 ms by default, 0.16 ms so).
    if (s == NATS_OK) s = nats().natsOptions_SetSendAsap(options_, true);
    if (s == NATS_OK) s = nats().natsOptions_SetDisconnectedCB(options_, on_disconnected, &shared_);
    if (s == NATS_OK) s = nats().natsOptions_SetReconnectedCB(options_, on_connected, &shared_);
    if (s == NATS_OK) s = nats().natsOptions_SetErrorHandler(options_, on_error, &shared_);
    if (s == NATS_OK)
      s = nats().natsOptions_SetRetryOnFailedConnect(options_, true, on_connected, &shared_);
    if (s == NATS_OK && !config_.creds_file.empty()) {
      s = nats().natsOptions_SetUserCredentialsFromFiles(options_, config_.creds_file.c_str(),
                                                         nullptr);
    }
    if (s == NATS_OK && !config_.tls_ca.empty()) {
      s = nats().natsOptions_LoadCATrustedCertificates(options_, config_.tls_ca.c_str());
    }
    if (s == NATS_OK && !config_.tls_cert.empty()) {
      s = nats().natsOptions_LoadCertificatesChain(options_, config_.tls_cert.c_str(),
                                                   config_.tls_key.c_str());
    }
    if (s != NATS_OK) {
      shared_.report(BridgeConnection{false, "", "bad cluster options: " + status_text(s)});
      return false;
    }
    s = nats().natsConnection_Connect(&nc_, options_);
    if (s == NATS_OK) {
      shared_.report(
          BridgeConnection{true, connected_url(nc_), "", nats().natsConnection_GetMaxPayload(nc_)});
    } else if (s != NATS_NOT_YET_CONNECTED) {
      shared_.report(BridgeConnection{false, "", status_text(s)});
      return false;
    } else {
      shared_.report(BridgeConnection{false, "", "connecting"});
    }
    jsOptions js_options;
    nats().jsOptions_Init(&js_options);
    js_options.Wait = config_.request_timeout.count();
    js_options.PublishAsync.MaxPending = 4096;
    js_options.PublishAsync.AckHandler = on_ack;
    js_options.PublishAsync.AckHandlerClosure = &shared_;
    s = nats().natsConnection_JetStream(&js_, nc_, &js_options);
    if (s != NATS_OK) {
      shared_.report(BridgeConnection{false, "", "no JetStream context: " + status_text(s)});
      return false;
    }
    return true;
  }

  bool connected() const {
    return nc_ && nats().natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED;
  }
  bool ready() const { return kv_ != nullptr && host_held_; }
  // Why a call that needs the swarm cannot be made now.
  const char* not_ready_reason() const {
    return !connected() ? "not connected to the swarm" : "not joined to the swarm";
  }

  // Finds or makes both buckets; true once they exist.
  bool ensure_bucket() {
    if (!connected()) return false;
    if (!kv_ && !open_bucket(config_.records_bucket, kv_)) return false;
    if (!hosts_kv_ && !open_bucket(config_.hosts_bucket, hosts_kv_)) return false;
    return true;
  }

  enum class Claim { kHeld, kRefused, kUnanswerable, kRetry };
  // Takes this run's host id: created if new, taken over from a holder that
  // no longer answers its ping (compare-and-set on the entry's revision, so
  // two claimants cannot both win), refused while the holder answers.
  Claim claim_host(std::string& holder_epoch) {
    if (host_held_) return Claim::kHeld;
    std::string value = encode_host_value({config_.epoch, now_timestamp()});
    std::uint64_t revision = 0;
    natsStatus s =
        nats().kvStore_CreateString(&revision, hosts_kv_, config_.host_key.c_str(), value.c_str());
    if (s != NATS_OK) {
      kvEntry* entry = nullptr;
      if (nats().kvStore_Get(&entry, hosts_kv_, config_.host_key.c_str()) != NATS_OK)
        return Claim::kRetry;
      std::uint64_t held_at = nats().kvEntry_Revision(entry);
      std::optional<HostValue> holder =
          decode_host_value(std::string_view(static_cast<const char*>(nats().kvEntry_Value(entry)),
                                             std::size_t(nats().kvEntry_ValueLen(entry))));
      nats().kvEntry_Destroy(entry);
      holder_epoch = holder ? holder->epoch : "";
      if (holder_epoch != config_.epoch) {
        natsMsg* reply = nullptr;
        natsStatus ping = nats().natsConnection_RequestString(
            &reply, nc_, config_.ping_subject.c_str(), "", 1000);
        if (reply != nullptr) nats().natsMsg_Destroy(reply);
        if (ping == NATS_OK) return Claim::kRefused;
        if (ping != NATS_NO_RESPONDERS && ping != NATS_TIMEOUT) return Claim::kRetry;
      }
      s = nats().kvStore_UpdateString(&revision, hosts_kv_, config_.host_key.c_str(), value.c_str(),
                                      held_at);
      if (s != NATS_OK) return Claim::kRetry;  // someone else moved first: look again
    }
    host_revision_ = revision;
    host_held_ = true;
    ping_.epoch = config_.epoch;
    if (!ping_sub_) {
      nats().natsConnection_Subscribe(&ping_sub_, nc_, config_.ping_subject.c_str(), on_ping,
                                      &ping_);
    }
    // The id is ours only while we answer its pings: a claimant that gets no
    // answer takes it over. The servers may refuse the subscription or the
    // replies (authorization) without telling this call, so ask ourselves.
    // Unanswered, give the id back rather than hold it unprotected.
    natsMsg* reply = nullptr;
    natsStatus ping =
        nats().natsConnection_RequestString(&reply, nc_, config_.ping_subject.c_str(), "", 1000);
    bool answered =
        ping == NATS_OK && reply != nullptr &&
        std::string_view(nats().natsMsg_GetData(reply) ? nats().natsMsg_GetData(reply) : "",
                         std::size_t(nats().natsMsg_GetDataLength(reply))) == config_.epoch;
    if (reply != nullptr) nats().natsMsg_Destroy(reply);
    if (!answered) {
      unanswerable_ = "this coordd gets no answer to its own ping on " + config_.ping_subject +
                      " (" +
                      (ping == NATS_OK ? std::string("another run answered") : status_text(ping)) +
                      "), so another coordd could take this host id from it: not joining. Check "
                      "this host's NATS permissions (subscribe "
                      "and publish " +
                      config_.ping_subject + ", allow_responses)";
      nats().kvStore_Delete(hosts_kv_, config_.host_key.c_str());
      host_held_ = false;
      if (ping_sub_) nats().natsSubscription_Unsubscribe(ping_sub_);
      if (ping_sub_) nats().natsSubscription_Destroy(ping_sub_);
      ping_sub_ = nullptr;
      return Claim::kUnanswerable;
    }
    return Claim::kHeld;
  }
  const std::string& unanswerable() const { return unanswerable_; }

  // Says again that this run holds the host id; false when another took it.
  bool refresh_host() {
    if (!host_held_ || !connected()) return true;
    std::string value = encode_host_value({config_.epoch, now_timestamp()});
    std::uint64_t revision = 0;
    natsStatus s = nats().kvStore_UpdateString(&revision, hosts_kv_, config_.host_key.c_str(),
                                               value.c_str(), host_revision_);
    if (s == NATS_OK) {
      host_revision_ = revision;
      return true;
    }
    // Tell a lost entry (another run took over) from a failed write.
    kvEntry* entry = nullptr;
    if (nats().kvStore_Get(&entry, hosts_kv_, config_.host_key.c_str()) != NATS_OK) return true;
    bool ours = nats().kvEntry_Revision(entry) == host_revision_;
    nats().kvEntry_Destroy(entry);
    if (!ours) host_held_ = false;
    return ours;
  }

  void watch(const std::string& prefix) {
    for (const auto& known : watches_) {
      if (known->prefix == prefix) return;
    }
    auto watch = std::make_unique<Watch>();
    watch->prefix = prefix;
    watch->subject_prefix = shared_.subject_prefix;
    watch->stream = stream_name_;
    watch->shared = &shared_;
    watches_.push_back(std::move(watch));
  }

  void unwatch(const std::string& prefix) {
    for (auto it = watches_.begin(); it != watches_.end(); ++it) {
      if ((*it)->prefix != prefix) continue;
      if ((*it)->sub) nats().natsSubscription_Unsubscribe((*it)->sub);
      // Its callback may still be running on nats.c's thread: the closure
      // lives until close().
      retired_.push_back(std::move(*it));
      watches_.erase(it);
      return;
    }
  }

  // An ordered consumer of the latest value of each key under `subject`, then
  // of every change, delivered to on_message with `watch` as its closure.
  natsStatus subscribe_watch(Watch& watch, const std::string& subject) {
    jsSubOptions options;
    nats().jsSubOptions_Init(&options);
    options.Ordered = true;
    options.Stream = watch.stream.c_str();
    options.Config.DeliverPolicy = js_DeliverLastPerSubject;
    // A consumer lost with its server is noticed (and re-made by nats.c)
    // after missed heartbeats: 1 s apart, not the default 5 s.
    options.Config.Heartbeat = std::int64_t(1'000'000'000);
    jsErrCode code = jsErrCode(0);
    return nats().js_Subscribe(&watch.sub, js_, subject.c_str(), on_message, &watch, nullptr,
                               &options, &code);
  }

  // Subscribes every watch that is not yet; false if one failed (retried later).
  bool subscribe_watches() {
    bool all = true;
    if (!hosts_watch_) {
      hosts_watch_ = std::make_unique<Watch>();
      hosts_watch_->subject_prefix = "$KV." + config_.hosts_bucket + ".";
      hosts_watch_->stream = "KV_" + config_.hosts_bucket;
      hosts_watch_->kind = Watch::Kind::kHosts;
      hosts_watch_->shared = &shared_;
    }
    std::vector<Watch*> every{hosts_watch_.get()};
    for (const auto& watch : watches_) every.push_back(watch.get());
    for (Watch* watch : every) {
      if (watch->sub != nullptr) continue;
      std::string subject = watch->subject_prefix + watch->prefix + ">";
      jsErrCode code = jsErrCode(0);
      natsStatus s = subscribe_watch(*watch, subject);
      if (s != NATS_OK) {
        watch->sub = nullptr;
        shared_.report(BridgeError{"cannot watch " + subject + ": " + status_text(s)});
        all = false;
        continue;
      }
      if (watch->kind == Watch::Kind::kHosts) continue;
      // A watch with no values gets no message that could say so.
      jsConsumerInfo* info = nullptr;
      if (nats().natsSubscription_GetConsumerInfo(&info, watch->sub, nullptr, &code) == NATS_OK) {
        if (info->NumPending == 0 && info->Delivered.Stream == 0) {
          shared_.report(BridgeCaughtUp{watch->prefix});
        }
        nats().jsConsumerInfo_Destroy(info);
      }
    }
    return all;
  }

  enum class Probe { kAnswered, kRetry };
  // Stores each marker and notes the stream seq it got (see
  // NatsBridge::probe); kRetry while the swarm cannot store one (no quorum,
  // a leader election) or a watch is not subscribed yet.
  Probe probe(const std::vector<std::string>& markers, BridgeSyncPoint& point) {
    point.delivered.clear();
    if (!connected() || !ready()) {
      point.error = not_ready_reason();
      point.available = false;
      return Probe::kAnswered;
    }
    for (const std::string& marker : markers) {
      const Watch* watch = nullptr;
      for (const auto& w : watches_) {
        if (marker.starts_with(w->prefix)) watch = w.get();
      }
      if (watch == nullptr || watch->sub == nullptr) return Probe::kRetry;
      jsPubOptions options;
      nats().jsPubOptions_Init(&options);
      options.MaxWait = config_.request_timeout.count();
      std::string subject = shared_.subject_prefix + marker;
      jsPubAck* ack = nullptr;
      jsErrCode code = jsErrCode(0);
      natsStatus s = nats().js_Publish(&ack, js_, subject.c_str(), config_.epoch.data(),
                                       int(config_.epoch.size()), &options, &code);
      if (s != NATS_OK) {
        if (ack) nats().jsPubAck_Destroy(ack);
        return Probe::kRetry;
      }
      point.delivered.emplace_back(watch->prefix, ack->Sequence);
      nats().jsPubAck_Destroy(ack);
    }
    point.available = true;
    return Probe::kAnswered;
  }

  // Hands the value to nats.c's async publisher; a failure is acked at once.
  void publish(const std::string& key, const std::string& value, bool deleted,
               std::uint64_t generation) {
    auto fail = [&](const std::string& why) {
      shared_.report(BridgeAck{key, generation, false, why});
    };
    if (!ready() || !connected()) return fail("not connected to the swarm");
    std::string subject = shared_.subject_prefix + key;
    natsMsg* msg = nullptr;
    natsStatus s =
        nats().natsMsg_Create(&msg, subject.c_str(), nullptr, deleted ? nullptr : value.data(),
                              deleted ? 0 : int(value.size()));
    std::string gen = std::to_string(generation);
    if (s == NATS_OK) s = nats().natsMsgHeader_Set(msg, "Coord-Gen", gen.c_str());
    if (s == NATS_OK && deleted) s = nats().natsMsgHeader_Set(msg, "KV-Operation", "DEL");
    // A publish the server refuses (a permissions violation) gets no ack at
    // all: without a deadline it would stay in flight for ever.
    jsPubOptions options;
    nats().jsPubOptions_Init(&options);
    options.MaxWait = 2 * config_.request_timeout.count();
    if (s == NATS_OK) s = nats().js_PublishMsgAsync(js_, &msg, &options);
    if (msg != nullptr) nats().natsMsg_Destroy(msg);  // still ours only when the publish failed
    if (s != NATS_OK) fail(status_text(s));
  }

  // --- agent messages ---
  bool messages_wanted() const { return !config_.agents_bucket.empty(); }
  bool messages_ready() const { return messages_ready_; }

  // Makes or finds the agents bucket and the message stream, watches the
  // bucket and subscribes to the message subjects and the pull inbox; true
  // once all are. A failure is reported once per kind of error.
  bool setup_messages() {
    if (messages_ready_ || !messages_wanted() || !ready() || !connected()) return messages_ready_;
    std::string failure;
    if (!agents_kv_ && !open_bucket(config_.agents_bucket, agents_kv_, /*quiet=*/true)) {
      failure = "cannot create bucket " + config_.agents_bucket + ": " + last_error_;
    }
    if (failure.empty() && !stream_ready_) {
      stream_ready_ = ensure_stream(failure);
    }
    if (failure.empty() && !agents_watch_) {
      agents_watch_ = std::make_unique<Watch>();
      agents_watch_->subject_prefix = "$KV." + config_.agents_bucket + ".";
      agents_watch_->stream = "KV_" + config_.agents_bucket;
      agents_watch_->kind = Watch::Kind::kAgents;
      agents_watch_->shared = &shared_;
    }
    if (failure.empty() && agents_watch_->sub == nullptr) {
      std::string subject = agents_watch_->subject_prefix + ">";
      jsErrCode code = jsErrCode(0);
      natsStatus s = subscribe_watch(*agents_watch_, subject);
      if (s != NATS_OK) {
        agents_watch_->sub = nullptr;
        failure = "cannot watch " + subject + ": " + status_text(s);
      } else {
        jsConsumerInfo* info = nullptr;
        if (nats().natsSubscription_GetConsumerInfo(&info, agents_watch_->sub, nullptr, &code) ==
            NATS_OK) {
          if (info->NumPending == 0 && info->Delivered.Stream == 0) {
            agents_watch_->caught_up = true;
            shared_.report(BridgeAgentsCaughtUp{});
          }
          nats().jsConsumerInfo_Destroy(info);
        }
      }
    }
    if (failure.empty() && !seen_sub_) {
      std::string subject = config_.message_prefix + ".>";
      if (nats().natsConnection_Subscribe(&seen_sub_, nc_, subject.c_str(), on_seen, &shared_) !=
          NATS_OK) {
        seen_sub_ = nullptr;
        failure = "cannot subscribe to " + subject;
      }
    }
    if (failure.empty() && !pull_sub_) {
      pulls_.nc = nc_;
      pulls_.shared = &shared_;
      pulls_.inbox = "_INBOX.coordd." + config_.host_key + "." + config_.epoch;
      std::string subject = pulls_.inbox + ".*";
      if (nats().natsConnection_Subscribe(&pull_sub_, nc_, subject.c_str(), on_pulled, &pulls_) !=
          NATS_OK) {
        pull_sub_ = nullptr;
        failure = "cannot subscribe to " + subject;
      }
    }
    if (!failure.empty()) {
      if (failure != messages_failure_) {
        messages_failure_ = failure;
        shared_.report(BridgeMessagesReady{false, failure + "; agent messages stay on this host "
                                                            "until it can (retrying)"});
      }
      return false;
    }
    messages_ready_ = true;
    messages_failure_.clear();
    shared_.report(BridgeMessagesReady{true, ""});
    return true;
  }

  void write_agent(std::uint64_t token, const std::string& key, const std::string& value,
                   std::uint64_t expected) {
    BridgeAgentWritten result;
    result.token = token;
    if (!messages_ready_ || !connected()) {
      result.error = not_ready_reason();
      shared_.report(std::move(result));
      return;
    }
    natsStatus s =
        expected == 0
            ? nats().kvStore_CreateString(&result.revision, agents_kv_, key.c_str(), value.c_str())
            : nats().kvStore_UpdateString(&result.revision, agents_kv_, key.c_str(), value.c_str(),
                                          expected);
    if (s == NATS_OK) {
      result.ok = true;
      shared_.report(std::move(result));
      return;
    }
    result.error = status_text(s);
    // Tell a compare-and-set conflict (the entry is not at `expected`) from
    // a failed write: read what is there.
    bool deleted = false;
    natsStatus got = get_agent(key, result.current, result.current_revision, deleted);
    if (got == NATS_OK && !deleted) {
      result.conflict = result.current_revision != expected;
    } else if (got == NATS_OK || got == NATS_NOT_FOUND) {
      result.current.clear();
      result.current_revision = 0;
      result.conflict = expected != 0;  // deleted meanwhile: create it
    }
    shared_.report(std::move(result));
  }

  void read_agent(std::uint64_t token, const std::string& key) {
    BridgeAgentRead result;
    result.token = token;
    result.key = key;
    if (!messages_ready_ || !connected()) {
      result.error = not_ready_reason();
      shared_.report(std::move(result));
      return;
    }
    natsStatus s = get_agent(key, result.value, result.revision, result.deleted);
    if (s == NATS_OK || s == NATS_NOT_FOUND) {
      result.ok = true;
      result.found = s == NATS_OK;
    } else {
      result.error = status_text(s);
    }
    shared_.report(std::move(result));
  }

  // The latest entry of agent `key`, asked of the bucket's stream leader
  // (STREAM.MSG.GET): unlike kvStore_Get's direct get, which any replica
  // may answer from behind, it shows every write the stream has acked, so a
  // hello answered on one host is seen by a send on any other.
  natsStatus get_agent(const std::string& key, std::string& value, std::uint64_t& revision,
                       bool& deleted) {
    natsMsg* msg = nullptr;
    std::string stream = "KV_" + config_.agents_bucket;
    std::string subject = "$KV." + config_.agents_bucket + "." + key;
    natsStatus s =
        nats().js_GetLastMsg(&msg, js_, stream.c_str(), subject.c_str(), nullptr, nullptr);
    if (s != NATS_OK) return s;
    revision = nats().natsMsg_GetSequence(msg);
    value.clear();
    if (const char* data = nats().natsMsg_GetData(msg); data != nullptr) {
      value.assign(data, std::size_t(nats().natsMsg_GetDataLength(msg)));
    }
    const char* operation = nullptr;
    deleted = nats().natsMsgHeader_Get(msg, "KV-Operation", &operation) == NATS_OK &&
              operation != nullptr &&
              (std::strcmp(operation, "DEL") == 0 || std::strcmp(operation, "PURGE") == 0);
    nats().natsMsg_Destroy(msg);
    return NATS_OK;
  }

  void delete_agent(const std::string& key) {
    if (messages_ready_ && connected()) nats().kvStore_Delete(agents_kv_, key.c_str());
  }

  void publish_message(std::uint64_t token, const std::string& subject, const std::string& body,
                       const std::string& msg_id) {
    auto fail = [&](const std::string& why) {
      shared_.report(BridgeMessageAck{token, false, false, why});
    };
    if (!messages_ready_ || !connected()) {
      return fail(not_ready_reason());
    }
    natsMsg* msg = nullptr;
    natsStatus s =
        nats().natsMsg_Create(&msg, subject.c_str(), nullptr, body.data(), int(body.size()));
    std::string number = std::to_string(token);
    if (s == NATS_OK) s = nats().natsMsgHeader_Set(msg, "Coord-Token", number.c_str());
    if (s == NATS_OK) s = nats().natsMsgHeader_Set(msg, "Nats-Msg-Id", msg_id.c_str());
    jsPubOptions options;
    nats().jsPubOptions_Init(&options);
    options.MaxWait = 2 * config_.request_timeout.count();
    if (s == NATS_OK) s = nats().js_PublishMsgAsync(js_, &msg, &options);
    if (msg != nullptr) nats().natsMsg_Destroy(msg);
    if (s != NATS_OK) fail(status_text(s));
  }

  void publish_core(const std::string& subject, const std::string& body) {
    if (!messages_ready_ || !connected()) return;
    nats().natsConnection_Publish(nc_, subject.c_str(), body.data(), int(body.size()));
  }

  void open_mailbox(const std::string& agent_key, bool fresh) {
    BridgeMailboxOpened opened;
    opened.agent = agent_key;
    if (!messages_ready_ || !connected()) {
      opened.error = not_ready_reason();
      shared_.report(std::move(opened));
      return;
    }
    std::string consumer = "mb_" + agent_key;
    jsErrCode code = jsErrCode(0);
    if (fresh) {
      nats().js_DeleteConsumer(js_, config_.message_stream.c_str(), consumer.c_str(), nullptr,
                               &code);
    }
    jsConsumerConfig cc;
    nats().jsConsumerConfig_Init(&cc);
    std::string filter = config_.mailbox_filter_prefix + agent_key + ".*";
    cc.Durable = consumer.c_str();
    cc.FilterSubject = filter.c_str();
    cc.AckPolicy = js_AckExplicit;
    cc.DeliverPolicy = js_DeliverAll;
    // Acked when handed to the agent's connection. Unacked after the ack
    // wait, a message comes again: one delivered here but lost on its way
    // (with a failing server) is not lost, and one waiting in the mailbox
    // here is recognised by its stream seq. A new holder re-makes the
    // consumer instead.
    cc.AckWait = std::chrono::nanoseconds(kAckWait).count();
    cc.MaxAckPending = config_.mailbox_messages;
    jsConsumerInfo* info = nullptr;
    natsStatus s =
        nats().js_AddConsumer(&info, js_, config_.message_stream.c_str(), &cc, nullptr, &code);
    if (info) nats().jsConsumerInfo_Destroy(info);
    if (s != NATS_OK) {
      opened.error = "cannot make the mailbox consumer " + consumer + ": " + status_text(s);
      shared_.report(std::move(opened));
      return;
    }
    // Reported before the first pull: whatever it delivers comes after.
    opened.ok = true;
    shared_.report(std::move(opened));
    std::lock_guard lock(pulls_.mutex);
    Pulls::Pull& pull = pulls_.by_token[agent_key];
    pull.agent = agent_key;
    pull.request_subject = "$JS.API.CONSUMER.MSG.NEXT." + config_.message_stream + "." + consumer;
    pull.reply = pulls_.inbox + "." + agent_key;
    pull.active = true;
    pulls_.issue(pull);
  }

  void close_mailbox(const std::string& agent_key, bool remove) {
    {
      std::lock_guard lock(pulls_.mutex);
      if (auto it = pulls_.by_token.find(agent_key); it != pulls_.by_token.end()) {
        it->second.active = false;
        if (remove) pulls_.by_token.erase(it);  // its mailbox expired: nothing more comes
      }
    }
    if (remove && messages_ready_ && connected()) {
      jsErrCode code = jsErrCode(0);
      std::string consumer = "mb_" + agent_key;
      nats().js_DeleteConsumer(js_, config_.message_stream.c_str(), consumer.c_str(), nullptr,
                               &code);
    }
  }

  void ack(const std::string& ack_subject) {
    if (connected()) nats().natsConnection_PublishString(nc_, ack_subject.c_str(), "+ACK");
  }

  // Pull requests lost with a server or a consumer leader (or never
  // answered) are sent again: all of them after a reconnect (`all`).
  void renew_pulls(bool all) {
    if (!messages_ready_ || !connected()) return;
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(pulls_.mutex);
    for (auto& [token, pull] : pulls_.by_token) {
      if (pull.active &&
          (all || now - pull.issued > Pulls::kPullExpires + std::chrono::seconds(1))) {
        pulls_.issue(pull);
      }
    }
  }

  void close() {
    // A clean exit gives the host id back at once.
    if (host_held_ && connected()) nats().kvStore_Delete(hosts_kv_, config_.host_key.c_str());
    host_held_ = false;
    if (ping_sub_) nats().natsSubscription_Unsubscribe(ping_sub_);
    if (nc_) nats().natsConnection_Close(nc_);
    if (ping_sub_) nats().natsSubscription_Destroy(ping_sub_);
    ping_sub_ = nullptr;
    if (hosts_kv_) nats().kvStore_Destroy(hosts_kv_);
    hosts_kv_ = nullptr;
    if (agents_kv_) nats().kvStore_Destroy(agents_kv_);
    agents_kv_ = nullptr;
    if (agents_watch_ && agents_watch_->sub) nats().natsSubscription_Destroy(agents_watch_->sub);
    if (agents_watch_) agents_watch_->sub = nullptr;
    if (seen_sub_) nats().natsSubscription_Destroy(seen_sub_);
    seen_sub_ = nullptr;
    if (pull_sub_) nats().natsSubscription_Destroy(pull_sub_);
    pull_sub_ = nullptr;
    {
      std::lock_guard lock(pulls_.mutex);
      pulls_.nc = nullptr;
      pulls_.by_token.clear();
    }
    for (const auto& watch : watches_) {
      if (watch->sub) nats().natsSubscription_Destroy(watch->sub);
      watch->sub = nullptr;
    }
    if (hosts_watch_ && hosts_watch_->sub) nats().natsSubscription_Destroy(hosts_watch_->sub);
    if (hosts_watch_) hosts_watch_->sub = nullptr;
    if (kv_) nats().kvStore_Destroy(kv_);
    kv_ = nullptr;
    if (js_) nats().jsCtx_Destroy(js_);
    js_ = nullptr;
    if (nc_) nats().natsConnection_Destroy(nc_);
    nc_ = nullptr;
    if (options_) nats().natsOptions_Destroy(options_);
    options_ = nullptr;
    // nats.c's threads may still be inside a callback whose closure is a
    // Watch: wait for them before the watches go.
    for (const auto& watch : retired_) {
      if (watch->sub) nats().natsSubscription_Destroy(watch->sub);
      watch->sub = nullptr;
    }
    nats().nats_CloseAndWait(2000);
    watches_.clear();
    retired_.clear();
    hosts_watch_.reset();
    agents_watch_.reset();
  }

  void set_stream_name(std::string name) { stream_name_ = std::move(name); }

 private:
  bool open_bucket(const std::string& name, kvStore*& kv, bool quiet = false) {
    natsStatus s = nats().js_KeyValue(&kv, js_, name.c_str());
    if (s == NATS_OK) return true;
    kv = nullptr;
    for (int replicas : replica_choices()) {
      kvConfig cfg;
      nats().kvConfig_Init(&cfg);
      cfg.Bucket = name.c_str();
      cfg.History = 1;
      cfg.Replicas = replicas;
      cfg.StorageType = js_FileStorage;
      s = nats().js_CreateKeyValue(&kv, js_, &cfg);
      if (s == NATS_OK) return true;
      kv = nullptr;
    }
    last_error_ = status_text(s);
    if (!quiet) {
      shared_.report(
          BridgeError{"cannot create bucket " + name + ": " + last_error_ + "; retrying"});
    }
    return false;
  }

  // The stream of targeted messages: a work queue (a message leaves once
  // acked), at most mailbox_messages per recipient and sending host (a
  // publish past that is refused: mailbox_full), kept for the mailbox TTL.
  bool ensure_stream(std::string& failure) {
    jsStreamInfo* info = nullptr;
    jsErrCode code = jsErrCode(0);
    if (nats().js_GetStreamInfo(&info, js_, config_.message_stream.c_str(), nullptr, &code) ==
        NATS_OK) {
      nats().jsStreamInfo_Destroy(info);
      return true;
    }
    natsStatus s = NATS_OK;
    for (int replicas : replica_choices()) {
      jsStreamConfig cfg;
      nats().jsStreamConfig_Init(&cfg);
      const char* subjects[] = {config_.mailbox_subjects.c_str()};
      cfg.Name = config_.message_stream.c_str();
      cfg.Subjects = subjects;
      cfg.SubjectsLen = 1;
      cfg.Retention = js_WorkQueuePolicy;
      cfg.Storage = js_FileStorage;
      cfg.Replicas = replicas;
      cfg.MaxAge = std::chrono::nanoseconds(config_.mailbox_ttl).count();
      cfg.MaxMsgsPerSubject = config_.mailbox_messages;
      cfg.Discard = js_DiscardNew;
      cfg.DiscardNewPerSubject = true;
      cfg.Duplicates = std::int64_t(120) * 1'000'000'000;
      info = nullptr;
      s = nats().js_AddStream(&info, js_, &cfg, nullptr, &code);
      if (info) nats().jsStreamInfo_Destroy(info);
      if (s == NATS_OK) return true;
    }
    failure = "cannot create stream " + config_.message_stream + ": " + status_text(s);
    return false;
  }

  std::vector<int> replica_choices() const {
    if (config_.replicas > 0) return {config_.replicas};
    return {3, 1};
  }

  const BridgeConfig& config_;
  NatsBridge::Shared& shared_;
  natsOptions* options_ = nullptr;
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
  kvStore* kv_ = nullptr;
  kvStore* hosts_kv_ = nullptr;
  natsSubscription* ping_sub_ = nullptr;
  PingResponder ping_;
  bool host_held_ = false;
  std::uint64_t host_revision_ = 0;
  std::string stream_name_;
  std::vector<std::unique_ptr<Watch>> watches_;
  std::vector<std::unique_ptr<Watch>> retired_;  // unwatched, kept until close()
  std::unique_ptr<Watch> hosts_watch_;           // the hosts bucket, once joined
  // Agent messages.
  kvStore* agents_kv_ = nullptr;
  bool stream_ready_ = false;
  bool messages_ready_ = false;
  std::string messages_failure_;         // the last failure reported
  std::string last_error_;               // of open_bucket
  std::unique_ptr<Watch> agents_watch_;  // the agents bucket
  natsSubscription* seen_sub_ = nullptr;
  natsSubscription* pull_sub_ = nullptr;
  Pulls pulls_;
  std::string unanswerable_;  // why the last claim was given back
};

}  // namespace

NatsBridge::NatsBridge(boost::asio::io_context& io, BridgeConfig config, Sink sink)
    : config_(std::move(config)), shared_(std::make_shared<Shared>(io, std::move(sink))) {
  std::string error;
  if (load_nats_api(error) == nullptr) throw std::runtime_error(error);
  shared_->subject_prefix = "$KV." + config_.records_bucket + ".";
}

NatsBridge::~NatsBridge() { stop(); }

void NatsBridge::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void NatsBridge::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  // A nats.c thread blocked on a full inbox must not hold up the join.
  shared_->close();
  if (thread_.joinable()) thread_.join();
}

void NatsBridge::send(Command command) {
  {
    std::lock_guard lock(mutex_);
    commands_.push_back(std::move(command));
  }
  wake_.notify_one();
}

void NatsBridge::publish(std::string key, std::string value, bool deleted,
                         std::uint64_t generation) {
  send({Command::Type::kPublish, std::move(key), std::move(value), deleted, generation, {}, {}});
}

void NatsBridge::watch(std::string prefix) {
  send({Command::Type::kWatch, std::move(prefix), {}, false, 0, {}, {}});
}

void NatsBridge::unwatch(std::string prefix) {
  send({Command::Type::kUnwatch, std::move(prefix), {}, false, 0, {}, {}});
}

void NatsBridge::probe(std::uint64_t token, std::chrono::milliseconds within,
                       std::vector<std::string> markers) {
  send({Command::Type::kProbe, {}, {}, false, token, within, std::move(markers)});
}

void NatsBridge::write_agent(std::uint64_t token, std::string key, std::string value,
                             std::uint64_t expected_revision) {
  Command command{
      Command::Type::kWriteAgent, std::move(key), std::move(value), false, token, {}, {}};
  command.extra = std::to_string(expected_revision);
  send(std::move(command));
}

void NatsBridge::delete_agent(std::string key) {
  send({Command::Type::kDeleteAgent, std::move(key), {}, false, 0, {}, {}});
}

void NatsBridge::read_agent(std::uint64_t token, std::string key) {
  send({Command::Type::kReadAgent, std::move(key), {}, false, token, {}, {}});
}

void NatsBridge::publish_message(std::uint64_t token, std::string subject, std::string body,
                                 std::string msg_id) {
  Command command{
      Command::Type::kPublishMessage, std::move(subject), std::move(body), false, token, {}, {}};
  command.extra = std::move(msg_id);
  send(std::move(command));
}

void NatsBridge::publish_core(std::string subject, std::string body) {
  send({Command::Type::kPublishCore, std::move(subject), std::move(body), false, 0, {}, {}});
}

void NatsBridge::open_mailbox(std::string agent, bool fresh) {
  send({Command::Type::kOpenMailbox, std::move(agent), {}, fresh, 0, {}, {}});
}

void NatsBridge::close_mailbox(std::string agent, bool remove) {
  send({Command::Type::kCloseMailbox, std::move(agent), {}, remove, 0, {}, {}});
}

void NatsBridge::ack(std::string ack_subject) {
  send({Command::Type::kAck, std::move(ack_subject), {}, false, 0, {}, {}});
}

void NatsBridge::run() {
  Session session(config_, *shared_);
  session.set_stream_name("KV_" + config_.records_bucket);
  if (!session.connect()) return;
  bool refused_reported = false;
  bool watches_dirty = false;
  auto last_refresh = std::chrono::steady_clock::now();
  // Sync probes not answered yet, with when to give up on them.
  struct PendingProbe {
    std::uint64_t token;
    std::chrono::steady_clock::time_point give_up;
    std::vector<std::string> markers;
  };
  std::vector<PendingProbe> probes;
  auto last_attempt = std::chrono::steady_clock::now() - std::chrono::hours(1);
  auto last_message_setup = last_attempt;
  std::chrono::milliseconds message_setup_wait{250};
  auto last_pull_check = last_attempt;
  bool was_connected = false;
  // Opening and closing mailboxes, in order: one per turn, after everything
  // else the turn brought. Re-making a replicated consumer takes the
  // servers ~0.5 s, and a burst of hellos must not hold up the registry
  // writes (and so the hellos) and the messages queued behind those.
  std::deque<Command> mailbox_ops;
  for (;;) {
    std::deque<Command> batch;
    {
      std::unique_lock lock(mutex_);
      // Probes the swarm could not store are tried again soon; otherwise
      // wake for a command, or to retry setting up.
      auto pause = !mailbox_ops.empty() ? std::chrono::milliseconds(0)
                   : !probes.empty()    ? std::chrono::milliseconds(50)
                                        : std::chrono::milliseconds(100);
      wake_.wait_for(lock, pause, [&] { return stopping_ || !commands_.empty(); });
      if (stopping_) break;
      batch.swap(commands_);
    }
    auto now = std::chrono::steady_clock::now();
    if (!session.ready() && now - last_attempt > std::chrono::milliseconds(500)) {
      last_attempt = now;
      std::string holder;
      if (session.ensure_bucket()) {
        switch (session.claim_host(holder)) {
          case Session::Claim::kHeld:
            refused_reported = false;
            shared_->report(BridgeReady{});
            last_refresh = now;
            watches_dirty = true;
            break;
          case Session::Claim::kRefused:
            if (!refused_reported) shared_->report(BridgeHostRefused{holder, ""});
            refused_reported = true;
            last_attempt = now + std::chrono::seconds(5);  // and look again later
            break;
          case Session::Claim::kUnanswerable:
            if (!refused_reported) shared_->report(BridgeHostRefused{"", session.unanswerable()});
            refused_reported = true;
            last_attempt = now + std::chrono::seconds(5);
            break;
          case Session::Claim::kRetry:
            break;
        }
      }
    }
    if (session.ready() && now - last_refresh > kHostRefreshInterval) {
      last_refresh = now;
      if (!session.refresh_host()) {
        shared_->report(BridgeError{"another coordd took over this host id; leaving the swarm"});
        shared_->report(BridgeHostRefused{"", "another coordd took this host id over"});
        refused_reported = true;
      }
    }
    for (Command& command : batch) {
      switch (command.type) {
        case Command::Type::kPublish:
          session.publish(command.key, command.value, command.deleted, command.number);
          break;
        case Command::Type::kWatch:
          session.watch(command.key);
          watches_dirty = true;
          break;
        case Command::Type::kUnwatch:
          session.unwatch(command.key);
          break;
        case Command::Type::kProbe:
          probes.push_back({command.number, now + command.within, std::move(command.markers)});
          break;
        case Command::Type::kWriteAgent:
          session.write_agent(command.number, command.key, command.value,
                              std::strtoull(command.extra.c_str(), nullptr, 10));
          break;
        case Command::Type::kDeleteAgent:
          session.delete_agent(command.key);
          break;
        case Command::Type::kReadAgent:
          session.read_agent(command.number, command.key);
          break;
        case Command::Type::kPublishMessage:
          session.publish_message(command.number, command.key, command.value, command.extra);
          break;
        case Command::Type::kPublishCore:
          session.publish_core(command.key, command.value);
          break;
        case Command::Type::kOpenMailbox:
        case Command::Type::kCloseMailbox:
          mailbox_ops.push_back(std::move(command));
          break;
        case Command::Type::kAck:
          session.ack(command.key);
          break;
      }
    }
    if (!mailbox_ops.empty()) {
      Command op = std::move(mailbox_ops.front());
      mailbox_ops.pop_front();
      if (op.type == Command::Type::kOpenMailbox) {
        session.open_mailbox(op.key, op.deleted);
      } else {
        session.close_mailbox(op.key, op.deleted);
      }
    }
    if (watches_dirty && session.ready()) watches_dirty = !session.subscribe_watches();
    // Each failed attempt may have waited on the servers (a refused API
    // call is a timeout): back off, so records and syncs are not held up.
    if (session.ready() && session.messages_wanted() && !session.messages_ready() &&
        now - last_message_setup > message_setup_wait) {
      last_message_setup = now;
      message_setup_wait = session.setup_messages() ? std::chrono::milliseconds(500)
                                                    : std::min(2 * message_setup_wait,
                                                               std::chrono::milliseconds(30'000));
    }
    bool connected = session.connected();
    if ((connected && !was_connected) || now - last_pull_check > std::chrono::seconds(1)) {
      session.renew_pulls(connected && !was_connected);
      last_pull_check = now;
    }
    was_connected = connected;
    for (auto it = probes.begin(); it != probes.end();) {
      if (std::chrono::steady_clock::now() > it->give_up) {
        it = probes.erase(it);  // answered by the caller's timeout already
        continue;
      }
      BridgeSyncPoint point;
      point.token = it->token;
      if (session.probe(it->markers, point) == Session::Probe::kAnswered) {
        shared_->report(std::move(point));
        it = probes.erase(it);
      } else {
        ++it;
      }
    }
  }
}

}  // namespace coordd
