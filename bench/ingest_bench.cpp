// Ingest: a writer renaming records into place as fast as it can; events per
// second from the first rename to the last event read, and whether three
// subscribers that apply every event (recovering from lag as clients must)
// end up with exactly the disk's state after a sync. The judged peer is the
// floor, bench/peers/inotify_floor: inotify plus openat/read/close of every
// renamed file and nothing else, the least a watcher that reads the records
// can do (rate until its last close). inotifywait, the kernel's notification
// rate for the same renames (no reads), is shown beside it. Every round runs
// all three, one after another.
#include <atomic>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

#include "bench/benchmarks.hpp"
#include "bench/coordd_process.hpp"
#include "bench/floor_peer.hpp"
#include "bench/latency.hpp"
#include "bench/line_reader.hpp"
#include "bench/proc_stats.hpp"
#include "bench/records.hpp"
#include "bench/state_mirror.hpp"
#include "bench/stats.hpp"
#include "bench/watch_probe.hpp"
#include "tests/support/poll_until.hpp"

namespace coordd::bench {
namespace {

// A run ends when every arrival is in or none came for this long.
constexpr std::int64_t kStallNs = 10'000'000'000;

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::size_t kMirrors = 3;
constexpr std::size_t kRecordBytes = 300;
constexpr std::string_view kIdPrefix = "ing-";

struct Run {
  std::size_t events = 0;
  std::size_t received = 0;  // distinct (subscriber, id) "added" arrivals
  double events_per_s = 0;
  double writer_per_s = 0;
  double cpu_us_per_event = 0;  // coordd and the floor
  // the floor only:
  std::uint64_t open_failed = 0;
  bool overflowed = false;
  // coordd only:
  std::size_t converged = 0;  // subscribers whose state equals the disk
  std::size_t mismatched_records = 0;
  std::size_t lagged_markers = 0;
  std::size_t resyncs = 0;
  std::int64_t overflows = 0;
  std::int64_t rescans = 0;
};

std::vector<std::string> stage_records(RecordDir& dir, std::size_t count) {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < count; ++i) {
    ids.push_back(indexed_id(kIdPrefix, i));
    dir.stage(ids.back(), reservation_json(ids.back(), kRecordBytes));
  }
  return ids;
}

// Renames every staged record as fast as possible; returns the writer's time.
std::int64_t rename_all(RecordDir& dir, const std::vector<std::string>& ids, LatencyLog& log) {
  std::int64_t start = mono_now_ns();
  for (std::size_t i = 0; i < ids.size(); ++i) log.mark_sent(i, dir.publish(ids[i]));
  return mono_now_ns() - start;
}

void fill_rates(Run& run, const LatencyLog& log, std::int64_t writer_ns) {
  run.events = log.messages();
  run.received = log.arrived();
  std::int64_t span = log.last_arrival_ns() - log.first_sent_ns();
  run.events_per_s = log.complete() && span > 0 ? double(run.events) / (double(span) / 1e9) : 0;
  run.writer_per_s = writer_ns > 0 ? double(run.events) / (double(writer_ns) / 1e9) : 0;
}

std::size_t mismatches(const std::map<std::string, json::value>& mirror,
                       const std::map<std::string, json::value>& disk) {
  std::size_t wrong = 0;
  for (const auto& [key, value] : disk) {
    auto it = mirror.find(key);
    wrong += it == mirror.end() || it->second != value;
  }
  for (const auto& [key, value] : mirror) wrong += !disk.contains(key);
  return wrong;
}

Run run_coordd(const BenchConfig& config, std::size_t count) {
  Workspace workspace(workspace_in(config, "ingest"));
  RecordDir dir(workspace.kind_dir("reservations"));
  std::vector<std::string> ids = stage_records(dir, count);
  CoorddProcess coordd(config.coordd, workspace);
  CoordClient control = coordd.connect();
  json::object hello = call_or_throw(control, {{"op", "hello"}, {"proto", 1}});
  std::string epoch(hello.at("epoch").as_string());

  LatencyLog log(count, kMirrors);
  std::vector<std::unique_ptr<StateMirror>> mirrors;
  for (std::size_t i = 0; i < kMirrors; ++i) {
    mirrors.push_back(
        std::make_unique<StateMirror>(coordd, epoch, &log, i, std::string(kIdPrefix)));
  }
  ProcStats before = read_proc_stats(coordd.pid());
  std::int64_t writer_ns = rename_all(dir, ids, log);
  wait_for_arrivals(log, kStallNs);
  ProcStats used = read_proc_stats(coordd.pid()) - before;
  Run run;
  fill_rates(run, log, writer_ns);
  run.cpu_us_per_event = double(used.cpu_ns) / 1e3 / double(count);

  // Convergence also covers changes and removals (not timed): rewrite one
  // record in twenty, delete as many, then sync every subscriber.
  std::size_t changed = count / 20;
  for (std::size_t i = 0; i < changed; ++i) {
    dir.write_atomic(ids[i], reservation_json(ids[i], kRecordBytes + 10));
    dir.remove(ids[changed + i]);
  }
  for (auto& mirror : mirrors) mirror->request_sync();
  auto deadline = support::PollClock::now() + std::chrono::seconds(60);
  for (auto& mirror : mirrors) {
    support::poll_until(
        deadline, [&] { return mirror->synced(); }, 2ms);
  }
  json::object status = call_or_throw(control, {{"op", "status"}});
  run.overflows = status.at("overflows").to_number<std::int64_t>();
  run.rescans = status.at("rescans").to_number<std::int64_t>();
  std::map<std::string, json::value> disk = read_disk_state(workspace.repo().string());
  for (auto& mirror : mirrors) {
    bool synced = mirror->synced();
    mirror->stop();
    std::size_t wrong = mismatches(mirror->state(), disk);
    run.converged += synced && wrong == 0;
    run.mismatched_records += wrong;
    run.lagged_markers += mirror->lagged_markers();
    run.resyncs += mirror->resyncs();
  }
  return run;
}

Run run_inotifywait(const BenchConfig& config, std::size_t count) {
  Workspace workspace(workspace_in(config, "ingest-inotifywait"));
  RecordDir dir(workspace.kind_dir("reservations"));
  std::vector<std::string> ids = stage_records(dir, count);
  support::ChildOptions options =
      child_options(workspace.scratch("inotifywait.log").string(), true);
  ChildProcess child({config.inotifywait, "-m", "-q", "-e", "moved_to", "--format", "%f",
                      workspace.kind_dir("reservations").string()},
                     options);
  LatencyLog log(count, 1);
  std::atomic<std::size_t> probes_seen{0};
  LineReader reader(child.stdout_fd(), [&](std::string_view line, std::int64_t read_ns) {
    if (!line.ends_with(".json")) return;
    std::string_view id = line.substr(0, line.size() - 5);
    if (id.starts_with(kProbePrefix)) probes_seen++;
    long long index = index_of_id(id, kIdPrefix);
    if (index >= 0) log.mark_arrived(0, std::size_t(index), read_ns);
  });
  wait_until_watching(dir, probes_seen, 100'000'000, &child);
  std::int64_t writer_ns = rename_all(dir, ids, log);
  wait_for_arrivals(log, kStallNs);
  reader.stop();
  Run run;
  fill_rates(run, log, writer_ns);
  return run;
}

Run run_floor(const BenchConfig& config, std::size_t count) {
  Workspace workspace(workspace_in(config, "ingest-floor"));
  RecordDir dir(workspace.kind_dir("reservations"));
  std::vector<std::string> ids = stage_records(dir, count);
  FloorPeer floor(config.floor, workspace.kind_dir("reservations"), count,
                  workspace.scratch("inotify_floor.log").string());
  LatencyLog sends(count, 1);
  std::int64_t writer_ns = rename_all(dir, ids, sends);
  std::optional<FloorPeer::Tally> tally = floor.finish(std::chrono::seconds(60));
  if (!tally) throw std::runtime_error("inotify_floor did not read every change within 60 s");
  Run run;
  run.events = count;
  run.received = tally->overflowed ? tally->changes : tally->read_ok;
  run.open_failed = tally->open_failed;
  run.overflowed = tally->overflowed;
  std::int64_t span = tally->last_read_ns - sends.first_sent_ns();
  run.events_per_s = !tally->overflowed && span > 0 ? double(count) / (double(span) / 1e9) : 0;
  run.writer_per_s = writer_ns > 0 ? double(count) / (double(writer_ns) / 1e9) : 0;
  run.cpu_us_per_event = double(tally->cpu_ns) / 1e3 / double(count);
  return run;
}

enum class Peer { kCoordd, kInotifywait, kFloor };

json::object runs_json(const std::vector<Run>& runs, Peer peer) {
  json::array list;
  for (const Run& run : runs) {
    json::object entry = {{"events", run.events},
                          {"received", run.received},
                          {"events_per_s", run.events_per_s},
                          {"writer_renames_per_s", run.writer_per_s}};
    if (peer == Peer::kFloor) {
      entry["cpu_us_per_event"] = run.cpu_us_per_event;
      entry["open_failed"] = run.open_failed;
      entry["overflowed"] = run.overflowed;
    }
    if (peer == Peer::kCoordd) {
      entry["cpu_us_per_event"] = run.cpu_us_per_event;
      entry["subscribers_converged"] = run.converged;
      entry["mismatched_records"] = run.mismatched_records;
      entry["lagged_markers"] = run.lagged_markers;
      entry["resyncs"] = run.resyncs;
      entry["inotify_overflows"] = run.overflows;
      entry["rescans"] = run.rescans;
    }
    list.push_back(std::move(entry));
  }
  return {{"runs", std::move(list)},
          {"median_events_per_s", median_of(runs, &Run::events_per_s)},
          {"median_cpu_us_per_event", median_of(runs, &Run::cpu_us_per_event)}};
}

}  // namespace

