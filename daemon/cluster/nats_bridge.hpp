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
using BridgeEvent =
    std::variant<BridgeConnection, BridgeReady, BridgeHostRefused, BridgeEntry, BridgeCaughtUp,
                 BridgeAck, BridgeSyncPoint, BridgeError, BridgeHost>;

// How often a joined coordd refreshes its claim in the hosts bucket.
inline constexpr std::chrono::seconds kHostRefreshInterval{10};

class NatsBridge {
 public:
  using Sink = std::function<void(std::vector<BridgeEvent>&)>;

  // `sink` runs on `io`'s thread with each batch, in order.
  NatsBridge(boost::asio::io_context& io, BridgeConfig config, Sink sink);
  // stop().
  ~NatsBridge();
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

  // Thread-safe: what the bridge thread and nats.c's threads add to.
  struct Shared;

 private:
  struct Command {
    enum class Type { kPublish, kWatch, kUnwatch, kProbe } type;
    std::string key;
    std::string value;
    bool deleted = false;
    std::uint64_t number = 0;             // generation or token
    std::chrono::milliseconds within{0};  // probes
    std::vector<std::string> markers;     // probes
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
