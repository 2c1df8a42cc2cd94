// Slow consumers: a client that stops reading among fast ones. The fast ones'
// rename -> read latency stays close to a run without it, the daemon's memory
// stays bounded, and the stalled client is either told exactly what it missed
// (a lagged marker before any later event) or, past the grace period,
// disconnected with a final slow_consumer error.
#include <doctest/doctest.h>
#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "tests/integration/daemon_fixture.hpp"
#include "tests/lossless/churn_writer.hpp"
#include "tests/lossless/daemon_log.hpp"
#include "tests/lossless/subscriber.hpp"

namespace coordd::lossless {
namespace {

namespace fs = std::filesystem;
using integration::DaemonProcess;
using integration::Workspace;
using namespace std::chrono_literals;

constexpr std::size_t kRecordsPerPhase = 2'000;
constexpr std::size_t kBatch = 20;
constexpr auto kWaitTimeout = 10s;
const std::vector<std::string> kSmallQueue = {"--queue-max-events", "64", "--queue-max-bytes",
                                              "65536"};

json::object record_of(std::string_view id_field, std::string_view id) {
  return {{id_field, id}, {"run_id", "run-1"}, {"branch", "main"}, {"note", std::string(200, 'n')}};
}

// A small receive buffer, so the kernel holds little of what it is sent.
void shrink_receive_buffer(int fd) {
  int bytes = 4096;
  REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) == 0);
}

// A fast client on its own thread: reads everything and notes when each
// record's `added` event arrived.
class FastReader {
 public:
  explicit FastReader(const fs::path& socket) : subscriber_(socket, {}) {
    REQUIRE_MESSAGE(subscriber_.connect(), subscriber_.error());
    REQUIRE(subscriber_.subscribe()->at("type") == "subscribed");
    thread_ = std::jthread([this](std::stop_token stop) { read(stop); });
  }

  // Waits until `id` has arrived; false at the deadline or if reading failed.
  bool wait_for(const std::string& id, SteadyClock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return arrived_.wait_until(lock, deadline, [&] {
      return arrivals_.contains(id) || !error_.empty();
    }) && error_.empty();
  }
  std::optional<SteadyClock::time_point> arrival(const std::string& id) {
    std::lock_guard lock(mutex_);
    auto it = arrivals_.find(id);
    return it == arrivals_.end() ? std::nullopt : std::optional(it->second);
  }
  std::string error() {
    std::lock_guard lock(mutex_);
    return error_;
  }

 private:
  void read(const std::stop_token& stop) {
    json::object line;
    while (!stop.stop_requested()) {
      Subscriber::Read read = subscriber_.read_line(line, SteadyClock::now() + 50ms);
      if (read == Subscriber::Read::kTimeout) continue;
      std::lock_guard lock(mutex_);
      if (read == Subscriber::Read::kFailed) {
        error_ = subscriber_.error();
      } else if (line.at("type") == "event" && line.at("event_type") == "added") {
        arrivals_.emplace(line.at("id").as_string(), SteadyClock::now());
      } else if (line.at("type") == "lagged") {
        error_ = "a fast reader lagged: " + json::serialize(line);
      }
      arrived_.notify_all();
      if (!error_.empty()) return;
    }
  }

  Subscriber subscriber_;
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::map<std::string, SteadyClock::time_point, std::less<>> arrivals_;
  std::string error_;
  std::jthread thread_;  // last: joined before the rest is destroyed
};

std::uint64_t rss_kib(std::uint64_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      std::uint64_t kib = 0;
      status >> kib;
      return kib;
    }
    status.ignore(1 << 16, '\n');
  }
  return 0;
}

double p99_ms(std::vector<double> latencies) {
  REQUIRE(!latencies.empty());
  std::sort(latencies.begin(), latencies.end());
  return latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
}

// Renames `count` new records into `plural` in batches, waiting after each
// batch until every fast reader has it; returns every rename -> read latency
// in ms. `after_batch` runs after each batch (e.g. to sample memory).
std::vector<double> write_and_measure(const Workspace& ws, std::string_view plural,
                                      std::string_view id_field, std::vector<FastReader*> readers,
                                      const std::function<void()>& after_batch) {
  std::map<std::string, SteadyClock::time_point> renamed;
  for (std::size_t first = 0; first < kRecordsPerPhase; first += kBatch) {
    std::string last;
    for (std::size_t i = first; i < first + kBatch; ++i) {
      last = std::string(plural.substr(0, 3)) + "-" + std::to_string(i);
      fs::path staged = ws.kind_dir(plural) / ("." + last + ".tmp");
      REQUIRE(try_write_in_place(staged, json::serialize(record_of(id_field, last))) == "");
      renamed[last] = SteadyClock::now();
      fs::rename(staged, ws.kind_dir(plural) / (last + ".json"));
    }
    for (FastReader* reader : readers) {
      REQUIRE_MESSAGE(reader->wait_for(last, SteadyClock::now() + kWaitTimeout),
                      "a fast reader did not get " << last << ": " << reader->error());
    }
    after_batch();
  }
  std::vector<double> latencies;
  for (FastReader* reader : readers) {
    for (const auto& [id, at] : renamed) {
      std::optional<SteadyClock::time_point> arrived = reader->arrival(id);
      REQUIRE_MESSAGE(arrived, "a fast reader never got " << id);
      latencies.push_back(std::chrono::duration<double, std::milli>(*arrived - at).count());
    }
  }
  return latencies;
}

