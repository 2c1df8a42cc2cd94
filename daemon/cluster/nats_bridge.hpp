// NatsBridge: coordd's one connection to the NATS JetStream swarm. nats.c runs
// on threads of its own (it cannot run on the Asio reactor: every JetStream
// call in libnats 3.4 blocks on a reply); this class owns them and one bridge
// thread that makes every blocking call. The reactor hands it commands
// through a small queue and receives what happened as batches of
// BridgeEvents posted into its io_context, so engine state stays
// single-threaded. Public functions: reactor thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "daemon/cluster/message_bridge.hpp"

namespace coordd {

// How to reach the swarm. Secrets (the creds file, the TLS key) are paths:
// their contents never reach a log or status.
struct BridgeConfig {
  std::vector<std::string> servers;  // nats://host:port ...
  std::string client_name;           // shown by the server (connz)
  std::string records_bucket;        // KV bucket of the records
  std::string hosts_bucket;          // KV bucket of host ids and the runs holding them
  std::string host_key;              // this host's key there (its encoded id)
  std::string ping_subject;          // answered while this run holds the host id
  std::string epoch;                 // this run
  std::string creds_file;
  std::string tls_ca, tls_cert, tls_key;
  int replicas = 0;  // of a bucket it creates; 0: 3, or 1 when the cluster has fewer nodes
  // Also use the servers the cluster announces; off: only `servers`, in order.
  bool discover_servers = true;
  std::chrono::milliseconds request_timeout{2000};  // JetStream API calls
  // Agent messages (empty agents_bucket: none).
  std::string agents_bucket;          // KV bucket of agent names and the hosts holding them
  std::string message_stream;         // the stream of targeted messages
  std::string message_prefix;         // "coord.C.msg": every message subject starts with it + '.'
  std::string mailbox_subjects;       // the stream's subjects ("coord.C.msg.to.>")
  std::string mailbox_filter_prefix;  // "coord.C.msg.to.": + enc(agent) + ".*" is its consumer's
  std::chrono::milliseconds mailbox_ttl{300'000};  // the stream's MaxAge
  std::int64_t mailbox_messages = 1024;            // per recipient and sending host, in the stream
};

// --- what the bridge reports (copied out of nats.c's objects) ------------
struct BridgeConnection {
  bool connected = false;
  std::string server;            // the URL in use when connected
  std::string error;             // why not, when known
  std::int64_t max_payload = 0;  // the server's bound on a message, when connected
};
// The bucket exists (made or found) and this run holds its host id: watches
// and publishes go ahead.
struct BridgeReady {};
// This run stays out of the swarm, retrying now and then: the host id is
// held by another live coordd (it answered its ping), or this run cannot
// answer pings on its host's subject itself (`why`), so it could not keep
// the id from a second claimant.
struct BridgeHostRefused {
  std::string holder_epoch;
  std::string why;  // set when the reason is not another holder
};
// One value (or delete marker) of a watched key range, in stream order.
struct BridgeEntry {
  std::string watch;  // the key prefix watched
  std::string key;    // without the bucket's subject prefix
  std::string value;
  bool deleted = false;
  std::uint64_t stream_seq = 0;
  std::uint64_t pending = 0;  // more values the server had for this watch when it sent this one
};
// A watch's initial values have all been delivered (also sent when there were none).
struct BridgeCaughtUp {
  std::string watch;
};
// A publish the reactor asked for, stored by the stream (ok) or not.
struct BridgeAck {
  std::string key;
  std::uint64_t generation = 0;
  bool ok = false;
  std::string error;
};
// A sync probe's answer: for each watch, the stream seq its marker was
// stored at; unavailable when this coordd is not connected or not joined.
struct BridgeSyncPoint {
  std::uint64_t token = 0;
  bool available = false;
  std::vector<std::pair<std::string, std::uint64_t>> delivered;  // watch -> stream seq
  std::string error;
};
struct BridgeError {
  std::string text;
};
// An entry of the hosts bucket (watched once joined): a host's claim, made
// or refreshed (every 10 s while its coordd runs), or deleted (a clean exit).
struct BridgeHost {
  std::string key;  // the host's encoded id
  std::string value;
  bool deleted = false;
};
// The message layer is set up (agents bucket, message stream, their
// subscriptions), or cannot be (`error`: e.g. permissions); records go on
// either way.
struct BridgeMessagesReady {
  bool ok = false;
  std::string error;
};
// An entry of the agents bucket (watched once the message layer is set up),
// in stream order; `revision` is what a compare-and-set must name.
struct BridgeAgent {
  std::string key;  // the agent's encoded name
  std::string value;
  bool deleted = false;
  std::uint64_t revision = 0;
};
// The agents watch has delivered every entry there was.
struct BridgeAgentsCaughtUp {};
// The answer to write_agent(): stored at `revision`, or not; on a
// compare-and-set conflict, the entry found instead (none: `current_revision` 0).
struct BridgeAgentWritten {
  std::uint64_t token = 0;
  bool ok = false;
  std::uint64_t revision = 0;
  bool conflict = false;
  std::string current;
  std::uint64_t current_revision = 0;
  std::string error;
};
// The answer to read_agent(): the entry as the bucket's leader has it (ok),
// or why it could not be read.
struct BridgeAgentRead {
  std::uint64_t token = 0;
  std::string key;
  bool ok = false;
  bool found = false;  // a value or a delete marker
  bool deleted = false;
  std::string value;
  std::uint64_t revision = 0;
  std::string error;
};
// A targeted message publish_message() was asked for: stored (ok) or not.
struct BridgeMessageAck {
  std::uint64_t token = 0;
  bool ok = false;
  bool mailbox_full = false;  // refused by the stream's per-subject bound
  std::string error;
};
// A message: pulled from an agent's mailbox consumer (`agent` set, with the
// subject to ack it on), or seen on the message subjects (core NATS: every
// targeted publish, broadcast and tap copy of the swarm, our own included).
struct BridgeMessage {
  std::string agent;  // pulled: the mailbox's agent; empty: seen
  std::string subject;
  std::string data;
  std::string ack_subject;
  std::uint64_t stream_seq = 0;
};
// A mailbox consumer was (re)made, or could not be.
struct BridgeMailboxOpened {
  std::string agent;
  bool ok = false;
  std::string error;
};
using BridgeEvent =
    std::variant<BridgeConnection, BridgeReady, BridgeHostRefused, BridgeEntry, BridgeCaughtUp,
                 BridgeAck, BridgeSyncPoint, BridgeError, BridgeHost, BridgeMessagesReady,
                 BridgeAgent, BridgeAgentsCaughtUp, BridgeAgentWritten, BridgeAgentRead,
                 BridgeMessageAck, BridgeMessage, BridgeMailboxOpened>;

// How often a joined coordd refreshes its claim in the hosts bucket.
inline constexpr std::chrono::seconds kHostRefreshInterval{10};

class NatsBridge final : public MessageBridge {
 public:
  using Sink = std::function<void(std::vector<BridgeEvent>&)>;