BenchResult run_ingest(const BenchConfig& config) {
  const std::size_t rounds = config.quick ? 1 : 5;
  const std::size_t count = config.quick ? 2000 : 20000;
  std::vector<Run> ours, floors, inotifywaits;
  for (std::size_t round = 1; round <= rounds; ++round) {
    std::string of = std::to_string(round) + "/" + std::to_string(rounds);
    progress(config, "ingest: coordd, round " + of + ": " + std::to_string(count) + " renames, " +
                         std::to_string(kMirrors) + " subscribers");
    ours.push_back(run_coordd(config, count));
    const Run& r = ours.back();
    progress(config, "  " + format_rate(r.events_per_s) + " events, " +
                         std::to_string(r.converged) + "/" + std::to_string(kMirrors) +
                         " converged, " + std::to_string(r.lagged_markers) + " lagged, " +
                         std::to_string(r.overflows) + " overflows");
    if (!config.floor.empty()) {
      progress(config, "ingest: inotify_floor, round " + of);
      floors.push_back(run_floor(config, count));
      progress(config, "  " + format_rate(floors.back().events_per_s) + " events, read " +
                           std::to_string(floors.back().received) +
                           (floors.back().overflowed ? ", inotify queue OVERFLOWED" : ""));
    }
    if (!config.inotifywait.empty()) {
      progress(config, "ingest: inotifywait, round " + of);
      inotifywaits.push_back(run_inotifywait(config, count));
      progress(config, "  " + format_rate(inotifywaits.back().events_per_s) + " events, received " +
                           std::to_string(inotifywaits.back().received));
    }
  }
  BenchResult result;
  result.figures["renames_per_run"] = count;
  result.figures["subscribers"] = kMirrors;
  result.figures["rounds"] = rounds;
  result.figures["coordd"] = runs_json(ours, Peer::kCoordd);
  double rate = median_of(ours, &Run::events_per_s);
  double cpu = median_of(ours, &Run::cpu_us_per_event);
  std::string k = std::to_string(count / 1000) + "k renames";

  std::string floor_name = "ingest events/s vs floor (" + k + ")";
  if (floors.empty()) {
    result.rows.push_back(unmeasured_row(floor_name, format_rate(rate),
                                         "inotify_floor missing (ninja bench/inotify_floor)",
                                         "≥ 0.8×", {}));
  } else {
    result.figures["inotify_floor"] = runs_json(floors, Peer::kFloor);
    double peer = median_of(floors, &Run::events_per_s);
    // On a small machine the floor can keep up with the writer: its rate is
    // then the writer's, and the floor could go faster than it shows.
    double writer = median_of(floors, &Run::writer_per_s);
    bool writer_bound = peer >= 0.95 * writer;
    Row row = ratio_row(
        floor_name, format_rate(rate),
        format_rate(peer) + " (inotify_floor" + (writer_bound ? ", as fast as the writer)" : ")"),
        rate, peer, "per_s");
    row.target = "≥ 0.8×";
    row.met = peer > 0 && rate >= 0.8 * peer;
    row.numbers["peer_writer_per_s"] = writer;
    row.numbers["peer_writer_bound"] = writer_bound;
    result.rows.push_back(std::move(row));
    // Where the gap is: coordd's CPU per event against the floor's own.
    double peer_cpu = median_of(floors, &Run::cpu_us_per_event);
    result.rows.push_back(ratio_row("ingest CPU per event vs floor", format_us(cpu),
                                    format_us(peer_cpu) + " (inotify_floor)", cpu, peer_cpu,
                                    "cpu_us"));
  }
  std::string inotifywait_name = "ingest events/s vs inotifywait (" + k + ")";
  if (inotifywaits.empty()) {
    result.rows.push_back(
        unmeasured_row(inotifywait_name, format_rate(rate), "inotifywait missing", "", {}));
  } else {
    result.figures["inotifywait"] = runs_json(inotifywaits, Peer::kInotifywait);
    double peer = median_of(inotifywaits, &Run::events_per_s);
    result.rows.push_back(ratio_row(inotifywait_name, format_rate(rate),
                                    format_rate(peer) + " (inotifywait)", rate, peer, "per_s"));
  }
  std::size_t converged = 0;
  for (const Run& run : ours) converged += run.converged;
  std::size_t expected = ours.size() * kMirrors;
  Row convergence{"ingest convergence (subscribers = disk)",
                  std::to_string(converged) + "/" + std::to_string(expected),
                  "-",
                  "-",
                  "all",
                  converged == expected,
                  {}};
  convergence.numbers = {{"converged", converged}, {"subscribers", expected}};
  result.rows.push_back(std::move(convergence));
  return result;
}

}  // namespace coordd::bench
