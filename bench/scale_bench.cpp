// Scale: coordd's resident memory and start-to-ready time (fork+exec to
// READY=1) with 1k, 10k, 100k and 1M records of ~300 B on disk (--quick: 1k
// and 10k), against the raw bytes of those records, and against
// seed_watch.py's start-up (exec until it has printed its snapshot of every
// record and exited, --max-events N) up to 100k, the size it is the peer at,
// and against the scan floor at every size (inotify_floor --scan: exec,
// readdir, openat + read + close of each record, exit; nothing parsed or
// kept), the least any start-to-ready of those files costs on this machine.
// Per-record costs at each size, and how they grew from the second-largest
// size to the largest, show the cost curve. The records stay in the page
// cache between runs (on tmpfs under bench/run.sh): this is a warm start.
#include <memory>
#include <optional>
#include <stdexcept>

#include "bench/benchmarks.hpp"
#include "bench/child_options.hpp"
#include "bench/coordd_process.hpp"
#include "bench/floor_peer.hpp"
#include "bench/latency.hpp"
#include "bench/proc_stats.hpp"
#include "bench/records.hpp"
#include "bench/stats.hpp"

namespace coordd::bench {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::size_t kRecordBytes = 300;
constexpr double kMiB = 1024.0 * 1024.0;
// seed_watch.py re-reads every file in Python: at 100k it takes seconds, at
// 1M most of a minute and gigabytes, per start; it is the peer up to here.
constexpr std::size_t kSeedWatchMaxRecords = 100000;

// The targets, judged at 100k and 1M records.
struct Target {
  std::size_t records;
  double ready_ms;  // start to READY=1
};
constexpr Target kTargets[] = {{100000, 400}, {1000000, 4000}};
constexpr double kRssRawFactor = 1.5;  // RSS ≤ 1.5 × raw + 16 MiB
constexpr double kRssSlackBytes = 16 * kMiB;
// Ready time per record at the largest size within 1.2× of the size below.
constexpr double kReadyPerRecordGrowth = 1.2;

const Target* target_at(std::size_t records) {
  for (const Target& t : kTargets) {
    if (t.records == records) return &t;
  }
  return nullptr;
}

struct CoorddStart {
  double ready_ms = 0;
  double rss_bytes = 0;
};

struct SeedWatchStart {
  double snapshot_ms = 0;
  double max_rss_bytes = 0;
};

struct Point {
  std::size_t records = 0;
  double raw_bytes = 0;
  double write_s = 0;  // writing the records this point added (setup)
  std::vector<CoorddStart> starts;
  std::vector<SeedWatchStart> peer_starts;
  std::string peer_missing;            // why peer_starts is empty
  std::vector<ScanFloor> floor_scans;  // empty when there is no floor binary
  double ready_ms = 0;                 // medians
  double rss_bytes = 0;