  // `sink` runs on `io`'s thread with each batch, in order.
  NatsBridge(boost::asio::io_context& io, BridgeConfig config, Sink sink);
  // stop().
  ~NatsBridge() override;
  NatsBridge(const NatsBridge&) = delete;
  NatsBridge& operator=(const NatsBridge&) = delete;

  // Starts the bridge thread, which connects (and reconnects) on its own.
  void start();
  // Joins the bridge thread and closes the connection; nothing is posted
  // after it returns. Idempotent.
  void stop();

  // Stores `value` (or a delete marker) under `key`; answered by a BridgeAck
  // carrying `generation`.
  void publish(std::string key, std::string value, bool deleted, std::uint64_t generation);
  // Delivers the latest value of every key starting with `prefix` (ending
  // in '.'), then each change, as BridgeEntry events.
  void watch(std::string prefix);
  // Stops delivering `prefix`; a later watch() reads it afresh.
  void unwatch(std::string prefix);
  // Stores each of `markers` (a key under a watched prefix) and answers with
  // a BridgeSyncPoint giving, per watch, the stream seq each was stored at:
  // once the watch has delivered that seq, it has delivered everything
  // stored before the probe (the stream is ordered; the cookie technique).
  // Retried while the swarm cannot store; unless `within` passes first
  // (then nothing answers but the caller's own timeout).
  void probe(std::uint64_t token, std::chrono::milliseconds within,
             std::vector<std::string> markers);

  // --- MessageBridge (agent messages, once BridgeMessagesReady said ok) ---
  void write_agent(std::uint64_t token, std::string key, std::string value,
                   std::uint64_t expected_revision) override;
  void delete_agent(std::string key) override;
  void read_agent(std::uint64_t token, std::string key) override;
  void publish_message(std::uint64_t token, std::string subject, std::string body,
                       std::string msg_id) override;
  void publish_core(std::string subject, std::string body) override;
  void open_mailbox(std::string agent, bool fresh) override;
  void close_mailbox(std::string agent, bool remove) override;
  void ack(std::string ack_subject) override;

  // Thread-safe: what the bridge thread and nats.c's threads add to.
  struct Shared;

 private:
  struct Command {
    enum class Type {
      kPublish,
      kWatch,
      kUnwatch,
      kProbe,
      kWriteAgent,
      kDeleteAgent,
      kReadAgent,
      kPublishMessage,
      kPublishCore,
      kOpenMailbox,
      kCloseMailbox,
      kAck,
    } type;
    std::string key;
    std::string value;
    bool deleted = false;
    std::uint64_t number = 0;             // generation or token
    std::chrono::milliseconds within{0};  // probes
    std::vector<std::string> markers;     // probes
    std::string extra{};                  // a message's id, an expected revision
  };
  void send(Command command);
  void run();

  BridgeConfig config_;
  std::shared_ptr<Shared> shared_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Command> commands_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace coordd
