// Send cost: the round trip of a targeted `send` (request written to `sent`
// read) to a connected agent, with messages in memory only (--state-dir
// none), logged without a flush (--no-message-fsync: survives a killed
// coordd) and logged with fdatasync before `sent` (the default: survives
// power loss). The three coordds run at once and take turns in small
// batches, so a change in the machine's load falls on all three alike.
#include <memory>
#include <stdexcept>

#include "bench/benchmarks.hpp"
#include "bench/coordd_process.hpp"
#include "bench/latency.hpp"
#include "bench/stats.hpp"

namespace coordd::bench {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

struct Setup {
  std::string name;
  std::vector<std::string> flags;
  std::unique_ptr<Workspace> workspace;
  std::unique_ptr<CoorddProcess> coordd;
  std::unique_ptr<CoordClient> sender;
  std::unique_ptr<CoordClient> agent;
  std::vector<std::int64_t> samples_ns;
};

void expect_ok(CoordClient::Status status, CoordClient& client, const std::string& what) {
  if (status != CoordClient::Status::kOk) throw std::runtime_error(what + ": " + client.error());
}

// One send to "w1" and its reply, timed; then the delivered line, read.
void timed_send(Setup& setup, std::size_t index) {
  json::object request{
      {"op", "send"},
      {"to", "w1"},
      {"message",
       {{"kind", "additional_context"}, {"content", "bench message " + std::to_string(index)}}}};
  json::object reply;
  std::int64_t start = mono_now_ns();
  expect_ok(setup.sender->call(std::move(request), reply, deadline_in(10s)), *setup.sender,
            setup.name + " send");
  setup.samples_ns.push_back(mono_now_ns() - start);
  if (reply.at("type") != "sent") throw std::runtime_error(setup.name + ": " + serialize(reply));
  std::string line;
  expect_ok(setup.agent->read_line(line, deadline_in(10s)), *setup.agent, setup.name + " deliver");
}

json::object figures_of(const Percentiles& p) {
  return {{"p50_us", p.p50_us}, {"p99_us", p.p99_us}, {"max_us", p.max_us}, {"count", p.count}};
}

}  // namespace

BenchResult run_send(const BenchConfig& config) {
  const std::size_t batches = config.quick ? 4 : 40;
  const std::size_t per_batch = config.quick ? 25 : 50;
  std::vector<Setup> setups;
  setups.push_back({"memory", {"--state-dir", "none"}, {}, {}, {}, {}, {}});
  setups.push_back({"log", {"--no-message-fsync"}, {}, {}, {}, {}, {}});
  setups.push_back({"log_fsync", {"--message-fsync"}, {}, {}, {}, {}, {}});
  std::string state_fs;
  for (Setup& setup : setups) {
    setup.workspace = std::make_unique<Workspace>(workspace_in(config, "send-" + setup.name));
    std::vector<std::string> flags = setup.flags;
    if (setup.name != "memory") {
      std::string dir = setup.workspace->scratch("state").string();
      flags.insert(flags.end(), {"--state-dir", dir});
    }
    setup.coordd = std::make_unique<CoorddProcess>(config.coordd, *setup.workspace, flags);
    setup.agent = std::make_unique<CoordClient>(setup.coordd->connect());
    json::object hello;
    expect_ok(setup.agent->call({{"op", "hello"}, {"agent", "w1"}}, hello, deadline_in(10s)),
              *setup.agent, setup.name + " hello");
    setup.sender = std::make_unique<CoordClient>(setup.coordd->connect());
    setup.samples_ns.reserve(batches * per_batch);
  }
  state_fs = file_system_of(setups[1].workspace->scratch("state").string());
  progress(config, "send: " + std::to_string(batches * per_batch) +
                       " sends per setup (memory, log, log+fdatasync) on " + state_fs);
  std::size_t index = 0;
  for (std::size_t batch = 0; batch < batches; ++batch) {
    for (Setup& setup : setups) {
      for (std::size_t i = 0; i < per_batch; ++i) timed_send(setup, index++);
    }
  }

  BenchResult result;
  result.figures["state_dir_file_system"] = state_fs;
  std::vector<Percentiles> p;
  for (Setup& setup : setups) {
    p.push_back(percentiles(setup.samples_ns));
    result.figures[setup.name] = figures_of(p.back());
  }
  result.figures["ratio_log_p50"] = p[1].p50_us / p[0].p50_us;
  result.figures["ratio_log_p99"] = p[1].p99_us / p[0].p99_us;
  result.figures["ratio_log_fsync_p50"] = p[2].p50_us / p[0].p50_us;
  result.figures["ratio_log_fsync_p99"] = p[2].p99_us / p[0].p99_us;
  for (auto [label, i] : {std::pair{"send p50, log (no fsync) vs memory", 1},
                          std::pair{"send p50, log + fdatasync vs memory", 2}}) {
    result.rows.push_back(ratio_row(label, format_us(p[i].p50_us), format_us(p[0].p50_us),
                                    p[i].p50_us, p[0].p50_us, "us"));
  }
  for (auto [label, i] : {std::pair{"send p99, log (no fsync) vs memory", 1},
                          std::pair{"send p99, log + fdatasync vs memory", 2}}) {
    result.rows.push_back(ratio_row(label, format_us(p[i].p99_us), format_us(p[0].p99_us),
                                    p[i].p99_us, p[0].p99_us, "us"));
  }
  return result;
}

}  // namespace coordd::bench
