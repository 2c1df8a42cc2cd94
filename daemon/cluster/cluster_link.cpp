#include "daemon/cluster/cluster_link.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <functional>

#include "daemon/cluster/repo_id.hpp"
#include "proto/cluster_names.hpp"
#include "proto/cluster_value.hpp"
#include "proto/display.hpp"
#include "proto/timestamp.hpp"

namespace coordd {
namespace json = boost::json;

namespace {

// Publishes in flight at once: bounds the bridge's queue, and matches
// nats.c's own bound on pending async publishes (NatsBridge).
constexpr std::size_t kMaxInFlight = 4096;
constexpr auto kRetryAfter = std::chrono::milliseconds(500);
// Offsets kept per origin for its skew estimate.
constexpr std::size_t kSkewSamples = 32;
constexpr std::int64_t kSkewWarnMs = 1000;
// Room for the value's header line beyond the record itself.
constexpr std::size_t kValueHeaderRoom = 1024;

std::size_t hash_of(std::string_view data) { return std::hash<std::string_view>{}(data); }

}  // namespace

ClusterLink::ClusterLink(boost::asio::io_context& io, Engine& engine, FileSystem& fs,
                         ClusterOptions options, std::string epoch)
    : io_(io),
      engine_(engine),
      options_(std::move(options)),
      epoch_(std::move(epoch)),
      rejects_log_(engine.clock(), io.get_executor()),
      errors_log_(engine.clock(), io.get_executor()),
      too_large_log_(engine.clock(), io.get_executor()),
      mirror_log_(engine.clock(), io.get_executor()),
      mirror_(engine, fs, mirror_log_),
      retry_timer_(engine.clock().make_alarm(io.get_executor())) {
  BridgeConfig config;
  config.servers = options_.servers;
  config.client_name = "coordd " + options_.host_id;
  config.records_bucket = records_bucket(options_.cluster_name);
  config.hosts_bucket = hosts_bucket(options_.cluster_name);
  config.host_key = encode_name_part(options_.host_id);
  config.ping_subject = host_ping_subject(options_.cluster_name, options_.host_id);
  config.epoch = epoch_;
  config.creds_file = options_.creds_file;
  config.tls_ca = options_.tls_ca;
  config.tls_cert = options_.tls_cert;
  config.tls_key = options_.tls_key;
  config.replicas = options_.replicas;
  config.discover_servers = options_.discover_servers;
  config.agents_bucket = agents_bucket(options_.cluster_name);
  config.message_stream = message_stream(options_.cluster_name);
  config.message_prefix = message_subject_prefix(options_.cluster_name);
  config.mailbox_subjects = mailbox_subjects(options_.cluster_name);
  config.mailbox_filter_prefix = message_subject_prefix(options_.cluster_name) + ".to.";
  config.mailbox_ttl = options_.mailbox_ttl;
  config.mailbox_messages = options_.mailbox_messages;
  bridge_ = std::make_unique<NatsBridge>(
      io_, std::move(config), [this](std::vector<BridgeEvent>& events) { on_events(events); });
}

ClusterLink::~ClusterLink() { stop(); }

void ClusterLink::start() {
  engine_.set_local_origin(options_.host_id);
  engine_.set_local_change_listener(
      [this](const RecordRef& ref, const Record*) { on_local_change(ref); });
  engine_.set_root_listener([this](RootId root, bool added) {
    if (added) {
      add_root(root);
    } else {
      remove_root(root);
    }
  });
  for (RootId root : engine_.root_ids()) add_root(root);
  for (const std::string& path : options_.mirror_roots) {
    if (!engine_.find_root(path)) {
      spdlog::warn("--mirror {}: not a watched root; nothing is mirrored there",
                   escape_control(path));
    }
  }
  bridge_->start();
}

void ClusterLink::attach_bus(MessageBus& bus) {
  swarm_bus_ =
      std::make_unique<SwarmBus>(io_, engine_.clock(), bus, *bridge_,
                                 SwarmBusOptions{options_.cluster_name, options_.host_id, epoch_},
                                 [this](const std::string& host, const std::string& epoch) {
                                   if (is_stale(host)) return true;
                                   auto claim = hosts_.find(host);
                                   return claim != hosts_.end() && !claim->second.epoch.empty() &&
                                          claim->second.epoch != epoch;
                                 });
  bus.set_route(swarm_bus_.get());
}

void ClusterLink::update_joined() {
  if (swarm_bus_) swarm_bus_->set_joined(connection_.connected && bucket_ready_);
}

void ClusterLink::stop() {
  if (bridge_) bridge_->stop();
  retry_timer_->cancel();
  for (auto& [id, barrier] : barriers_) {
    if (barrier.timer) barrier.timer->cancel();
  }
  barriers_.clear();
}

void ClusterLink::add_root(RootId root) {
  const std::string& path = engine_.root_path(root);
  std::string repo;
  std::string source;
  if (auto given = options_.repo_ids.find(path); given != options_.repo_ids.end()) {
    repo = given->second;
    source = "given";
  } else {
    RepoIdResult derived = derive_repo_id(path);
    if (!derived.id) {
      if (options_.mirror_roots.contains(path))
        derived.why_not += " (so --mirror does nothing there)";
      unshared_[root] = derived.why_not;
      spdlog::warn("{} is not shared with the swarm: {}", escape_control(path),
                   escape_control(derived.why_not));
      return;
    }
    repo = *derived.id;
    source = "from " + derived.source;
  }
  std::string watch = encode_name_part(repo) + ".";
  if (auto taken = shared_.find(watch); taken != shared_.end()) {
    std::string why = "its repo id " + repo + " is already shared by " +
                      engine_.root_path(taken->second.root) + "; give one with --repo-id";
    unshared_[root] = why;
    spdlog::warn("{} is not shared with the swarm: {}", escape_control(path), escape_control(why));
    return;
  }
  unshared_.erase(root);
  SharedRoot& shared = shared_[watch];
  shared.root = root;
  shared.repo = repo;
  shared.watch = watch;
  shared.mirror = options_.mirror_roots.contains(path);
  spdlog::info("sharing {} with the swarm as repo {} ({}){}", escape_control(path),
               escape_control(repo), source,
               shared.mirror ? "; other hosts' records are mirrored into its directory" : "");
  bridge_->watch(watch);
}

void ClusterLink::remove_root(RootId root) {
  unshared_.erase(root);
  for (auto it = shared_.begin(); it != shared_.end();) {
    if (it->second.root != root) {
      ++it;
      continue;
    }
    bridge_->unwatch(it->first);
    it = shared_.erase(it);
  }
}

ClusterLink::SharedRoot* ClusterLink::shared_of(RootId root) {
  for (auto& [watch, shared] : shared_) {
    if (shared.root == root) return &shared;
  }
  return nullptr;
}

std::string ClusterLink::key_of(const SharedRoot& shared, Kind kind, const std::string& id) const {
  return record_key(shared.repo, options_.host_id, kind, id);
}

// --- what the bridge reports ----------------------------------------------

void ClusterLink::on_events(std::vector<BridgeEvent>& events) {
  for (BridgeEvent& event : events) {
    if (auto* entry = std::get_if<BridgeEntry>(&event)) {
      on_entry(*entry);
    } else if (auto* caught_up = std::get_if<BridgeCaughtUp>(&event)) {
      on_caught_up(caught_up->watch);
    } else if (auto* ack = std::get_if<BridgeAck>(&event)) {
      on_ack(*ack);
    } else if (auto* point = std::get_if<BridgeSyncPoint>(&event)) {
      on_sync_point(*point);
    } else if (auto* connection = std::get_if<BridgeConnection>(&event)) {
      bool was = connection_.connected;
      connection_ = std::move(*connection);
      if (connection_.connected && !was) {
        spdlog::info("connected to the swarm at {}", escape_control(connection_.server));
        flush();
      } else if (!connection_.connected && was) {
        spdlog::warn("lost the swarm ({}); serving locally, changes wait to be published",
                     escape_control(connection_.error));
      } else if (!connection_.connected && !connection_.error.empty()) {
        errors_log_.warn("swarm: " + escape_control(connection_.error));
      }
    } else if (std::holds_alternative<BridgeReady>(event)) {
      bucket_ready_ = true;
      host_refused_.reset();
      spdlog::info("joined swarm {} as host {}", escape_control(options_.cluster_name),
                   escape_control(options_.host_id));
      flush();
    } else if (auto* refused = std::get_if<BridgeHostRefused>(&event)) {
      bucket_ready_ = false;
      host_refused_ = !refused->why.empty() ? refused->why
                                            : "host id " + options_.host_id +
                                                  " is held by another live coordd (run " +
                                                  refused->holder_epoch + ")";
      spdlog::error("{} in swarm {}: not joining; serving locally{}",
                    escape_control(*host_refused_), escape_control(options_.cluster_name),
                    refused->why.empty() ? " (give this one another --host-id)" : "");
    } else if (auto* error = std::get_if<BridgeError>(&event)) {
      errors_log_.warn("swarm: " + escape_control(error->text));
    } else if (auto* host = std::get_if<BridgeHost>(&event)) {
      on_host(*host);
    } else if (swarm_bus_) {
      update_joined();
      swarm_bus_->on_event(event);
    }
  }
  update_joined();
  check_barriers();
}

void ClusterLink::reject(const std::string& key, const std::string& why) {
  ++counters_.remote_rejected;
  rejects_log_.warn("skipping swarm value " + escape_control(key) + ": " + why);
}

void ClusterLink::on_entry(const BridgeEntry& entry) {
  auto found = shared_.find(entry.watch);
  if (found == shared_.end()) return;  // a root unwatched since
  SharedRoot& shared = found->second;
  shared.applied_seq = std::max(shared.applied_seq, entry.stream_seq);
  if (is_sync_marker_key(entry.key)) return;  // a host's sync point: its seq is all it says
  std::optional<RecordKey> key = parse_record_key(entry.key);
  if (!key || key->repo != shared.repo) return reject(entry.key, "the key does not decode");
  if (key->host == options_.host_id) {
    // What the swarm holds for us, read once: what a restart diffs against.
    // After that, acks say it: our own values come back through the watch
    // later than their acks, so a late entry (say, the delete of an earlier
    // version) would make held_ say "not stored" of a value that is, and a
    // removal then would never be published.
    if (shared.caught_up) return;
    if (entry.deleted) {
      held_.erase(entry.key);
    } else {
      auto value = decode_record_value(entry.value);
      held_[entry.key] = value ? hash_of(value->data) : 0;
    }
    return;
  }
  if (!is_valid_record_id(key->id)) return reject(entry.key, "the record id is not valid");
  if (!shared.caught_up) shared.seen.emplace(key->host, key->kind, key->id);
  if (entry.deleted) {
    engine_.remove_remote(engine_.origin_root(shared.root, key->host), key->kind, key->id);
    origins_[key->host].last_seen = engine_.clock().steady_now();
    ++counters_.remote_applied;
    if (shared.mirror && shared.caught_up)
      mirror_.changed(shared.root, key->host, key->kind, key->id);
    return;
  }
  if (entry.value.size() > kDefaultMaxRecordBytes + kValueHeaderRoom) {
    return reject(entry.key, "the value is larger than a record may be");
  }
  std::optional<RecordValue> value = decode_record_value(entry.value);
  if (!value) return reject(entry.key, "the value is not a coordd record value");
  if (value->header.origin != key->host) {
    return reject(entry.key,
                  "written by " + value->header.origin + " under host " + key->host + "'s prefix");
  }
  // Only a value that passed those checks makes its host known here.
  RootId origin_root = engine_.origin_root(shared.root, key->host);
  OriginState& origin = origins_[key->host];
  origin.last_seen = engine_.clock().steady_now();
  origin.epoch = value->header.epoch;
  // Only a live value says anything of the clocks: one read at catch-up may
  // have been stored long ago.
  std::optional<WallTime> stamped =
      shared.caught_up ? parse_timestamp(value->header.ts) : std::nullopt;
  if (stamped) {
    auto offset =
        std::chrono::duration_cast<std::chrono::milliseconds>(engine_.clock().now() - *stamped);
    origin.offsets_ms.push_back(offset.count());
    if (origin.offsets_ms.size() > kSkewSamples) origin.offsets_ms.pop_front();
    std::int64_t skew = skew_ms(origin);
    if (std::abs(skew) > kSkewWarnMs && !origin.warned_skew) {
      origin.warned_skew = true;
      spdlog::warn("host {}'s clock is about {} ms {} ours; its leases expire by our clock",
                   escape_control(key->host), std::abs(skew), skew > 0 ? "behind" : "ahead of");
    } else if (std::abs(skew) <= kSkewWarnMs / 2) {
      origin.warned_skew = false;
    }
  }
  Status applied = engine_.apply_remote(origin_root, key->kind, key->id, value->data);
  if (!applied.ok()) return reject(entry.key, applied.message());
  ++counters_.remote_applied;
  if (shared.mirror && shared.caught_up)
    mirror_.changed(shared.root, key->host, key->kind, key->id);
}

void ClusterLink::on_caught_up(const std::string& watch) {
  auto found = shared_.find(watch);
  if (found == shared_.end() || found->second.caught_up) return;
  SharedRoot& shared = found->second;
  shared.caught_up = true;
  // Records the swarm no longer holds were removed while we were away.
  for (const auto& [origin_host, origin_root] : engine_.origin_roots_of(shared.root)) {
    const std::string& host = origin_host;
    engine_.retain_remote(origin_root, [&](Kind kind, const std::string& id) {
      return shared.seen.contains(RemoteName{host, kind, id});
    });
  }
  shared.seen.clear();
  if (shared.mirror) mirror_.reconcile(shared.root);
  // Our own side: publish what differs from what the swarm holds for us.
  std::size_t differing = 0;
  for (Kind kind : kAllKinds) {
    for (const Record& record : engine_.store().records(shared.root, kind)) {
      std::string id(record.id());
      std::string key = key_of(shared, kind, id);
      auto held = held_.find(key);
      if (held == held_.end() || held->second != hash_of(record.data_json())) {
        mark_dirty(key, RecordRef{shared.root, kind, id});
        ++differing;
      }
    }
  }
  std::string own = host_prefix(shared.repo, options_.host_id);
  for (auto it = held_.lower_bound(own); it != held_.end() && it->first.starts_with(own); ++it) {
    std::optional<RecordKey> key = parse_record_key(it->first);
    if (!key) continue;
    RecordRef ref{shared.root, key->kind, key->id};
    if (engine_.store().find(ref) == nullptr) {
      mark_dirty(it->first, ref);
      ++differing;
    }
  }
  spdlog::info(
      "swarm read for {}: {} record(s) of other hosts, {} of ours to publish",
      escape_control(engine_.root_path(shared.root)),
      [&] {
        std::size_t n = 0;
        for (const auto& [host, root] : engine_.origin_roots_of(shared.root)) {
          for (Kind kind : kAllKinds) n += engine_.store().records(root, kind).size();
        }
        return n;
      }(),
      differing);
  flush();
}

void ClusterLink::on_host(const BridgeHost& entry) {
  std::optional<std::string> host = decode_name_part(entry.key);
  if (!host || !validate_host_id(*host).ok())
    return reject(entry.key, "the host key does not decode");
  if (*host == options_.host_id) return;
  HostClaim& claim = hosts_[*host];
  claim.refreshed = engine_.clock().steady_now();
  if (entry.deleted) {
    claim.left = true;
    if (origins_.contains(*host)) {
      spdlog::info("host {} left the swarm; its records stay until it removes them",
                   escape_control(*host));
    }
    return;
  }
  std::optional<HostValue> value = decode_host_value(entry.value);
  if (!value) return reject(entry.key, "the host value is not a coordd host claim");
  claim.left = false;
  claim.epoch = value->epoch;
}

bool ClusterLink::is_stale(const std::string& host) const {
  auto claim = hosts_.find(host);
  if (claim == hosts_.end()) return bucket_ready_;  // known by its records alone: not running
  if (claim->second.left) return true;
  if (!connection_.connected || !bucket_ready_) return false;  // we cannot tell
  return engine_.clock().steady_now() - claim->second.refreshed >
         3 * kHostRefreshInterval + std::chrono::seconds(5);
}

// --- publishing our records -------------------------------------------------

void ClusterLink::on_local_change(const RecordRef& ref) {
  SharedRoot* shared = shared_of(ref.root);
  // Before the first read, the diff at catch-up covers every change.
  if (shared == nullptr || !shared->caught_up) return;
  mark_dirty(key_of(*shared, ref.kind, ref.id), ref);
  if (!flush_posted_) {
    flush_posted_ = true;
    boost::asio::post(io_, [this] {
      flush_posted_ = false;
      flush();
    });
  }
}

void ClusterLink::mark_dirty(const std::string& key, const RecordRef& ref) {
  Dirty& dirty = dirty_[key];
  dirty.ref = ref;
  dirty.generation = next_generation_++;
  if (dirty.sent == 0 && !dirty.queued) {
    dirty.queued = true;
    ready_.push_back(key);
  }
}

void ClusterLink::flush() {
  if (!bucket_ready_ || !connection_.connected) return;
  while (in_flight_ < kMaxInFlight && !ready_.empty()) {
    std::string key = std::move(ready_.front());
    ready_.pop_front();
    auto it = dirty_.find(key);
    if (it == dirty_.end()) continue;
    Dirty& dirty = it->second;
    dirty.queued = false;
    if (dirty.sent != 0) continue;
    const Record* record = engine_.store().find(dirty.ref);
    if (record == nullptr && !held_.contains(key)) {
      dirty_.erase(it);  // never published, now gone: nothing to take back
      continue;
    }
    std::string value;
    if (record != nullptr) {
      value = encode_record_value(
          {options_.host_id, epoch_, record->seq, format_timestamp(engine_.clock().now())},
          record->data_json());
      dirty.sent_hash = hash_of(record->data_json());
    }
    if (connection_.max_payload > 0 && std::int64_t(value.size()) > connection_.max_payload) {
      // No server would take it: say so once per change, and take back an
      // earlier (smaller) version the others would otherwise keep.
      ++counters_.too_large;
      too_large_log_.warn("not sharing " + escape_control(key) + ": its value is " +
                          std::to_string(value.size()) +
                          " bytes, over the servers' max_payload of " +
                          std::to_string(connection_.max_payload) + "; it stays local");
      record = nullptr;
      value.clear();
      if (!held_.contains(key)) {
        dirty_.erase(it);
        continue;
      }
    }
    if (record == nullptr) dirty.sent_hash.reset();
    dirty.sent = dirty.generation;
    ++in_flight_;
    bridge_->publish(key, std::move(value), record == nullptr, dirty.sent);
  }
}

void ClusterLink::on_ack(const BridgeAck& ack) {
  auto it = dirty_.find(ack.key);
  if (it == dirty_.end() || it->second.sent != ack.generation) return;
  Dirty& dirty = it->second;
  --in_flight_;
  dirty.sent = 0;
  if (!ack.ok) {
    // An unanswered value may still have been stored (its ack lost with a
    // server): count the key as held, so that a removal made meanwhile is
    // published, not dropped by flush() as never published.
    if (dirty.sent_hash && !held_.contains(ack.key)) held_[ack.key] = 0;
    ++counters_.publish_failures;
    errors_log_.warn("publishing " + escape_control(ack.key) + " failed (" +
                     escape_control(ack.error) + "); retrying");
    schedule_retry();
    return;
  }
  ++counters_.published;
  if (dirty.sent_hash) {
    held_[ack.key] = *dirty.sent_hash;
  } else {
    held_.erase(ack.key);
  }
  if (dirty.generation == ack.generation) {
    dirty_.erase(it);
  } else if (!dirty.queued) {
    dirty.queued = true;  // changed again while in flight: send the latest
    ready_.push_back(ack.key);
  }
  flush();
}

void ClusterLink::schedule_retry() {
  if (retry_armed_) return;
  retry_armed_ = true;
  retry_timer_->arm(kRetryAfter, [this] {
    retry_armed_ = false;
    for (auto& [key, dirty] : dirty_) {
      if (dirty.sent == 0 && !dirty.queued) {
        dirty.queued = true;
        ready_.push_back(key);
      }
    }
    flush();
  });
}

// --- sync {"scope":"cluster"} ---------------------------------------------

std::uint64_t ClusterLink::barrier(std::chrono::milliseconds timeout,
                                   std::function<void(Status)> done) {
  std::uint64_t id = next_barrier_++;
  if (host_refused_) {
    done(Status::error("cluster_unavailable", "not in the swarm: " + *host_refused_));
    return id;
  }
  if (!connection_.connected) {
    done(Status::error("cluster_unavailable",
                       "not connected to the swarm (" + connection_.error +
                           "); local records are current, other hosts' may not be"));
    return id;
  }
  if (!bucket_ready_) {
    // Connected but not (yet) joined: the servers refuse us, or we are still
    // setting up. Nothing could confirm the sync before we join.
    done(Status::error(
        "cluster_unavailable",
        "connected to the swarm but not joined to it (see the log: refused "
        "permissions, or still setting up); other hosts' records may not be current"));
    return id;
  }
  Barrier& barrier = barriers_[id];
  barrier.done = std::move(done);
  barrier.timer = engine_.clock().make_alarm(io_.get_executor());
  barrier.timer->arm(timeout, [this, id, timeout] {
    finish_barrier(
        id, Status::error("sync_timeout", "the swarm did not confirm the sync within " +
                                              std::to_string(timeout.count()) + " ms; retry"));
  });
  std::vector<std::string> markers;
  for (const auto& [watch, shared] : shared_) {
    markers.push_back(sync_marker_key(shared.repo, options_.host_id));
  }
  bridge_->probe(id, timeout, std::move(markers));
  return id;
}

void ClusterLink::cancel_barrier(std::uint64_t id) {
  auto it = barriers_.find(id);
  if (it == barriers_.end()) return;
  if (it->second.timer) it->second.timer->cancel();
  barriers_.erase(it);
}

void ClusterLink::on_sync_point(const BridgeSyncPoint& point) {
  auto it = barriers_.find(point.token);
  if (it == barriers_.end()) return;
  if (!point.available) {
    return finish_barrier(
        point.token,
        Status::error("cluster_unavailable", "the swarm cannot be asked (" + point.error + ")"));
  }
  it->second.targets = point.delivered;
  it->second.probed = true;
}

void ClusterLink::check_barriers() {
  std::vector<std::uint64_t> done;
  for (const auto& [id, barrier] : barriers_) {
    if (!barrier.probed) continue;
    bool current = std::all_of(barrier.targets.begin(), barrier.targets.end(), [&](const auto& t) {
      auto shared = shared_.find(t.first);
      return shared == shared_.end() ||
             (shared->second.caught_up && shared->second.applied_seq >= t.second);
    });
    if (current) done.push_back(id);
  }
  for (std::uint64_t id : done) finish_barrier(id, Status());
}

void ClusterLink::finish_barrier(std::uint64_t id, Status status) {
  auto it = barriers_.find(id);
  if (it == barriers_.end()) return;
  Barrier barrier = std::move(it->second);
  barriers_.erase(it);
  if (barrier.timer) barrier.timer->cancel();
  barrier.done(std::move(status));
}

// --- status -----------------------------------------------------------------

std::int64_t ClusterLink::skew_ms(const OriginState& origin) const {
  // The smallest offset is the one least inflated by transit and queueing.
  if (origin.offsets_ms.empty()) return 0;
  return *std::min_element(origin.offsets_ms.begin(), origin.offsets_ms.end());
}

json::object ClusterLink::status() const {
  json::object out;
  out["cluster_name"] = options_.cluster_name;
  out["host_id"] = options_.host_id;
  out["connected"] = connection_.connected;
  out["server"] = connection_.connected ? json::value(connection_.server) : json::value(nullptr);
  if (!connection_.connected && !connection_.error.empty()) out["error"] = connection_.error;
  out["joined"] = bucket_ready_;
  if (host_refused_) out["error"] = *host_refused_;
  json::array repos;
  for (const auto& [watch, shared] : shared_) {
    repos.push_back(json::object{{"root", engine_.root_path(shared.root)},
                                 {"repo_id", shared.repo},
                                 {"caught_up", shared.caught_up},
                                 {"mirror", shared.mirror}});
  }
  out["repos"] = std::move(repos);
  json::array unshared;
  for (const auto& [root, why] : unshared_) {
    if (engine_.has_root(root)) {
      unshared.push_back(json::object{{"root", engine_.root_path(root)}, {"reason", why}});
    }
  }
  out["unshared"] = std::move(unshared);
  json::object origins;
  SteadyTime now = engine_.clock().steady_now();
  for (const auto& [host, origin] : origins_) {
    std::size_t records = 0;
    for (RootId home : engine_.root_ids()) {
      for (const auto& [h, root] : engine_.origin_roots_of(home)) {
        if (h != host) continue;
        for (Kind kind : kAllKinds) records += engine_.store().records(root, kind).size();
      }
    }
    json::object entry;
    // The run holding the host id now, else the run that wrote its values.
    auto claim = hosts_.find(host);
    entry["epoch"] =
        claim != hosts_.end() && !claim->second.epoch.empty() ? claim->second.epoch : origin.epoch;
    entry["records"] = records;
    entry["last_seen_ms_ago"] =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - origin.last_seen).count();
    entry["skew_ms"] = skew_ms(origin);
    entry["stale"] = is_stale(host);
    if (!origin.offsets_ms.empty()) entry["lag_ms"] = origin.offsets_ms.back();
    origins[host] = std::move(entry);
  }
  out["origins"] = std::move(origins);
  out["backlog"] = dirty_.size();
  out["in_flight"] = in_flight_;
  out["published"] = counters_.published;
  out["publish_failures"] = counters_.publish_failures;
  out["remote_applied"] = counters_.remote_applied;
  out["remote_rejected"] = counters_.remote_rejected;
  out["too_large"] = counters_.too_large;
  const MirrorCounters& mirror = mirror_.counters();
  out["mirror"] = json::object{{"written", mirror.written},
                               {"removed", mirror.removed},
                               {"conflicts", mirror.conflicts},
                               {"errors", mirror.errors}};
  if (swarm_bus_) out["messages"] = swarm_bus_->status();
  return out;
}

}  // namespace coordd
