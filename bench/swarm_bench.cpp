// Swarm: coordd across hosts on a real 3-node NATS JetStream cluster on
// loopback (tests/support's NatsCluster), each coordd with its own root and
// host id, one repo id, host i talking to NATS server i only.
//
// Latency: a record renamed into place on host a's disk -> its event read on
// host b's (and c's) subscription socket, and on a's own (local, cluster on)
// from the same renames. Side by side, in the same run and on the same
// cluster and bucket, the engine's floor through the libnats calls coordd's
// bridge makes, with no coordd: a JetStream publish on a connection to a's
// server -> an ordered consumer on b's server (the floor the target is
// judged against), and plain core NATS pub/sub a -> b (the transport alone).
// Target (issue 14): cross-host p50 <= JetStream floor p50 + 2 x local p50.
//
// Ingest: M new records renamed into place as fast as one writer can, spread
// round-robin over the three disks; the time from the first rename until
// every node's subscription has read every change (its own and the other
// hosts') -> changes/s converged, then sync {"scope":"cluster"} and list on
// each node must hold all M with the right origin. Side by side: the same M
// messages published straight into the bucket from three connections (one
// per server) until three ordered consumers have them all. Where the time
// goes: when each node had its own changes, when its publishes were all
// acked, when it had the others'; CPU of every coordd (per thread) and
// nats-server over the run.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "bench/benchmarks.hpp"
#include "bench/coordd_process.hpp"
#include "bench/latency.hpp"
#include "bench/line_fields.hpp"
#include "bench/line_reader.hpp"
#include "bench/nats_probe.hpp"
#include "bench/proc_stats.hpp"
#include "bench/records.hpp"
#include "bench/stats.hpp"
#include "bench/swarm_cluster.hpp"
#include "proto/cluster_names.hpp"
#include "tests/support/nats_cluster.hpp"
#include "tests/support/poll_until.hpp"

namespace coordd::bench {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::size_t kRecordBytes = 300;
// coordd's value is the record plus a header line (origin, epoch, seq, ts).
constexpr std::size_t kFloorBytes = 420;
constexpr std::int64_t kStallNs = 20'000'000'000;

// One subscriber per host, all kinds, logging the first "added" of each id
// `prefix`+index as its receiver; ids `probe_prefix`<writer>-k bump seen[writer].
class Subscribers {
 public:
  Subscribers(Swarm& swarm, LatencyLog& log, std::string prefix)
      : log_(log), prefix_(std::move(prefix)) {
    std::size_t n = std::size_t(swarm.size());
    seen_ = std::vector<std::vector<std::atomic<std::size_t>>>(n);
    for (auto& row : seen_) row = std::vector<std::atomic<std::size_t>>(n);
    for (std::size_t r = 0; r < n; ++r) {
      clients_.push_back(swarm.host(int(r)).coordd->subscribe({{"kinds", "reservation"}}));
    }
    for (std::size_t r = 0; r < n; ++r) {
      readers_.push_back(std::make_unique<LineReader>(
          clients_[r].fd(),
          [this, r](std::string_view line, std::int64_t read_ns) { on_line(r, line, read_ns); }));
    }
  }
  ~Subscribers() { stop(); }

  void stop() {
    for (auto& reader : readers_) reader->stop();
  }

  // Writes probes on `writer`'s disk until every other host (and, when
  // `self`, the writer itself) has read one.
  void await_probe(Swarm& swarm, std::size_t writer, bool self) {
    auto deadline = support::PollClock::now() + 30s;
    auto all_seen = [&] {
      for (std::size_t r = 0; r < seen_.size(); ++r) {
        if ((r != writer || self) && seen_[r][writer].load() == 0) return false;
      }
      return true;
    };
    for (std::size_t k = 0; !all_seen(); ++k) {
      if (support::PollClock::now() > deadline) {
        throw std::runtime_error("host " + swarm.host(int(writer)).id +
                                 "'s probe records never reached every host");
      }
      std::string id = probe_prefix(writer) + std::to_string(k);
      swarm.host(int(writer)).dir->write_atomic(id, reservation_json(id, kRecordBytes));
      support::poll_until(std::min(support::PollClock::now() + 200ms, deadline), all_seen, 1ms);
    }
  }

