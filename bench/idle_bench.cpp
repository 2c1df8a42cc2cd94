// Idle cost: what coordd spends doing nothing useful, with records on disk
// (no lease due) and idle subscribers connected, against seed_watch.py
// polling the same directory: CPU time and context switches over a window.
// A daemon that only reacts to the kernel should show neither.
#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>

#include "bench/benchmarks.hpp"
#include "bench/child_options.hpp"
#include "bench/coordd_process.hpp"
#include "bench/latency.hpp"
#include "bench/line_reader.hpp"
#include "bench/proc_stats.hpp"
#include "bench/records.hpp"
#include "tests/support/poll_until.hpp"

namespace coordd::bench {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

struct Window {
  double seconds = 0;
  ProcStats used;  // deltas over the window; memory at its end

  double cpu_per_second() const { return double(used.cpu_ns) / 1e9 / seconds; }
};

// Waits until `pid` has gone back to sleep for good: its context switches
// stay unchanged for 200 ms (the reply we last read may have been sent just
// before it blocked again, and that block is not idle behaviour). 5 s at most.
void wait_until_quiet(pid_t pid) {
  std::int64_t give_up = mono_now_ns() + 5'000'000'000;
  std::int64_t switches = read_proc_stats(pid).switches();
  for (;;) {
    std::this_thread::sleep_for(200ms);
    std::int64_t now = read_proc_stats(pid).switches();
    if (now == switches || mono_now_ns() > give_up) return;
    switches = now;
  }
}

Window observe(pid_t pid, std::chrono::seconds length) {
  wait_until_quiet(pid);
  ProcStats before = read_proc_stats(pid);
  std::int64_t start = mono_now_ns();
  std::this_thread::sleep_for(length);
  ProcStats after = read_proc_stats(pid);
  return Window{double(mono_now_ns() - start) / 1e9, after - before};
}

json::object window_json(const Window& w) {
  return {{"window_s", w.seconds},
          {"cpu_s", double(w.used.cpu_ns) / 1e9},
          {"cpu_s_from_ticks", w.used.cpu_seconds()},
          {"cpu_s_per_s", w.cpu_per_second()},
          {"voluntary_switches", w.used.voluntary_switches},
          {"involuntary_switches", w.used.involuntary_switches},
          {"switches_per_s", double(w.used.switches()) / w.seconds},
          {"rss_bytes", w.used.rss_bytes},
          {"threads", w.used.threads}};
}

Window measure_coordd(const BenchConfig& config, const Workspace& workspace, std::size_t records,
                      std::size_t subscribers, std::chrono::seconds length) {
  CoorddProcess coordd(config.coordd, workspace);
  std::vector<CoordClient> clients;
  for (std::size_t i = 0; i < subscribers; ++i) {
    std::size_t snapshot = 0;
    clients.push_back(coordd.subscribe({}, &snapshot));
    if (snapshot != records) {
      throw std::runtime_error("subscriber got " + std::to_string(snapshot) +
                               " snapshot events for " + std::to_string(records) + " records");
    }
  }
  // A ping answered on every connection: nothing is left to send.
  for (CoordClient& client : clients) call_or_throw(client, {{"op", "ping"}});
  progress(config, "idle: coordd with " + std::to_string(records) + " records and " +
                       std::to_string(subscribers) + " subscribers, " +
                       std::to_string(length.count()) + " s");
  return observe(coordd.pid(), length);
}

Window measure_seed_watch(const BenchConfig& config, const Workspace& workspace,
                          std::size_t records, std::chrono::seconds length) {
  ChildProcess child(
      {config.python, config.seed_watch, workspace.repo().string(), "--poll-interval", "1.0"},
      child_options(workspace.scratch("seed_watch.log").string(), true));
  std::atomic<std::size_t> lines{0};
  LineReader reader(child.stdout_fd(), [&](std::string_view, std::int64_t) { lines++; });
  // Its start-up prints one snapshot line per record; idle begins after.
  bool snapshot_printed = support::poll_until(
      300s, [&] { return lines.load() >= records || child.wait(0ms).has_value(); });
  if (!snapshot_printed || lines.load() < records) {
    throw std::runtime_error("seed_watch.py printed " + std::to_string(lines.load()) + " of " +
                             std::to_string(records) + " snapshot lines");
  }
  progress(config,
           "idle: seed_watch.py on the same directory, " + std::to_string(length.count()) + " s");
  return observe(child.pid(), length);
}

}  // namespace

