// Scale: coordd's resident memory and start-to-ready time (fork+exec to
// READY=1) with 1k, 10k and 100k records of ~300 B on disk, against the raw
// bytes of those records, and against seed_watch.py's start-up (exec until
// it has printed its snapshot of every record and exited, --max-events N).
// The records stay in the page cache between runs: this is a warm start.
#include <memory>
#include <stdexcept>

#include "bench/benchmarks.hpp"
#include "bench/child_options.hpp"
#include "bench/coordd_process.hpp"
#include "bench/proc_stats.hpp"
#include "bench/records.hpp"
#include "bench/stats.hpp"

namespace coordd::bench {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::size_t kRecordBytes = 300;
constexpr double kMiB = 1024.0 * 1024.0;

struct CoorddStart {
  double ready_ms = 0;
  double rss_bytes = 0;
};

struct Point {
  std::size_t records = 0;
  double raw_bytes = 0;
  std::vector<CoorddStart> starts;
  double ready_ms = 0;  // medians
  double rss_bytes = 0;
  std::optional<double> peer_ready_ms;
  std::optional<double> peer_max_rss_bytes;
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

void measure_seed_watch(const BenchConfig& config, const Workspace& workspace, Point& point) {
  ChildProcess child({config.python, config.seed_watch, workspace.repo().string(), "--max-events",
                      std::to_string(point.records)},
                     child_options(""));
  std::optional<ExitStatus> exit = child.wait(600s);
  if (!exit || exit->shell_code() != 0)
    throw std::runtime_error("seed_watch.py did not finish its snapshot");
  point.peer_ready_ms =
      std::chrono::duration<double, std::milli>(exit->reaped_at - child.started_at()).count();
  point.peer_max_rss_bytes = double(exit->max_rss_kib) * 1024;
}

json::object point_json(const Point& p) {
  json::array starts;
  for (const CoorddStart& s : p.starts) {
    starts.push_back({{"ready_ms", s.ready_ms}, {"rss_bytes", s.rss_bytes}});
  }
  json::object out = {{"records", p.records},
                      {"raw_bytes", p.raw_bytes},
                      {"raw_bytes_per_record", p.raw_bytes / double(p.records)},
                      {"coordd_runs", std::move(starts)},
                      {"coordd_ready_ms", p.ready_ms},
                      {"coordd_rss_bytes", p.rss_bytes},
                      {"coordd_rss_bytes_per_record", p.rss_bytes / double(p.records)},
                      {"rss_over_raw", p.rss_bytes / p.raw_bytes},
                      {"rss_target_bytes", 2 * p.raw_bytes + 16 * kMiB}};
  if (p.peer_ready_ms) {
    out["seed_watch_snapshot_ms"] = *p.peer_ready_ms;
    out["seed_watch_max_rss_bytes"] = *p.peer_max_rss_bytes;
  }
  return out;
}

}  // namespace

BenchResult run_scale(const BenchConfig& config) {
  const std::vector<std::size_t> sizes = config.quick
                                             ? std::vector<std::size_t>{1000, 10000}
                                             : std::vector<std::size_t>{1000, 10000, 100000};
  const std::size_t runs = config.quick ? 1 : 3;
  Workspace workspace(workspace_in(config, "scale"));
  RecordDir dir(workspace.kind_dir("reservations"));
  std::vector<Point> points;
  std::size_t written = 0;
  double raw = 0;
  for (std::size_t size : sizes) {
    progress(config, "scale: " + std::to_string(size) + " records");
    for (; written < size; ++written) {
      std::string id = indexed_id("scale-", written);
      std::string content = reservation_json(id, kRecordBytes);
      dir.write_direct(id, content);
      raw += double(content.size());
    }
    Point point;
    point.records = size;
    point.raw_bytes = raw;
    for (std::size_t r = 0; r < runs; ++r)
      point.starts.push_back(start_coordd(config, workspace, size));
    point.ready_ms = median_of(point.starts, &CoorddStart::ready_ms);
    point.rss_bytes = median_of(point.starts, &CoorddStart::rss_bytes);
    if (!config.seed_watch.empty()) measure_seed_watch(config, workspace, point);
    progress(config, "  coordd ready " + format_us(point.ready_ms * 1e3) + ", RSS " +
                         format_bytes(point.rss_bytes) + " (raw " + format_bytes(raw) + ")" +
                         (point.peer_ready_ms
                              ? ", seed_watch snapshot " + format_us(*point.peer_ready_ms * 1e3)
                              : ""));
    points.push_back(point);
  }

  BenchResult result;
  json::array list;
  for (const Point& p : points) list.push_back(point_json(p));
  result.figures["points"] = std::move(list);
  result.figures["runs_per_point"] = runs;
  for (const Point& p : points) {
    std::string k = std::to_string(p.records / 1000) + "k";
    bool at_target = p.records == 100000;
    double bound = 2 * p.raw_bytes + 16 * kMiB;
    Row rss{"scale " + k + ": RSS vs raw bytes",
            format_bytes(p.rss_bytes),
            format_bytes(p.raw_bytes) + " (raw)",
            format_ratio(p.rss_bytes, p.raw_bytes),
            at_target ? "≤ 2×raw+16MiB (" + format_bytes(bound) + ")" : "",
            at_target ? std::optional<bool>(p.rss_bytes <= bound) : std::nullopt,
            {}};
    rss.numbers = {{"coordd_rss_bytes", p.rss_bytes},
                   {"raw_bytes", p.raw_bytes},
                   {"ratio", p.rss_bytes / p.raw_bytes},
                   {"bound_bytes", bound}};
    result.rows.push_back(std::move(rss));
    Row per_record{"scale " + k + ": RSS per record",
                   format_bytes(p.rss_bytes / double(p.records)),
                   format_bytes(p.raw_bytes / double(p.records)) + " (raw)",
                   format_ratio(p.rss_bytes, p.raw_bytes),
                   "",
                   std::nullopt,
                   {}};
    result.rows.push_back(std::move(per_record));
    Row ready{"scale " + k + ": start-to-ready",
              format_us(p.ready_ms * 1e3),
              p.peer_ready_ms ? format_us(*p.peer_ready_ms * 1e3) + " (seed_watch)" : "-",
              p.peer_ready_ms ? format_ratio(*p.peer_ready_ms, p.ready_ms) + " faster" : "-",
              at_target ? "≤ 1 s" : "",
              at_target ? std::optional<bool>(p.ready_ms <= 1000) : std::nullopt,
              {}};
    ready.numbers = {{"coordd_ready_ms", p.ready_ms}};
    if (p.peer_ready_ms) ready.numbers["peer_ready_ms"] = *p.peer_ready_ms;
    result.rows.push_back(std::move(ready));
  }
  // Marginal cost: what each record added between the smallest and largest set.
  if (points.size() >= 2) {
    const Point& a = points.front();
    const Point& b = points.back();
    double per_record = (b.rss_bytes - a.rss_bytes) / double(b.records - a.records);
    result.figures["marginal_rss_bytes_per_record"] = per_record;
    result.figures["marginal_raw_bytes_per_record"] =
        (b.raw_bytes - a.raw_bytes) / double(b.records - a.records);
  }
  return result;
}

}  // namespace coordd::bench