  double peer_ready_ms() const { return median_of(peer_starts, &SeedWatchStart::snapshot_ms); }
  double floor_ms() const { return median_of(floor_scans, &ScanFloor::ms); }
  double floor_us_per_record() const { return floor_ms() * 1e3 / double(records); }
  double ready_us_per_record() const { return ready_ms * 1e3 / double(records); }
  double peer_us_per_record() const { return peer_ready_ms() * 1e3 / double(records); }
  double rss_per_record() const { return rss_bytes / double(records); }
  double rss_bound() const { return kRssRawFactor * raw_bytes + kRssSlackBytes; }
  std::string name() const {
    return records >= 1000000 ? std::to_string(records / 1000000) + "M"
                              : std::to_string(records / 1000) + "k";
  }
};

CoorddStart start_coordd(const BenchConfig& config, const Workspace& workspace,
                         std::size_t records) {
  CoorddProcess coordd(config.coordd, workspace);
  CoorddStart out;
  out.ready_ms = double(coordd.start_to_ready_ns()) / 1e6;
  out.rss_bytes = double(read_proc_stats(coordd.pid()).rss_bytes);
  CoordClient client = coordd.connect();
  json::object status = call_or_throw(client, {{"op", "status"}});
  auto seen = std::size_t(status.at("records_total").to_number<std::int64_t>());
  if (seen != records) {
    throw std::runtime_error("coordd holds " + std::to_string(seen) + " records of " +
                             std::to_string(records));
  }
  return out;
}

SeedWatchStart start_seed_watch(const BenchConfig& config, const Workspace& workspace,
                                std::size_t records) {
  ChildProcess child({config.python, config.seed_watch, workspace.repo().string(), "--max-events",
                      std::to_string(records)},
                     child_options(""));
  std::optional<ExitStatus> exit = child.wait(600s);
  if (!exit || exit->shell_code() != 0)
    throw std::runtime_error("seed_watch.py did not finish its snapshot");
  return {std::chrono::duration<double, std::milli>(exit->reaped_at - child.started_at()).count(),
          double(exit->max_rss_kib) * 1024};
}

ScanFloor start_scan_floor(const BenchConfig& config, const std::filesystem::path& dir,
                           std::size_t records) {
  ScanFloor scan = scan_floor(config.floor, dir, 600s);
  if (scan.files != records) {
    throw std::runtime_error("inotify_floor --scan read " + std::to_string(scan.files) +
                             " files of " + std::to_string(records));
  }
  return scan;
}

json::object point_json(const Point& p) {
  json::array starts;
  for (const CoorddStart& s : p.starts) {
    starts.push_back({{"ready_ms", s.ready_ms},
                      {"rss_bytes", s.rss_bytes},
                      {"ready_us_per_record", s.ready_ms * 1e3 / double(p.records)},
                      {"rss_bytes_per_record", s.rss_bytes / double(p.records)}});
  }
  json::object out = {{"records", p.records},
                      {"raw_bytes", p.raw_bytes},
                      {"raw_bytes_per_record", p.raw_bytes / double(p.records)},
                      {"setup_write_s", p.write_s},
                      {"coordd_runs", std::move(starts)},
                      {"coordd_ready_ms", p.ready_ms},
                      {"coordd_ready_us_per_record", p.ready_us_per_record()},
                      {"coordd_rss_bytes", p.rss_bytes},
                      {"coordd_rss_bytes_per_record", p.rss_per_record()},
                      {"rss_over_raw", p.rss_bytes / p.raw_bytes},
                      {"rss_target_bytes", p.rss_bound()}};
  if (const Target* t = target_at(p.records)) out["ready_target_ms"] = t->ready_ms;
  if (!p.peer_starts.empty()) {
    json::array peer;
    for (const SeedWatchStart& s : p.peer_starts) {
      peer.push_back({{"snapshot_ms", s.snapshot_ms}, {"max_rss_bytes", s.max_rss_bytes}});
    }
    out["seed_watch_runs"] = std::move(peer);
    out["seed_watch_snapshot_ms"] = p.peer_ready_ms();
    out["seed_watch_us_per_record"] = p.peer_us_per_record();
    out["seed_watch_max_rss_bytes"] = median_of(p.peer_starts, &SeedWatchStart::max_rss_bytes);
  }
  if (!p.floor_scans.empty()) {
    json::array floor;
    for (const ScanFloor& s : p.floor_scans) floor.push_back(s.ms);
    out["floor_scan_runs_ms"] = std::move(floor);
    out["floor_scan_ms"] = p.floor_ms();
    out["floor_scan_us_per_record"] = p.floor_us_per_record();
  }
  return out;
}

void add_rows(const Point& p, std::vector<Row>& rows) {
  std::string k = "scale " + p.name() + ": ";
  const Target* target = target_at(p.records);
  Row rss{k + "RSS vs raw bytes",
          format_bytes(p.rss_bytes),
          format_bytes(p.raw_bytes) + " (raw)",
          format_ratio(p.rss_bytes, p.raw_bytes),
          target ? "≤ 1.5×raw+16MiB (" + format_bytes(p.rss_bound()) + ")" : "",
          target ? std::optional<bool>(p.rss_bytes <= p.rss_bound()) : std::nullopt,
          {}};
  rss.numbers = {{"coordd_rss_bytes", p.rss_bytes},
                 {"raw_bytes", p.raw_bytes},
                 {"ratio", p.rss_bytes / p.raw_bytes},
                 {"bound_bytes", p.rss_bound()}};
  rows.push_back(std::move(rss));
  Row per_record{k + "RSS per record",
                 format_bytes(p.rss_per_record()),
                 format_bytes(p.raw_bytes / double(p.records)) + " (raw)",
                 format_ratio(p.rss_bytes, p.raw_bytes),
                 "",
                 std::nullopt,
                 {}};
  per_record.numbers = {{"coordd_rss_bytes_per_record", p.rss_per_record()},
                        {"raw_bytes_per_record", p.raw_bytes / double(p.records)}};
  rows.push_back(std::move(per_record));

  bool peer = !p.peer_starts.empty();
  std::string not_run = "- (" + p.peer_missing + ")";
  Row ready{k + "start-to-ready",
            format_us(p.ready_ms * 1e3),
            peer ? format_us(p.peer_ready_ms() * 1e3) + " (seed_watch)" : not_run,
            peer ? format_ratio(p.peer_ready_ms(), p.ready_ms) + " faster" : "-",
            target ? "≤ " + format_us(target->ready_ms * 1e3) : "",
            target ? std::optional<bool>(p.ready_ms <= target->ready_ms) : std::nullopt,
            {}};
  ready.numbers = {{"coordd_ready_ms", p.ready_ms}};
  if (target) ready.numbers["bound_ms"] = target->ready_ms;
  if (peer) ready.numbers["peer_ready_ms"] = p.peer_ready_ms();
  rows.push_back(std::move(ready));
  Row ready_per_record{
      k + "ready per record",
      format_us(p.ready_us_per_record()),
      peer ? format_us(p.peer_us_per_record()) + " (seed_watch)" : "-",
      peer ? format_ratio(p.peer_us_per_record(), p.ready_us_per_record()) + " faster" : "-",
      "",
      std::nullopt,
      {}};
  ready_per_record.numbers = {{"coordd_us_per_record", p.ready_us_per_record()}};
  if (peer) ready_per_record.numbers["peer_us_per_record"] = p.peer_us_per_record();
  rows.push_back(std::move(ready_per_record));
  if (p.floor_scans.empty()) return;
  // The floor only lists and reads: when it alone takes longer than the
  // target, no start-to-ready can meet it on this machine.
  Row floor{k + "start-to-ready vs scan floor",
            format_us(p.ready_ms * 1e3),
            format_us(p.floor_ms() * 1e3) + " (floor)",
            format_ratio(p.ready_ms, p.floor_ms()),
            target ? (p.floor_ms() > target->ready_ms ? "floor over " : "floor within ") +
                         format_us(target->ready_ms * 1e3)
                   : "",
            std::nullopt,
            {}};
  floor.numbers = {{"coordd_ready_ms", p.ready_ms},
                   {"floor_ms", p.floor_ms()},
                   {"ratio", p.ready_ms / p.floor_ms()}};
  rows.push_back(std::move(floor));
}

// How the per-record costs grew from `small` to `large` (1×: linear). The
// ready row is judged when the pair is 1M vs 100k; its peer column names
// seed_watch.py's per-record cost at the smaller size, the reference.
void add_growth_rows(const Point& small, const Point& large, std::vector<Row>& rows) {
  std::string pair = large.name() + " vs " + small.name();
  bool judged = large.records == 1000000 && small.records == 100000;
  double growth = large.ready_us_per_record() / small.ready_us_per_record();
  Row ready{"scale ready per record, " + pair,
            format_us(small.ready_us_per_record()) + " → " + format_us(large.ready_us_per_record()),
            small.peer_starts.empty()
                ? "-"
                : "seed_watch " + small.name() + ": " + format_us(small.peer_us_per_record()),
            format_ratio(large.ready_us_per_record(), small.ready_us_per_record()),
            judged ? "≤ 1.2×" : "",
            judged ? std::optional<bool>(growth <= kReadyPerRecordGrowth) : std::nullopt,
            {}};
  ready.numbers = {{"small_records", small.records},
                   {"large_records", large.records},
                   {"small_us_per_record", small.ready_us_per_record()},
                   {"large_us_per_record", large.ready_us_per_record()},
                   {"ratio", growth}};
  if (!small.peer_starts.empty()) ready.numbers["peer_us_per_record"] = small.peer_us_per_record();
  if (judged) ready.numbers["bound_ratio"] = kReadyPerRecordGrowth;
  rows.push_back(std::move(ready));
  if (!small.floor_scans.empty() && !large.floor_scans.empty()) {
    double floor_growth = large.floor_us_per_record() / small.floor_us_per_record();
    Row floor{
        "scale floor per record, " + pair,
        format_us(small.floor_us_per_record()) + " → " + format_us(large.floor_us_per_record()),
        "coordd grew " + format_ratio(growth, 1.0),
        format_ratio(large.floor_us_per_record(), small.floor_us_per_record()),
        "",
        std::nullopt,
        {}};
    floor.numbers = {{"small_floor_us_per_record", small.floor_us_per_record()},
                     {"large_floor_us_per_record", large.floor_us_per_record()},
                     {"ratio", floor_growth}};
    rows.push_back(std::move(floor));
  }
  double marginal = (large.rss_bytes - small.rss_bytes) / double(large.records - small.records);
  Row rss{"scale RSS per record, " + pair,
          format_bytes(small.rss_per_record()) + " → " + format_bytes(large.rss_per_record()),
          "marginal " + format_bytes(marginal) + " per record added",
          format_ratio(large.rss_per_record(), small.rss_per_record()),
          "",
          std::nullopt,
          {}};
  rss.numbers = {{"small_rss_bytes_per_record", small.rss_per_record()},
                 {"large_rss_bytes_per_record", large.rss_per_record()},
                 {"marginal_rss_bytes_per_record", marginal},
                 {"ratio", large.rss_per_record() / small.rss_per_record()}};
  rows.push_back(std::move(rss));
}

}  // namespace

