// The five benchmarks of coordd, each measured side by side with its peer in
// the same call: latency (inotifywait, seed_watch.py), idle cost
// (seed_watch.py), fan-out at 100 and 1,000 subscribers (redis-server),
// ingest (bench/peers/inotify_floor, and inotifywait) and scale (raw bytes on
// disk, seed_watch.py's start-up), plus the cost of the message log (send
// round trips with it, against memory only). Each returns every raw figure as
// JSON plus its rows of the summary table, and throws std::runtime_error when
// it cannot run at all. A missing peer is reported as "not measured", not as
// an error. Main thread only (they fork children).
#pragma once

#include <boost/json.hpp>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "bench/report.hpp"
#include "tests/support/workspace.hpp"

namespace coordd::bench {

using support::Workspace;

struct BenchConfig {
  bool quick = false;             // small counts, one run: proves the harness works
  std::string coordd;             // the coordd binary under test
  std::string python;             // python3, for seed_watch.py ("" when missing)
  std::string seed_watch;         // seed_watch.py ("" when missing)
  std::string inotifywait;        // "" when missing
  std::string floor;              // inotify_floor, the ingest floor ("" when missing)
  std::string redis_server;       // "" when missing
  std::filesystem::path scratch;  // workspaces are made (and removed) here
  std::ostream* progress = nullptr;
};

struct BenchResult {
  boost::json::object figures;
  std::vector<Row> rows;
};

BenchResult run_latency(const BenchConfig& config);
BenchResult run_idle(const BenchConfig& config);
BenchResult run_fanout(const BenchConfig& config);
BenchResult run_ingest(const BenchConfig& config);
BenchResult run_scale(const BenchConfig& config);
BenchResult run_send(const BenchConfig& config);
// coordd across hosts on a 3-node NATS JetStream cluster (nats-server in
// $PATH): cross-host latency against the engine's own floor, and federated
// ingest until every node has every change.
BenchResult run_swarm(const BenchConfig& config);
// Agent messages across that swarm: a targeted message's round trip between
// agents on two hosts against NATS request/reply, and broadcasts to 100
// agents over three hosts against the same on one coordd.
BenchResult run_swarm_bus(const BenchConfig& config);

// The Workspace of one run, <config.scratch>/<label>-XXXXXX: every kind
// directory and sock/ (0700) made up front.
support::WorkspaceOptions workspace_in(const BenchConfig& config, std::string label);
// Progress line on config.progress (stderr), flushed.
void progress(const BenchConfig& config, const std::string& line);
// A row for a peer that could not be measured, saying why.
Row unmeasured_row(std::string benchmark, std::string coordd_figure, std::string why,
                   std::string target, std::optional<bool> met);
// A row comparing coordd's figure with a peer's, ratio ours / theirs; the
// JSON numbers are coordd_<unit>, peer_<unit> and ratio. No target set.
Row ratio_row(std::string benchmark, std::string coordd_figure, std::string peer_figure,
              double ours, double theirs, const std::string& unit);

}  // namespace coordd::bench