TEST_CASE(
    "a stalled client leaves fast clients' latency and daemon memory alone, and is cut off with "
    "slow_consumer after its grace") {
  Workspace ws;
  std::vector<std::string> flags = kSmallQueue;
  flags.insert(flags.end(), {"--slow-consumer-grace", "2"});
  DaemonProcess daemon(ws, flags);
  auto pid = daemon.connect().call({{"op", "status"}}).at("pid").to_number<std::uint64_t>();
  FastReader fast_a(ws.socket());
  FastReader fast_b(ws.socket());

  // Baseline: intents, with nobody stalled.
  std::vector<double> baseline =
      write_and_measure(ws, "intents", "intent_id", {&fast_a, &fast_b}, [] {});

  // The stalled client subscribes to tasks (an empty snapshot, so it goes
  // live at once) and never reads again.
  Subscriber stalled(ws.socket(), {{"kinds", json::array{"task"}}});
  stalled.keep_lines(true);
  REQUIRE(stalled.connect());
  shrink_receive_buffer(stalled.fd());
  REQUIRE(stalled.subscribe()->at("type") == "subscribed");
  std::uint64_t rss_before = rss_kib(pid);
  std::uint64_t rss_peak = rss_before;
  std::vector<double> with_stall =
      write_and_measure(ws, "tasks", "task_id", {&fast_a, &fast_b},
                        [&] { rss_peak = std::max(rss_peak, rss_kib(pid)); });

  double baseline_p99 = p99_ms(baseline);
  double stalled_p99 = p99_ms(with_stall);
  MESSAGE("fast clients' rename -> read latency over "
          << baseline.size() << " reads: p99 " << baseline_p99 << " ms with nobody stalled, "
          << stalled_p99 << " ms beside a stalled client; daemon RSS " << rss_before / 1024.0
          << " MiB before, " << rss_peak / 1024.0 << " MiB at most during the stall");
  CHECK(stalled_p99 < std::max(5 * baseline_p99, 50.0));
  CHECK(rss_peak - rss_before < 64u * 1024);

  REQUIRE_MESSAGE(wait_for_log(ws, daemon, "disconnecting (slow_consumer)", 1, 15s),
                  "the stalled client was never cut off; coordd's log:\n"
                      << daemon.log());
  json::object line;
  while (stalled.read_line(line, SteadyClock::now() + 5s) == Subscriber::Read::kLine) {
  }
  CHECK(stalled.error() == "coordd closed the connection");
  REQUIRE(!stalled.lines().empty());
  CHECK(stalled.lines().back().at("type") == "error");
  CHECK(stalled.lines().back().at("code") == "slow_consumer");
  CHECK(stalled.checker().stream_problems() == std::vector<std::string>{});
  CHECK(fast_a.error() == "");
  CHECK(fast_b.error() == "");
}

TEST_CASE(
    "a subscriber that falls behind gets a lagged marker before any later event, and resumes from "
    "it losslessly") {
  Workspace ws;
  DaemonProcess daemon(ws, kSmallQueue);  // the default grace, 30 s, is never reached
  Subscriber slow(ws.socket(), {});
  slow.keep_lines(true);
  REQUIRE(slow.connect());
  shrink_receive_buffer(slow.fd());
  REQUIRE(slow.subscribe()->at("type") == "subscribed");
  for (std::size_t i = 0; i < kRecordsPerPhase; ++i) {
    std::string id = "t" + std::to_string(i);
    integration::write_record_atomic(ws.kind_dir("tasks"), id, record_of("task_id", id));
  }
  Subscriber other(ws.socket(), {});
  REQUIRE(other.connect());
  REQUIRE(other.sync(5'000, SteadyClock::now() + 10s));  // every event published, most dropped

  json::object marker;
  REQUIRE_MESSAGE(slow.read_until(
                      [&](const json::object& line) {
                        marker = line;
                        return line.at("type") == "lagged";
                      },
                      SteadyClock::now() + kWaitTimeout),
                  slow.error());
  std::uint64_t from = marker.at("from_seq").to_number<std::uint64_t>();
  std::uint64_t to = marker.at("to_seq").to_number<std::uint64_t>();
  CHECK(marker.at("dropped") == to - from + 1);  // every event matches this subscription
  integration::write_record_atomic(ws.kind_dir("tasks"), "after", record_of("task_id", "after"));
  // Under load the daemon may flush the marker while the burst is still
  // being published, so live events (and further markers) can follow it
  // before "after"; the checker verifies that markers and events together
  // cover every seq. What must hold here: "after" comes after the gap.
  // ...or, when the queue refilled meanwhile, "after" falls in a later gap
  // that a second marker covers. Either way it comes after the first gap.
  json::object next;
  REQUIRE(slow.read_until(
      [&](const json::object& line) {
        next = line;
        return (line.at("type") == "event" && line.at("id") == "after") ||
               line.at("type") == "lagged";
      },
      SteadyClock::now() + kWaitTimeout));
  std::string_view seq_field = next.at("type") == "lagged" ? "from_seq" : "seq";
  CHECK(next.at(seq_field).to_number<std::uint64_t>() > to);
  CHECK(slow.checker().resume_point() == from - 1);

  std::optional<json::object> reply = slow.resume();

  REQUIRE(reply);
  CHECK(reply->at("resumed") == true);
  REQUIRE(slow.sync(5'000, SteadyClock::now() + 10s));
  std::vector<std::string> problems;
  CHECK(slow.checker().verify(read_records(ws.coordination(), problems)) ==
        std::vector<std::string>{});
}

}  // namespace
}  // namespace coordd::lossless
