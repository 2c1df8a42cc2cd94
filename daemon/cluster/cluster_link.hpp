// ClusterLink: one coordd's membership of a swarm. It publishes the records
// read from this host's disk into the swarm's records bucket under its own
// prefix (R.H.<kind>.<id>), and merges every other host's records of the same
// repo id into the local Engine as origin roots, so clients see the whole
// swarm through the protocol they already speak. Local service never waits
// on it: changes made while the swarm is away wait in a dirty set (one entry
// per record) and converge on reconnect by diffing. All NATS I/O is the
// NatsBridge's; this class is reactor-thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "daemon/bus/log_throttle.hpp"
#include "daemon/cluster/mirror.hpp"
#include "daemon/cluster/nats_bridge.hpp"
#include "daemon/cluster/swarm_bus.hpp"
#include "daemon/engine/engine.hpp"
#include "daemon/server/cluster_view.hpp"

namespace coordd {

struct ClusterOptions {
  std::vector<std::string> servers;  // nats://host:port ...
  std::string cluster_name;
  std::string host_id;
  std::string creds_file;
  std::string tls_ca, tls_cert, tls_key;
  std::map<std::string, std::string> repo_ids;  // root path -> repo id, when given
  std::set<std::string> mirror_roots;           // root paths whose swarm records go to disk too
  int replicas = 0;                             // see BridgeConfig
  bool discover_servers = true;                 // see BridgeConfig
  // Agent messages across the swarm (the bus's limits; see BridgeConfig).
  std::chrono::milliseconds mailbox_ttl{300'000};
  std::int64_t mailbox_messages = 1024;
};

struct ClusterCounters {
  std::uint64_t published = 0;         // values (and delete markers) stored by the swarm
  std::uint64_t publish_failures = 0;  // attempts refused or not answered (retried)
  std::uint64_t remote_applied = 0;    // remote changes applied here
  std::uint64_t remote_rejected = 0;   // remote values skipped: malformed, oversize, foreign
  std::uint64_t too_large = 0;         // local records over the servers' max_payload: kept local
};

class ClusterLink final : public ClusterView {
 public:
  // `epoch` names this run (DaemonInfo::epoch). Nothing connects before start().
  // `fs` is the engine's disk (for --mirror's copies).
  ClusterLink(boost::asio::io_context& io, Engine& engine, FileSystem& fs, ClusterOptions options,
              std::string epoch);
  ~ClusterLink() override;
  ClusterLink(const ClusterLink&) = delete;
  ClusterLink& operator=(const ClusterLink&) = delete;

  // Joins the swarm with every root the engine has (after its initial scan),
  // and with each root added later (watch_root, a roots file reload).
  void start();
  // Leaves: joins the bridge thread. Idempotent.
  void stop();
  // Carries `bus`'s messages across the swarm (it must outlive nothing of
  // this link: the bus is destroyed first). Call before start().
  void attach_bus(MessageBus& bus);

  // ClusterView
  boost::json::object status() const override;
  std::uint64_t barrier(std::chrono::milliseconds timeout,
                        std::function<void(Status)> done) override;
  void cancel_barrier(std::uint64_t id) override;

  const ClusterCounters& counters() const { return counters_; }
  const MirrorCounters& mirror_counters() const { return mirror_.counters(); }

 private:
  using RemoteName = std::tuple<std::string, Kind, std::string>;  // host, kind, id
  struct SharedRoot {
    RootId root = 0;
    std::string repo;
    std::string watch;  // the key prefix of the repo: enc(R) + "."
    bool caught_up = false;
    bool mirror = false;            // --mirror: other hosts' records are written to disk too
    std::set<RemoteName> seen;      // during the first read: what the swarm holds
    std::uint64_t applied_seq = 0;  // the stream seq of the last value applied
  };
  struct Dirty {
    RecordRef ref;
    std::uint64_t generation = 0;          // bumped by each local change
    std::uint64_t sent = 0;                // the generation in flight (0: none)
    bool queued = false;                   // in ready_
    std::optional<std::size_t> sent_hash;  // what the swarm will hold once acked (nullopt: deleted)
  };
  // A host's claim in the hosts bucket, as last seen.
  struct HostClaim {
    std::string epoch;
    SteadyTime refreshed{};  // when its latest claim or refresh arrived here
    bool left = false;       // its claim was deleted (a clean exit)
  };
  struct OriginState {
    std::string epoch;
    SteadyTime last_seen{};
    std::deque<std::int64_t> offsets_ms;  // recent (our clock - its stamp) at arrival
    bool warned_skew = false;
  };
  struct Barrier {
    std::function<void(Status)> done;
    std::unique_ptr<Alarm> timer;
    std::vector<std::pair<std::string, std::uint64_t>> targets;  // watch -> stream seq
    bool probed = false;
  };

  void add_root(RootId root);
  // An unwatched root's records were removed from this host's view (their
  // deletes are on their way to the swarm); its watch goes too.
  void remove_root(RootId root);
  void on_events(std::vector<BridgeEvent>& events);
  void on_entry(const BridgeEntry& entry);
  void on_caught_up(const std::string& watch);
  void on_ack(const BridgeAck& ack);
  void on_sync_point(const BridgeSyncPoint& point);
  void on_host(const BridgeHost& host);
  // Whether `host`'s coordd has stopped saying it runs: it left, or missed
  // three refreshes while we were connected to see them.
  bool is_stale(const std::string& host) const;
  void on_local_change(const RecordRef& ref);
  void mark_dirty(const std::string& key, const RecordRef& ref);
  void flush();
  void schedule_retry();
  void check_barriers();
  // Tells the swarm bus whether we are joined now.
  void update_joined();
  void finish_barrier(std::uint64_t id, Status status);
  void reject(const std::string& key, const std::string& why);
  SharedRoot* shared_of(RootId root);
  std::string key_of(const SharedRoot& shared, Kind kind, const std::string& id) const;
  std::int64_t skew_ms(const OriginState& origin) const;

  boost::asio::io_context& io_;
  Engine& engine_;
  ClusterOptions options_;
  std::string epoch_;
  std::unique_ptr<NatsBridge> bridge_;
  std::unique_ptr<SwarmBus> swarm_bus_;
  LogThrottle rejects_log_;
  LogThrottle errors_log_;
  // Its own, so a connection error just logged does not hide it.
  LogThrottle too_large_log_;
  LogThrottle mirror_log_;
  Mirror mirror_;
  std::unique_ptr<Alarm> retry_timer_;
  bool retry_armed_ = false;
  bool flush_posted_ = false;

  BridgeConnection connection_;
  bool bucket_ready_ = false;                 // joined: buckets exist and the host id is ours
  std::optional<std::string> host_refused_;   // why not, while the swarm keeps our host id from us
  std::map<std::string, SharedRoot> shared_;  // by watch prefix
  std::map<RootId, std::string> unshared_;    // root -> why it is not shared
  std::map<std::string, std::size_t> held_;   // own keys -> hash of the data the swarm holds
  std::map<std::string, Dirty> dirty_;        // own keys not yet stored as they are now
  std::deque<std::string> ready_;             // dirty keys to send
  std::size_t in_flight_ = 0;
  std::uint64_t next_generation_ = 1;
  std::map<std::string, OriginState> origins_;
  std::map<std::string, HostClaim> hosts_;  // by host id
  std::map<std::uint64_t, Barrier> barriers_;
  std::uint64_t next_barrier_ = 1;
  ClusterCounters counters_;
};

}  // namespace coordd
