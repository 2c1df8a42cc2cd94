// coordd_bench: measures coordd against its peers in one run (latency, idle
// cost, fan-out, ingest, scale), prints the summary table and writes every
// figure as JSON. bench/run.sh builds it in release mode and runs it; see
// `coordd_bench --help`.
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bench/benchmarks.hpp"
#include "bench/report.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/emergency_stop.hpp"
#include "tests/support/workspace.hpp"

namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using coordd::bench::BenchConfig;
using coordd::bench::BenchResult;

constexpr const char* kUsage = R"(usage: coordd_bench [options]

Runs coordd's benchmarks side by side with their peers and prints
benchmark | coordd | peer | ratio | target | met?.

  --quick             small counts and one run each: proves the harness works
  --only LIST         comma-separated subset of latency,idle,fanout,ingest,scale,send,swarm,swarm_bus
  --coordd PATH       coordd binary (default: the one built with this tool)
  --seed-watch PATH   seed_watch.py (default: bench/peers/seed_watch.py in the source tree)
  --floor PATH        the ingest floor, inotify_floor (default: the one beside this program)
  --out PATH          JSON results (default: bench/results/latest.json in the source tree)
  --scratch DIR       where workspaces go (default: a new directory under $TMPDIR or /tmp)
  --label TEXT        recorded as "label" in the JSON (run.sh passes the git revision)

Peers are found in $PATH: inotifywait (inotify-tools), redis-server, python3;
swarm and swarm_bus need nats-server (their floors are NATS itself, through
libnats). The ingest floor (bench/peers/inotify_floor.cpp) is built with
coordd_bench. The open-file limit is raised to its hard limit (the fan-out
holds 1,000 subscriber sockets, and coordd and redis-server inherit it).
A missing peer is reported as "not measured". Exit status: 0 when every
benchmark ran (targets missed or not), 1 when one failed to run, 2 on bad usage.
)";

struct Flags {
  bool quick = false;
  std::vector<std::string> only;
  std::string coordd = COORDD_BENCH_COORDD;
  std::string seed_watch = COORDD_BENCH_SEED_WATCH;
  std::string floor;  // "": beside this program, else the one meson built
  std::string out = COORDD_BENCH_RESULTS;
  std::string scratch;
  std::string label;
};

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

bool parse_flags(int argc, char** argv, Flags& flags) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string& into) {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      into = argv[++i];
    };
    std::string list;
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (arg == "--quick") {
      flags.quick = true;
    } else if (arg == "--only") {
      value(list);
      flags.only = split_commas(list);
    } else if (arg == "--coordd") {
      value(flags.coordd);
    } else if (arg == "--seed-watch") {
      value(flags.seed_watch);
    } else if (arg == "--floor") {
      value(flags.floor);
    } else if (arg == "--out") {
      value(flags.out);
    } else if (arg == "--scratch") {
      value(flags.scratch);
    } else if (arg == "--label") {
      value(flags.label);
    } else {
      throw std::invalid_argument("unknown option " + arg);
    }
  }
  return true;
}

// A fresh scratch directory under $TMPDIR, removed at exit, unless the user
// named one.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& requested) {
    if (requested.empty()) {
      owned_.emplace("coordd-bench");
      path_ = owned_->path();
      return;
    }
    path_ = requested;
    fs::create_directories(path_);
  }
  const fs::path& path() const { return path_; }

 private:
  std::optional<coordd::support::TempDir> owned_;
  fs::path path_;
};

std::string found_or_empty(const std::string& program) {
  return coordd::support::find_program(program);
}

// inotify_floor beside this program (a build tree or an install), else where
// meson built it; "" when neither exists.
std::string default_floor() {
  std::error_code error;
  fs::path self = fs::read_symlink("/proc/self/exe", error);
  std::string beside = error ? "" : found_or_empty((self.parent_path() / "inotify_floor").string());
  return beside.empty() ? found_or_empty(COORDD_BENCH_FLOOR) : beside;
}