BenchResult run_idle(const BenchConfig& config) {
  const std::size_t records = config.quick ? 1000 : 10000;
  const std::size_t subscribers = config.quick ? 10 : 50;
  const std::chrono::seconds length = config.quick ? 3s : 60s;

  Workspace workspace(workspace_in(config, "idle"));
  RecordDir dir(workspace.kind_dir("reservations"));
  for (std::size_t i = 0; i < records; ++i) {
    std::string id = indexed_id("idle-", i);
    dir.write_direct(id, reservation_json(id, 300));
  }
  Window coordd = measure_coordd(config, workspace, records, subscribers, length);
  BenchResult result;
  result.figures["records"] = records;
  result.figures["subscribers"] = subscribers;
  result.figures["coordd"] = window_json(coordd);
  progress(config, "  coordd: " + format_number(coordd.cpu_per_second()) + " CPU-s/s, " +
                       std::to_string(coordd.used.switches()) + " context switches");

  std::optional<Window> peer;
  if (!config.seed_watch.empty()) {
    peer = measure_seed_watch(config, workspace, records, length);
    result.figures["seed_watch"] = window_json(*peer);
    progress(config, "  seed_watch: " + format_number(peer->cpu_per_second()) + " CPU-s/s, " +
                         std::to_string(peer->used.switches()) + " context switches");
  }

  // The target: 0 CPU-s and 0 wake-ups over the window. A process
  // that never leaves its blocking wait accrues neither (schedstat counts
  // run time in ns, so any wake-up at all shows as CPU time too).
  std::string cpu_name = "idle CPU-s in " + format_number(coordd.seconds, 2) + " s (" +
                         std::to_string(records / 1000) + "k rec, " + std::to_string(subscribers) +
                         " subs)";
  double ours_cpu_s = double(coordd.used.cpu_ns) / 1e9;
  double ours = coordd.cpu_per_second();
  bool cpu_met = coordd.used.cpu_ns == 0;
  auto ours_switches = double(coordd.used.switches());
  bool switches_met = coordd.used.switches() == 0;
  std::string switch_target = "0 (no wake-up)";
  std::string switch_name = "idle context switches in " + format_number(coordd.seconds, 2) + " s";
  if (!peer) {
    result.rows.push_back(unmeasured_row(cpu_name, format_number(ours_cpu_s),
                                         "seed_watch.py not found", "0 CPU-s", cpu_met));
    result.rows.push_back(unmeasured_row(switch_name, std::to_string(coordd.used.switches()),
                                         "seed_watch.py not found", switch_target, switches_met));
    return result;
  }
  double theirs = peer->cpu_per_second();
  double theirs_cpu_s = double(peer->used.cpu_ns) / 1e9;
  Row cpu{cpu_name,
          format_number(ours_cpu_s),
          format_number(theirs_cpu_s),
          format_ratio(theirs_cpu_s, ours_cpu_s) + " less",
          "0 CPU-s",
          cpu_met,
          {}};
  cpu.numbers = {{"coordd_cpu_s", ours_cpu_s},
                 {"peer_cpu_s", theirs_cpu_s},
                 {"coordd_cpu_s_per_s", ours},
                 {"peer_cpu_s_per_s", theirs},
                 {"ratio", ours > 0 ? theirs / ours : 0.0}};
  result.rows.push_back(std::move(cpu));
  auto theirs_switches = double(peer->used.switches());
  Row switches{switch_name,
               std::to_string(coordd.used.switches()),
               std::to_string(peer->used.switches()),
               format_ratio(theirs_switches, ours_switches) + " fewer",
               switch_target,
               switches_met,
               {}};
  switches.numbers = {{"coordd_switches", ours_switches}, {"peer_switches", theirs_switches}};
  result.rows.push_back(std::move(switches));
  return result;
}

}  // namespace coordd::bench
