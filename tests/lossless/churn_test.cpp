// Churn: a writer makes tens of thousands of adds, modifies and removes
// across kinds while four subscribers read (everything; reservations only;
// one run_id; everything, dropping its connection at random points and
// resuming with since). After a sync on each, every subscriber's stream
// passes the checker and its reconstructed state equals the disk -- also
// when the inotify queue is made tiny, and coordd is paused mid-churn so that
// it overflows for certain.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "tests/integration/daemon_fixture.hpp"
#include "tests/lossless/churn_writer.hpp"
#include "tests/lossless/daemon_log.hpp"
#include "tests/lossless/daemon_pause.hpp"
#include "tests/lossless/inotify_queue_limit.hpp"
#include "tests/lossless/subscriber.hpp"

namespace coordd::lossless {
namespace {

using integration::DaemonProcess;
using integration::Workspace;
using namespace std::chrono_literals;

constexpr std::uint64_t kSyncTimeoutMs = 2'000;
constexpr auto kSyncDeadline = 60s;
constexpr std::uint32_t kSeed = 20'260'401;
// Changes written while coordd is paused: far more than a 64-event queue holds.
constexpr std::size_t kPausedBurst = 300;

struct ReaderPlan {
  std::string name;
  json::object filters;
  RecordFilter matches;
  std::size_t disconnects = 0;  // mid-stream disconnects, each followed by a resume
};

std::vector<ReaderPlan> four_readers() {
  auto everything = [](std::string_view, const json::object&) { return true; };
  return {
      {"all", {}, everything, 0},
      {"kinds=[reservation]",
       {{"kinds", json::array{"reservation"}}},
       [](std::string_view kind, const json::object&) { return kind == "reservations"; },
       0},
      {"run_id=run-a",
       {{"run_id", "run-a"}},
       [](std::string_view, const json::object& record) {
         const json::value* run = record.if_contains("run_id");
         return run && *run == "run-a";
       },
       0},
      {"all, resuming after disconnects", {}, everything, 3},
  };
}

bool is_subscribed(const std::optional<json::object>& reply) {
  return reply && reply->at("type") == "subscribed";
}

// A reader thread's life: read while the writer writes, dropping the
// connection at the planned points and after any lag marker and resuming
// from the checker's resume point; then a sync vouches for the final state.
std::string read_through_churn(Subscriber& subscriber, const ReaderPlan& plan, std::uint32_t seed,
                               const std::atomic<bool>& writer_done) {
  std::mt19937 random(seed);
  std::vector<std::uint64_t> disconnect_at;
  for (std::size_t i = 0; i < plan.disconnects; ++i)
    disconnect_at.push_back(200 + random() % 12'000);
  std::sort(disconnect_at.begin(), disconnect_at.end());
  std::size_t next_disconnect = 0;
  json::object line;
  while (!writer_done.load()) {
    if (subscriber.read_line(line, SteadyClock::now() + 50ms) == Subscriber::Read::kFailed) {
      return "reading: " + subscriber.error();
    }
    bool planned = next_disconnect < disconnect_at.size() &&
                   subscriber.checker().events_received() >= disconnect_at[next_disconnect];
    if (planned) ++next_disconnect;
    if ((planned || subscriber.checker().lag_pending()) && !is_subscribed(subscriber.resume())) {
      return "resuming: " + subscriber.error();
    }
  }
  auto deadline = SteadyClock::now() + kSyncDeadline;
  for (;;) {
    if (!subscriber.sync(kSyncTimeoutMs, deadline)) return "syncing: " + subscriber.error();
    if (!subscriber.checker().lag_pending()) return "";
    if (!is_subscribed(subscriber.resume())) return "resuming: " + subscriber.error();
  }
}

// The writer thread's work: the churn in two halves and, when `pause` names
// coordd's pid, a burst between them written while coordd is stopped, so its
// inotify queue overflows for certain. Returns "" or what failed.
std::string write_churn(const Workspace& ws, const ChurnOptions& options,
                        std::optional<pid_t> pause, ChurnCounts& counts) {
  auto run = [&](ChurnOptions part) {
    ChurnWriter writer(ws.coordination(), std::move(part));
    bool ok = writer.run();
    counts += writer.counts();
    return ok ? std::string() : writer.error();
  };
  ChurnOptions first = options;
  first.operations /= 2;
  if (std::string error = run(first); !error.empty()) return error;
  if (pause) {
    DaemonPause paused(*pause);
    if (!paused.stopped()) return "cannot SIGSTOP coordd";
    ChurnOptions burst = options;
    burst.operations = kPausedBurst;
    burst.seed += 1'000;
    if (std::string error = run(burst); !error.empty()) return error;
  }
  ChurnOptions second = options;
  second.operations -= first.operations;
  second.seed += 2'000;
  return run(second);
}

// Runs the churn against a started daemon and checks every subscriber.
void churn_and_check(const Workspace& ws, const DaemonProcess& daemon, const ChurnOptions& options,
                     std::string_view label, std::optional<pid_t> pause_midway = std::nullopt) {
  std::vector<ReaderPlan> plans = four_readers();
  std::vector<std::unique_ptr<Subscriber>> subscribers;
  for (const ReaderPlan& plan : plans) {
    auto subscriber = std::make_unique<Subscriber>(ws.socket(), plan.filters);
    REQUIRE_MESSAGE(subscriber->connect(), subscriber->error());
    REQUIRE_MESSAGE(is_subscribed(subscriber->subscribe()), subscriber->error());
    subscribers.push_back(std::move(subscriber));
  }

  auto started = SteadyClock::now();
  std::atomic<bool> writer_done{false};
  std::vector<std::string> reader_errors(plans.size());
  ChurnCounts written;
  std::string writer_error;
  {
    std::vector<std::jthread> readers;
    for (std::size_t i = 0; i < plans.size(); ++i) {
      readers.emplace_back([&, i] {
        reader_errors[i] = read_through_churn(*subscribers[i], plans[i], kSeed + i, writer_done);
      });
    }
    std::jthread([&] { writer_error = write_churn(ws, options, pause_midway, written); }).join();
    writer_done = true;
  }  // the readers finish their sync and join here
  double seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
  REQUIRE(writer_error == "");

  json::object status = daemon.connect().call({{"op", "status"}});
  std::vector<std::string> disk_problems;
  RecordsByKind disk = read_records(ws.coordination(), disk_problems);
  REQUIRE(disk_problems == std::vector<std::string>{});

  std::ostringstream figures;
  figures << label << ": " << written.total() << " changes written (" << written.added << " added, "
          << written.modified_by_rename << " modified by rename, " << written.modified_in_place
          << " modified in place, " << written.removed << " removed); coordd emitted "
          << status.at("events_emitted") << " events, "
          << occurrences(daemon.log(), "inotify queue overflowed")
          << " inotify overflow(s) logged, " << status.at("overflows") << " overflow rescan(s), "
          << status.at("rescans") << " rescan(s); " << seconds << " s";
  for (std::size_t i = 0; i < plans.size(); ++i) {
    const StreamChecker& checker = subscribers[i]->checker();
    figures << "\n  " << plans[i].name << ": " << checker.events_received() << " events received, "
            << checker.lag_markers() << " lag marker(s), " << checker.resumes() << " resume(s), "
            << checker.resyncs() << " resync(s), " << subscribers[i]->sync_timeouts()
            << " sync timeout(s)";
  }
  MESSAGE(figures.str());

  for (std::size_t i = 0; i < plans.size(); ++i) {
    INFO("subscriber " << plans[i].name);
    CHECK(reader_errors[i] == "");
    CHECK(subscribers[i]->checker().verify(only_matching(disk, plans[i].matches)) ==
          std::vector<std::string>{});
  }
  CHECK(subscribers.back()->checker().resumes() >= 1);
}

// Records present before the daemon starts, so every snapshot has content.
void write_initial_records(const Workspace& ws) {
  ChurnWriter initial(ws.coordination(), ChurnOptions{.operations = 400, .seed = 7});
  REQUIRE_MESSAGE(initial.run(), initial.error());
}

TEST_CASE("under churn, every subscriber's reconstructed state equals the disk") {
  Workspace ws;
  write_initial_records(ws);
  DaemonProcess daemon(ws);

  churn_and_check(ws, daemon, ChurnOptions{.operations = 20'000, .seed = kSeed}, "churn");
}

TEST_CASE(
    "under churn that overflows the inotify queue, rescans leave every subscriber equal to the "
    "disk") {
  if (::geteuid() != 0) {
    MESSAGE(
        "skipped: forcing an inotify overflow lowers fs.inotify.max_queued_events, which "
        "needs root");
    return;
  }
  Workspace ws;
  write_initial_records(ws);
  std::optional<DaemonProcess> daemon;
  {
    InotifyQueueLimit tiny_queue(64);
    if (!tiny_queue.ok()) {
      MESSAGE("skipped: cannot lower fs.inotify.max_queued_events: " << tiny_queue.why_not());
      return;
    }
    daemon.emplace(ws);
  }  // restored before anything else starts

  auto pid = pid_t(daemon->connect().call({{"op", "status"}}).at("pid").to_number<std::int64_t>());

  churn_and_check(ws, *daemon, ChurnOptions{.operations = 20'000, .seed = kSeed + 1},
                  "churn with overflows", pid);

  json::object status = daemon->connect().call({{"op", "status"}});
  CHECK(status.at("overflows").to_number<std::uint64_t>() >= 1);
}

}  // namespace
}  // namespace coordd::lossless