 private:
  static std::string probe_prefix(std::size_t writer) {
    return "probe" + std::string(1, char('a' + writer)) + "-";
  }

  void on_line(std::size_t r, std::string_view line, std::int64_t read_ns) {
    std::optional<std::string_view> id = string_field(line, "id");
    if (!id) return;
    if (id->starts_with("probe")) {
      std::size_t writer = id->size() > 5 ? std::size_t((*id)[5] - 'a') : seen_.size();
      if (writer < seen_.size()) seen_[r][writer].fetch_add(1);
      return;
    }
    if (std::optional<std::string_view> type = string_field(line, "event_type");
        !type || *type != "added") {
      return;
    }
    if (long long index = index_of_id(*id, prefix_); index >= 0) {
      log_.mark_arrived(r, std::size_t(index), read_ns);
    }
  }

  LatencyLog& log_;
  std::string prefix_;
  std::vector<std::vector<std::atomic<std::size_t>>> seen_;  // [reader][writer]
  std::vector<CoordClient> clients_;
  std::vector<std::unique_ptr<LineReader>> readers_;
};

std::vector<std::int64_t> latencies_of(const LatencyLog& log, std::size_t receiver) {
  std::vector<std::int64_t> out;
  for (std::size_t m = 0; m < log.messages(); ++m) {
    std::int64_t at = log.arrival_ns(receiver, m);
    if (at != 0 && log.sent_ns(m) != 0) out.push_back(at - log.sent_ns(m));
  }
  return out;
}

json::object percentiles_json(const Percentiles& p, std::size_t expected) {
  return {{"p50_us", p.p50_us},
          {"p99_us", p.p99_us},
          {"max_us", p.max_us},
          {"received", p.count},
          {"missing", expected - std::min(expected, p.count)}};
}

// --- latency --------------------------------------------------------------

enum class Source { kCoordd, kJetStream, kCore };

std::string_view name_of(Source source) {
  switch (source) {
    case Source::kCoordd:
      return "coordd";
    case Source::kJetStream:
      return "jetstream_floor";
    case Source::kCore:
      return "core_nats_floor";
  }
  return "?";
}

struct LatencyPlan {
  std::size_t samples;
  double rate_hz;
};

// Per receiver (coordd: a = local, b, c = cross-host; floors: b, c).
struct LatencyRun {
  std::vector<Percentiles> receivers;
};

template <typename Send>
void send_at_rate(const LatencyPlan& plan, Send&& send) {
  auto period_ns = std::int64_t(1e9 / plan.rate_hz);
  std::int64_t start = mono_now_ns() + 20'000'000;
  for (std::size_t i = 0; i < plan.samples; ++i) {
    sleep_until_ns(start + std::int64_t(i) * period_ns);
    send(i);
  }
}

LatencyRun latency_coordd(Swarm& swarm, const LatencyPlan& plan, const std::string& prefix) {
  LatencyLog log(plan.samples, std::size_t(swarm.size()));
  Subscribers subscribers(swarm, log, prefix);
  subscribers.await_probe(swarm, 0, true);
  RecordDir& dir = *swarm.host(0).dir;
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < plan.samples; ++i) {
    ids.push_back(indexed_id(prefix, i));
    dir.stage(ids.back(), reservation_json(ids.back(), kRecordBytes));
  }
  send_at_rate(plan, [&](std::size_t i) { log.mark_sent(i, dir.publish(ids[i])); });
  wait_for_arrivals(log, 5'000'000'000);
  subscribers.stop();
  LatencyRun run;
  for (std::size_t r = 0; r < log.receivers(); ++r) {
    run.receivers.push_back(percentiles(latencies_of(log, r)));
  }
  return run;
}

LatencyRun latency_floor(Swarm& swarm, std::vector<std::unique_ptr<NatsPeer>>& peers,
                         bool jetstream, const LatencyPlan& plan, const std::string& tag) {
  LatencyLog log(plan.samples, peers.size() - 1);
  std::vector<NatsPeer*> receivers;
  for (std::size_t i = 1; i < peers.size(); ++i) receivers.push_back(peers[i].get());
  NatsProbe probe({peers[0].get()}, receivers, {jetstream, swarm.bucket(), tag}, log);
  send_at_rate(plan, [&](std::size_t i) { probe.send(0, i, kFloorBytes); });
  probe.await_acks();
  wait_for_arrivals(log, 5'000'000'000);
  LatencyRun run;
  for (std::size_t r = 0; r < log.receivers(); ++r) {
    run.receivers.push_back(percentiles(latencies_of(log, r)));
  }
  return run;
}

// --- ingest ---------------------------------------------------------------

// CPU (schedstat ns) of each thread of `pid`, by tid.
std::map<pid_t, std::int64_t> thread_cpu_ns(pid_t pid) {
  std::map<pid_t, std::int64_t> out;
  std::string task = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = ::opendir(task.c_str());
  if (dir == nullptr) return out;
  while (dirent* entry = ::readdir(dir)) {
    pid_t tid = std::atoi(entry->d_name);
    if (tid <= 0) continue;
    std::ifstream in(task + "/" + entry->d_name + "/schedstat");
    std::int64_t ns = 0;
    if (in >> ns) out[tid] = ns;
  }
  ::closedir(dir);
  return out;
}

struct IngestRun {
  std::size_t changes = 0;
  double converged_per_s = 0;  // every node read every change
  double writer_per_s = 0;
  double converged_ms = 0;
  std::vector<double> local_done_ms;        // node read its own changes
  std::vector<double> published_ms;         // node's publishes all acked (status polled)
  std::vector<double> remote_done_ms;       // node read every other host's change
  std::vector<Percentiles> remote_latency;  // rename -> read on another host, per reader
  std::size_t missing = 0;
  std::size_t lists_complete =
      0;               // nodes whose list after a cluster sync holds all M, right origin
  double sync_ms = 0;  // the slowest node's sync {"scope":"cluster"} after convergence
  std::vector<double> coordd_cpu_ms;
  std::vector<std::vector<double>>
      coordd_thread_cpu_ms;  // per node, threads by tid (reactor first)
  std::vector<double> nats_cpu_ms;
  std::vector<std::int64_t> published, publish_failures;
  double bench_cpu_ms = 0;
};

double ms_between(std::int64_t from, std::int64_t to) {
  return to > from ? double(to - from) / 1e6 : 0;
}

std::int64_t self_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

IngestRun ingest_coordd(const BenchConfig& config, std::size_t changes, std::size_t round) {
  Swarm swarm(config, 3, "swarm-ingest");
  const std::size_t n = std::size_t(swarm.size());
  const std::string prefix = "sw" + std::to_string(round) + "-";
  LatencyLog log(changes, n);
  Subscribers subscribers(swarm, log, prefix);
  for (std::size_t w = 0; w < n; ++w) subscribers.await_probe(swarm, w, false);
  for (int i = 0; i < swarm.size(); ++i) swarm.settle(i);

  std::vector<std::string> ids;
  for (std::size_t i = 0; i < changes; ++i) {
    ids.push_back(indexed_id(prefix, i));
    swarm.host(int(i % n)).dir->stage(ids.back(), reservation_json(ids.back(), kRecordBytes));
  }
  std::vector<pid_t> coordd_pids, nats_pids = swarm.nats_pids();
  for (std::size_t h = 0; h < n; ++h) coordd_pids.push_back(swarm.host(int(h)).coordd->pid());
  std::vector<ProcStats> before_coordd, before_nats;
  std::vector<std::map<pid_t, std::int64_t>> before_threads;
  for (pid_t pid : coordd_pids) {
    before_coordd.push_back(read_proc_stats(pid));
    before_threads.push_back(thread_cpu_ns(pid));
  }
  for (pid_t pid : nats_pids) before_nats.push_back(read_proc_stats(pid));
  std::int64_t bench_before = self_cpu_ns();
  std::vector<std::int64_t> published_before, own_changes(n, 0);
  for (std::size_t h = 0; h < n; ++h) {
    published_before.push_back(
        swarm.cluster_status(int(h)).at("published").to_number<std::int64_t>());
  }
  for (std::size_t i = 0; i < changes; ++i) ++own_changes[i % n];

  std::int64_t start = mono_now_ns();
  for (std::size_t i = 0; i < changes; ++i) {
    log.mark_sent(i, swarm.host(int(i % n)).dir->publish(ids[i]));
  }
  std::int64_t writer_done = mono_now_ns();

  // Wait for every arrival, noting when each node's publishes were all acked.
  IngestRun run;
  run.changes = changes;
  run.published_ms.assign(n, 0);
  std::size_t last = log.arrived();
  std::int64_t last_progress = mono_now_ns();
  for (;;) {
    bool publishing = false;
    for (std::size_t h = 0; h < n; ++h) {
      if (run.published_ms[h] > 0) continue;
      json::object cluster = swarm.cluster_status(int(h));
      std::int64_t published =
          cluster.at("published").to_number<std::int64_t>() - published_before[h];
      if (Swarm::settled(cluster) && published >= own_changes[h]) {
        run.published_ms[h] = ms_between(start, mono_now_ns());
      } else {
        publishing = true;
      }
    }
    if (log.complete() && !publishing) break;
    if (log.arrived() != last) {
      last = log.arrived();
      last_progress = mono_now_ns();
    } else if (mono_now_ns() - last_progress > kStallNs) {
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  std::int64_t bench_used = self_cpu_ns() - bench_before;
  for (std::size_t h = 0; h < n; ++h) {
    ProcStats used = read_proc_stats(coordd_pids[h]) - before_coordd[h];
    run.coordd_cpu_ms.push_back(double(used.cpu_ns) / 1e6);
    std::vector<double> threads;
    for (const auto& [tid, ns] : thread_cpu_ns(coordd_pids[h])) {
      auto was = before_threads[h].find(tid);
      threads.push_back(double(ns - (was == before_threads[h].end() ? 0 : was->second)) / 1e6);
    }
    run.coordd_thread_cpu_ms.push_back(std::move(threads));
  }
  for (std::size_t s = 0; s < nats_pids.size(); ++s) {
    ProcStats used = read_proc_stats(nats_pids[s]) - before_nats[s];
    run.nats_cpu_ms.push_back(double(used.cpu_ns) / 1e6);
  }
  run.bench_cpu_ms = double(bench_used) / 1e6;
  subscribers.stop();

  std::int64_t converged = 0;
  for (std::size_t r = 0; r < n; ++r) {
    std::int64_t local = 0, remote = 0;
    std::vector<std::int64_t> remote_latency;
    bool local_all = true, remote_all = true;
    for (std::size_t m = 0; m < changes; ++m) {
      std::int64_t at = log.arrival_ns(r, m);
      bool own = m % n == r;
      if (at == 0) {
        (own ? local_all : remote_all) = false;
        ++run.missing;
        continue;
      }
      (own ? local : remote) = std::max(own ? local : remote, at);
      if (!own) remote_latency.push_back(at - log.sent_ns(m));
    }
    run.local_done_ms.push_back(local_all ? ms_between(start, local) : 0);
    run.remote_done_ms.push_back(remote_all ? ms_between(start, remote) : 0);
    run.remote_latency.push_back(percentiles(std::move(remote_latency)));
    converged = std::max({converged, local, remote});
  }
  if (log.complete()) {
    run.converged_ms = ms_between(start, converged);
    run.converged_per_s = double(changes) / (run.converged_ms / 1e3);
  }
  run.writer_per_s = double(changes) / (double(writer_done - start) / 1e9);

  // What users rely on: after sync {"scope":"cluster"}, list holds it all.
  for (std::size_t h = 0; h < n; ++h) {
    CoordClient client = swarm.host(int(h)).coordd->connect();
    std::int64_t before_sync = mono_now_ns();
    call_or_throw(client, {{"op", "sync"}, {"scope", "cluster"}, {"timeout_ms", 30000}}, 35s);
    run.sync_ms = std::max(run.sync_ms, ms_between(before_sync, mono_now_ns()));
    json::object list = call_or_throw(client, {{"op", "list"}}, 60s);
    std::size_t right = 0;
    for (const json::value& record : list.at("records").as_array()) {
      const json::object& r = record.as_object();
      std::string_view id = r.at("id").as_string();
      long long index = index_of_id(id, prefix);
      if (index < 0) continue;
      std::string want(1, char('a' + std::size_t(index) % n));
      right += r.at("origin").as_string() == want;
    }
    run.lists_complete += right == changes;
    json::object cluster = swarm.cluster_status(int(h));
    run.published.push_back(cluster.at("published").to_number<std::int64_t>());
    run.publish_failures.push_back(cluster.at("publish_failures").to_number<std::int64_t>());
  }
  return run;
}

// The floor: the same changes published straight into the bucket, one
// connection (and thread) per server, read by an ordered consumer on each.
IngestRun ingest_floor(const BenchConfig& config, std::size_t changes, std::size_t round) {
  support::TempDir dir("swarm-ingest-floor-nats", config.scratch);
  support::NatsCluster nats(dir.path());
  std::vector<std::unique_ptr<NatsPeer>> senders, receivers;
  for (int i = 0; i < nats.size(); ++i) {
    senders.push_back(std::make_unique<NatsPeer>(nats.url(i), "bench sender " + nats.url(i)));
    receivers.push_back(std::make_unique<NatsPeer>(nats.url(i), "bench receiver " + nats.url(i)));
  }
  std::vector<NatsPeer*> from, to;
  for (auto& peer : senders) from.push_back(peer.get());
  for (auto& peer : receivers) to.push_back(peer.get());
  const std::size_t n = from.size();
  LatencyLog log(changes, n);
  NatsProbe probe(from, to, {true, records_bucket(kClusterName), "floor" + std::to_string(round)},
                  log);
  std::int64_t start = mono_now_ns();
  std::vector<std::thread> threads;
  for (std::size_t s = 0; s < n; ++s) {
    threads.emplace_back([&, s] {
      for (std::size_t i = s; i < changes; i += n) probe.send(s, i, kFloorBytes);
    });
  }
  for (auto& thread : threads) thread.join();
  std::int64_t writer_done = mono_now_ns();
  wait_for_arrivals(log, kStallNs);
  probe.await_acks();
  IngestRun run;
  run.changes = changes;
  run.missing = changes * n - log.arrived();
  if (log.complete()) {
    run.converged_ms = ms_between(start, log.last_arrival_ns());
    run.converged_per_s = double(changes) / (run.converged_ms / 1e3);
  }
  run.writer_per_s = double(changes) / (double(writer_done - start) / 1e9);
  run.published = {std::int64_t(probe.acks())};
  run.publish_failures = {std::int64_t(probe.ack_errors())};
  return run;
}

json::array numbers(const std::vector<double>& values) {
  json::array out;
  for (double v : values) out.push_back(v);
  return out;
}

json::object ingest_json(const IngestRun& run, bool coordd) {
  json::object out = {{"changes", run.changes},
                      {"converged_per_s", run.converged_per_s},
                      {"converged_ms", run.converged_ms},
                      {"writer_per_s", run.writer_per_s},
                      {"missing", run.missing}};
  json::array published, failures;
  for (std::int64_t v : run.published) published.push_back(v);
  for (std::int64_t v : run.publish_failures) failures.push_back(v);
  out["published"] = std::move(published);
  out["publish_failures"] = std::move(failures);
  if (!coordd) return out;
  out["local_done_ms"] = numbers(run.local_done_ms);
  out["published_ms"] = numbers(run.published_ms);
  out["remote_done_ms"] = numbers(run.remote_done_ms);
  json::array latency;
  for (const Percentiles& p : run.remote_latency) latency.push_back(percentiles_json(p, 0));
  out["remote_latency_by_reader"] = std::move(latency);
  out["lists_complete"] = run.lists_complete;
  out["sync_after_ms"] = run.sync_ms;
  out["coordd_cpu_ms"] = numbers(run.coordd_cpu_ms);
  json::array threads;
  for (const auto& each : run.coordd_thread_cpu_ms) threads.push_back(numbers(each));
  out["coordd_thread_cpu_ms_by_tid"] = std::move(threads);
  out["nats_server_cpu_ms"] = numbers(run.nats_cpu_ms);
  out["bench_cpu_ms"] = run.bench_cpu_ms;
  return out;
}

std::string join_ms(const std::vector<double>& values) {
  std::string out;
  for (double v : values) out += (out.empty() ? "" : "/") + format_number(v, 3);
  return out + " ms";
}

}  // namespace

BenchResult run_swarm(const BenchConfig& config) {
  BenchResult result;
  if (support::find_program("nats-server").empty()) {
    const std::string why = "nats-server missing (apt-get install nats-server)";
    result.figures["error"] = why;
    result.rows.push_back(
        unmeasured_row("swarm cross-host p50 a→b vs floor + 2×local", "-", why, "≤ 1×", {}));
    result.rows.push_back(
        unmeasured_row("swarm ingest changes/s converged", "-", why, "≥ 5000/s", {}));
    return result;
  }
  // --- latency -----------------------------------------------------------
  const std::size_t rounds = config.quick ? 1 : 3;
  const LatencyPlan plan{config.quick ? 50u : 500u, 200.0};
  std::map<Source, std::vector<LatencyRun>> runs;
  json::object swarm_facts;
  {
    progress(config, "swarm: 3 NATS servers, coordd a, b, c (host i on server i)");
    Swarm swarm(config, 3, "swarm-latency");
    std::vector<std::unique_ptr<NatsPeer>> peers;
    for (int i = 0; i < 2; ++i) {
      peers.push_back(
          std::make_unique<NatsPeer>(swarm.nats().url(i), "bench floor " + swarm.host(i).id));
    }
    // Keep host c's link out of the floor: a -> b, as coordd a -> b.
    auto sources = {Source::kCoordd, Source::kJetStream, Source::kCore};
    auto run_one = [&](Source source, const LatencyPlan& p, const std::string& tag) {
      switch (source) {
        case Source::kCoordd:
          return latency_coordd(swarm, p, tag + "-");
        case Source::kJetStream:
          return latency_floor(swarm, peers, true, p, tag);
        case Source::kCore:
          return latency_floor(swarm, peers, false, p, "benchcore." + tag);
      }
      return LatencyRun{};
    };
    if (!config.quick) {
      for (Source source : sources) {
        progress(config,
                 "swarm latency: " + std::string(name_of(source)) + ", warm-up (discarded)");
        run_one(source, {50, plan.rate_hz}, "warm" + std::string(name_of(source).substr(0, 2)));
      }
    }
    for (std::size_t round = 1; round <= rounds; ++round) {
      for (Source source : sources) {
        progress(config, "swarm latency: " + std::string(name_of(source)) + ", round " +
                             std::to_string(round) + "/" + std::to_string(rounds) + ": " +
                             std::to_string(plan.samples) + " samples at " +
                             format_number(plan.rate_hz) + "/s");
        std::string tag = "r" + std::to_string(round) + std::string(name_of(source).substr(0, 2));
        runs[source].push_back(run_one(source, plan, tag));
        std::string line = " ";
        const auto& receivers = runs[source].back().receivers;
        for (std::size_t r = 0; r < receivers.size(); ++r) {
          std::string who = source == Source::kCoordd
                                ? (r == 0 ? "a (local)" : std::string(1, char('a' + r)))
                                : "b";
          line += " " + who + ": p50 " + format_us(receivers[r].p50_us) + ", p99 " +
                  format_us(receivers[r].p99_us) + " (" + std::to_string(receivers[r].count) + ");";
        }
        progress(config, line);
      }
    }
    swarm_facts["bucket"] = swarm.bucket();
    swarm_facts["stream_leader"] = swarm.nats().stream_leader("KV_" + swarm.bucket());
    swarm_facts["servers_of_hosts"] = json::array{"n1", "n2", "n3"};
  }

  auto med = [&](Source source, std::size_t receiver, double Percentiles::*field) {
    return median_of(runs[source],
                     [&](const LatencyRun& run) { return run.receivers.at(receiver).*field; });
  };
  json::object latency;
  latency["samples_per_run"] = plan.samples;
  latency["rate_hz"] = plan.rate_hz;
  latency["record_bytes"] = kRecordBytes;
  latency["floor_message_bytes"] = kFloorBytes;
  latency["swarm"] = std::move(swarm_facts);
  for (Source source : {Source::kCoordd, Source::kJetStream, Source::kCore}) {
    json::array list;
    for (const LatencyRun& run : runs[source]) {
      json::object by;
      for (std::size_t r = 0; r < run.receivers.size(); ++r) {
        std::string who = source == Source::kCoordd ? std::string(1, char('a' + r))
                                                    : std::string(1, char('b' + r));
        by[who] = percentiles_json(run.receivers[r], plan.samples);
      }
      list.push_back(std::move(by));
    }
    latency[name_of(source)] = std::move(list);
  }
  // coordd: receiver 0 = a (local), 1 = b (cross-host). Floors: 0 = b.
  double local_p50 = med(Source::kCoordd, 0, &Percentiles::p50_us);
  double local_p99 = med(Source::kCoordd, 0, &Percentiles::p99_us);
  double cross_p50 = med(Source::kCoordd, 1, &Percentiles::p50_us);
  double cross_p99 = med(Source::kCoordd, 1, &Percentiles::p99_us);
  double cross_c_p50 = med(Source::kCoordd, 2, &Percentiles::p50_us);
  double js_p50 = med(Source::kJetStream, 0, &Percentiles::p50_us);
  double js_p99 = med(Source::kJetStream, 0, &Percentiles::p99_us);
  double core_p50 = med(Source::kCore, 0, &Percentiles::p50_us);
  double core_p99 = med(Source::kCore, 0, &Percentiles::p99_us);
  double budget = js_p50 + 2 * local_p50;
  latency["median"] = {{"local_p50_us", local_p50},          {"local_p99_us", local_p99},
                       {"cross_host_p50_us", cross_p50},     {"cross_host_p99_us", cross_p99},
                       {"cross_host_c_p50_us", cross_c_p50}, {"jetstream_floor_p50_us", js_p50},
                       {"jetstream_floor_p99_us", js_p99},   {"core_nats_floor_p50_us", core_p50},
                       {"core_nats_floor_p99_us", core_p99}, {"target_p50_us", budget}};
  result.figures["latency"] = std::move(latency);

  Row target{
      "swarm cross-host p50 a→b vs floor + 2×local",
      format_us(cross_p50),
      "JetStream " + format_us(js_p50) + " + 2×" + format_us(local_p50) + " = " + format_us(budget),
      format_ratio(cross_p50, budget),
      "≤ 1×",
      budget > 0 && cross_p50 <= budget,
      {}};
  target.numbers = {{"coordd_us", cross_p50},
                    {"floor_us", js_p50},
                    {"local_us", local_p50},
                    {"budget_us", budget},
                    {"ratio", budget > 0 ? cross_p50 / budget : 0.0}};
  result.rows.push_back(std::move(target));
  result.rows.push_back(ratio_row("swarm cross-host p50 vs JetStream floor", format_us(cross_p50),
                                  format_us(js_p50) + " (js publish→ordered consumer)", cross_p50,
                                  js_p50, "us"));
  result.rows.push_back(ratio_row("swarm cross-host p99 vs JetStream floor", format_us(cross_p99),
                                  format_us(js_p99), cross_p99, js_p99, "us"));
  result.rows.push_back(ratio_row("swarm cross-host p50 vs core NATS a→b", format_us(cross_p50),
                                  format_us(core_p50) + " (core pub/sub)", cross_p50, core_p50,
                                  "us"));
  Row local{"swarm local p50 (cluster on)",
            format_us(local_p50),
            "p99 " + format_us(local_p99),
            "-",
            "",
            {},
            {}};
  local.numbers = {{"coordd_us", local_p50}, {"p99_us", local_p99}};
  result.rows.push_back(std::move(local));

  // --- ingest ------------------------------------------------------------
  const std::size_t ingest_rounds = config.quick ? 1 : 3;
  const std::size_t changes = config.quick ? 1000 : 10000;
  std::vector<IngestRun> ours, floor;
  for (std::size_t round = 1; round <= ingest_rounds; ++round) {
    std::string of = std::to_string(round) + "/" + std::to_string(ingest_rounds);
    progress(config, "swarm ingest: coordd, round " + of + ": " + std::to_string(changes) +
                         " renames over 3 disks");
    ours.push_back(ingest_coordd(config, changes, round));
    const IngestRun& r = ours.back();
    progress(config, "  " + format_rate(r.converged_per_s) + " converged (" +
                         format_number(r.converged_ms) + " ms), local " + join_ms(r.local_done_ms) +
                         ", acked " + join_ms(r.published_ms) + ", remote " +
                         join_ms(r.remote_done_ms) + "; lists " + std::to_string(r.lists_complete) +
                         "/3, missing " + std::to_string(r.missing));
    progress(config, "swarm ingest: JetStream floor, round " + of);
    floor.push_back(ingest_floor(config, changes, round));
    progress(config, "  " + format_rate(floor.back().converged_per_s) + " converged (" +
                         format_number(floor.back().converged_ms) + " ms), missing " +
                         std::to_string(floor.back().missing));
  }
  json::object ingest;
  ingest["changes_per_run"] = changes;
  json::array our_runs, floor_runs;
  for (const IngestRun& run : ours) our_runs.push_back(ingest_json(run, true));
  for (const IngestRun& run : floor) floor_runs.push_back(ingest_json(run, false));
  ingest["coordd"] = std::move(our_runs);
  ingest["jetstream_floor"] = std::move(floor_runs);
  double rate = median_of(ours, &IngestRun::converged_per_s);
  double floor_rate = median_of(floor, &IngestRun::converged_per_s);
  ingest["median_converged_per_s"] = rate;
  ingest["median_floor_converged_per_s"] = floor_rate;
  result.figures["ingest"] = std::move(ingest);

  std::string name =
      "swarm ingest changes/s converged (" + std::to_string(changes / 1000) + "k over 3 nodes)";
  Row row = ratio_row(name, format_rate(rate), format_rate(floor_rate) + " (JetStream direct)",
                      rate, floor_rate, "per_s");
  row.target = "≥ 5000/s";
  row.met = rate >= 5000;
  result.rows.push_back(std::move(row));
  std::size_t complete = 0;
  for (const IngestRun& run : ours) complete += run.lists_complete;
  Row lists{"swarm ingest: lists after cluster sync = all changes",
            std::to_string(complete) + "/" + std::to_string(ours.size() * 3),
            "-",
            "-",
            "all",
            complete == ours.size() * 3,
            {}};
  lists.numbers = {{"complete", complete}, {"nodes", ours.size() * 3}};
  result.rows.push_back(std::move(lists));
  return result;
}

}  // namespace coordd::bench