BenchResult run_scale(const BenchConfig& config) {
  const std::vector<std::size_t> sizes =
      config.quick ? std::vector<std::size_t>{1000, 10000}
                   : std::vector<std::size_t>{1000, 10000, 100000, 1000000};
  // Starts per point, coordd, seed_watch.py and the scan floor alternating.
  // Measured on the 2-core VM, quiet, tmpfs (2026-12-03): each 1M start
  // 10-12 s and each 1M floor scan 3-4 s, so the 1M point's 5 rounds take
  // about 75 s; seed_watch.py's 5 snapshots at 100k about 20 s; the whole
  // full scale run about 2.5 min (with writing and removing the records).
  const std::size_t runs = config.quick ? 1 : 5;
  Workspace workspace(workspace_in(config, "scale"));
  const std::filesystem::path records_dir = workspace.kind_dir("reservations");
  RecordDir dir(records_dir);
  std::vector<Point> points;
  std::size_t written = 0;
  double raw = 0;
  for (std::size_t size : sizes) {
    progress(config, "scale: " + std::to_string(size) + " records");
    Point point;
    point.records = size;
    std::int64_t write_start = mono_now_ns();
    for (; written < size; ++written) {
      std::string id = indexed_id("scale-", written);
      std::string content = reservation_json(id, kRecordBytes);
      dir.write_direct(id, content);
      raw += double(content.size());
    }
    point.write_s = double(mono_now_ns() - write_start) / 1e9;
    point.raw_bytes = raw;
    bool peer = !config.seed_watch.empty() && size <= kSeedWatchMaxRecords;
    if (!peer) {
      point.peer_missing =
          config.seed_watch.empty()
              ? "seed_watch.py not found"
              : "seed_watch not run above " + std::to_string(kSeedWatchMaxRecords / 1000) + "k";
    }
    for (std::size_t r = 0; r < runs; ++r) {
      point.starts.push_back(start_coordd(config, workspace, size));
      if (peer) point.peer_starts.push_back(start_seed_watch(config, workspace, size));
      if (!config.floor.empty())
        point.floor_scans.push_back(start_scan_floor(config, records_dir, size));
    }
    point.ready_ms = median_of(point.starts, &CoorddStart::ready_ms);
    point.rss_bytes = median_of(point.starts, &CoorddStart::rss_bytes);
    progress(
        config,
        "  coordd ready " + format_us(point.ready_ms * 1e3) + " (" +
            format_us(point.ready_us_per_record()) + "/record), RSS " +
            format_bytes(point.rss_bytes) + " (raw " + format_bytes(raw) + ")" +
            (peer ? ", seed_watch snapshot " + format_us(point.peer_ready_ms() * 1e3) : "") +
            (point.floor_scans.empty() ? "" : ", scan floor " + format_us(point.floor_ms() * 1e3)));
    points.push_back(std::move(point));
  }

  BenchResult result;
  json::array list;
  for (const Point& p : points) list.push_back(point_json(p));
  result.figures["points"] = std::move(list);
  result.figures["runs_per_point"] = runs;
  result.figures["seed_watch_max_records"] = kSeedWatchMaxRecords;
  for (const Point& p : points) add_rows(p, result.rows);
  if (points.size() >= 2) add_growth_rows(points[points.size() - 2], points.back(), result.rows);
  return result;
}

}  // namespace coordd::bench