// Soft RLIMIT_NOFILE up to the hard limit; returns the soft limit now in force.
rlim_t raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  try {
    parse_flags(argc, argv, flags);
  } catch (const std::exception& e) {
    std::cerr << "coordd_bench: " << e.what() << "\n\n" << kUsage;
    return 2;
  }
  coordd::support::install_emergency_stop();
  rlim_t open_files = raise_open_file_limit();

  BenchConfig config;
  config.quick = flags.quick;
  config.coordd = found_or_empty(flags.coordd);
  if (config.coordd.empty()) {
    std::cerr << "coordd_bench: no coordd binary at " << flags.coordd
              << "; build it (ninja -C build-release) or pass --coordd\n";
    return 2;
  }
  config.python = found_or_empty("python3");
  config.seed_watch = fs::exists(flags.seed_watch) && !config.python.empty()
                          ? fs::absolute(flags.seed_watch).string()
                          : "";
  config.floor = flags.floor.empty() ? default_floor() : found_or_empty(flags.floor);
  config.inotifywait = found_or_empty("inotifywait");
  config.redis_server = found_or_empty("redis-server");
  config.progress = &std::cerr;
  for (auto [name, path, hint] :
       {std::tuple{"seed_watch.py", config.seed_watch, flags.seed_watch + " (and python3)"},
        std::tuple{"inotify_floor", config.floor,
                   std::string("ninja -C build bench/inotify_floor, or pass --floor")},
        std::tuple{"inotifywait", config.inotifywait, std::string("apt-get install inotify-tools")},
        std::tuple{"redis-server", config.redis_server,
                   std::string("apt-get install redis-server")}}) {
    if (path.empty())
      std::cerr << "warning: " << name << " not found (" << hint
                << "); its rows will say not measured\n";
  }

  const std::vector<std::pair<std::string, std::function<BenchResult(const BenchConfig&)>>>
      benchmarks = {
          {"latency", coordd::bench::run_latency}, {"idle", coordd::bench::run_idle},
          {"fanout", coordd::bench::run_fanout},   {"ingest", coordd::bench::run_ingest},
          {"scale", coordd::bench::run_scale},     {"send", coordd::bench::run_send},
          {"swarm", coordd::bench::run_swarm},     {"swarm_bus", coordd::bench::run_swarm_bus}};
  for (const std::string& name : flags.only) {
    bool known = false;
    for (const auto& [bench_name, run] : benchmarks) known = known || bench_name == name;
    if (!known) {
      std::cerr << "coordd_bench: unknown benchmark '" << name << "'\n";
      return 2;
    }
  }

  json::object report;
  report["schema"] = 1;
  report["mode"] = flags.quick ? "quick" : "full";
  report["label"] = flags.label;
  report["machine"] = coordd::bench::machine_facts();
  report["open_file_limit"] = static_cast<std::uint64_t>(open_files);
  report["coordd"] = config.coordd;
  json::object peers;
  peers["seed_watch"] = config.seed_watch;
  peers["inotifywait"] = config.inotifywait;
  peers["inotify_floor"] = config.floor;
  peers["redis_server"] = config.redis_server;
  report["peers"] = std::move(peers);

  std::vector<coordd::bench::Row> rows;
  json::object figures;
  bool failed = false;
  try {
    ScratchDir scratch(flags.scratch);
    config.scratch = scratch.path();
    report["scratch_file_system"] = coordd::bench::file_system_of(scratch.path().string());
    for (const auto& [name, run] : benchmarks) {
      if (!flags.only.empty() &&
          std::find(flags.only.begin(), flags.only.end(), name) == flags.only.end()) {
        continue;
      }
      try {
        BenchResult result = run(config);
        figures[name] = std::move(result.figures);
        rows.insert(rows.end(), result.rows.begin(), result.rows.end());
      } catch (const std::exception& e) {
        failed = true;
        std::cerr << "coordd_bench: " << name << " failed: " << e.what() << "\n";
        figures[name] = {{"error", e.what()}};
        coordd::bench::Row row;
        row.benchmark = name;
        row.coordd = "FAILED";
        row.peer = e.what();
        row.peer = row.peer.substr(0, row.peer.find('\n'));
        rows.push_back(std::move(row));
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "coordd_bench: " << e.what() << "\n";
    return 1;
  }
  report["machine_after"] = coordd::bench::machine_facts().at("loadavg");
  report["benchmarks"] = std::move(figures);
  report["table"] = coordd::bench::rows_json(rows);

  std::cout << "\n" << coordd::bench::format_table(rows);
  try {
    coordd::bench::write_atomically(flags.out, coordd::bench::pretty_json(report));
    std::cout << "\nwrote " << flags.out << "\n";
  } catch (const std::exception& e) {
    std::cerr << "coordd_bench: " << e.what() << "\n";
    return 1;
  }
  return failed ? 1 : 0;
}
