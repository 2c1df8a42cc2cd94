#include "tests/soak/soak_fixture.hpp"

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/soak/process_probe.hpp"
#include "tests/support/poll_until.hpp"

namespace coordd::soak {
namespace {

constexpr auto kSettleTimeout = 5s;
constexpr auto kMaxPollPause = 10ms;  // the longest pause between two looks
constexpr std::uint32_t kDefaultSeed = 20'260'707;

std::optional<unsigned long> env_number(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return std::nullopt;
  char* end = nullptr;
  unsigned long value = std::strtoul(text, &end, 10);
  if (*end != '\0') FAIL(name << "=" << text << " is not a number");
  return value;
}

}  // namespace

std::chrono::seconds soak_duration() {
  return std::chrono::seconds(env_number("COORDD_SOAK_SECONDS").value_or(60));
}

std::uint32_t soak_seed() {
  return std::uint32_t(env_number("COORDD_SOAK_SEED").value_or(kDefaultSeed));
}

json::object status_of(EventReader& reader) {
  json::object status = reader.call({{"op", "status"}});
  REQUIRE(status.at("type") == "status");
  return status;
}

pid_t daemon_pid(EventReader& reader) {
  return pid_t(status_of(reader).at("pid").to_number<std::int64_t>());
}

std::uint64_t settled_client_count(EventReader& reader, std::uint64_t count) {
  std::uint64_t clients = 0;
  support::poll_until(
      kSettleTimeout,
      [&] {
        clients = status_of(reader).at("clients").to_number<std::uint64_t>();
        return clients <= count;
      },
      kMaxPollPause);
  return clients;
}

std::size_t settled_fd_count(pid_t pid, std::size_t expected) {
  std::size_t count = 0;
  support::poll_until(
      kSettleTimeout,
      [&] {
        std::optional<std::size_t> fds = open_fds(pid);
        REQUIRE_MESSAGE(fds.has_value(), "coordd (pid " << pid << ") is gone");
        count = *fds;
        return count <= expected;
      },
      kMaxPollPause);
  return count;
}

RecordsByKind disk_records(const Workspace& ws) {
  std::vector<std::string> problems;
  RecordsByKind records = lossless::read_records(ws.coordination(), problems);
  REQUIRE(problems == std::vector<std::string>{});
  return records;
}

std::jthread load_thread(std::string& error, std::function<std::string(std::stop_token)> body) {
  return std::jthread([&error, body = std::move(body)](std::stop_token stop) {
    try {
      error = body(stop);
    } catch (const std::exception& e) {
      error = std::string("threw: ") + e.what();
    }
  });
}

bool is_subscribed(const std::optional<json::object>& reply) {
  return reply && reply->at("type") == "subscribed";
}

bool pause_until(std::stop_token stop, SteadyClock::time_point when) {
  std::mutex mutex;
  std::condition_variable_any woken;
  std::unique_lock lock(mutex);
  woken.wait_until(lock, stop, when, [] { return false; });  // nobody notifies: a timed wait
  return !stop.stop_requested();
}

bool pause_for(std::stop_token stop, std::chrono::nanoseconds how_long) {
  return pause_until(stop, SteadyClock::now() + how_long);
}

}  // namespace coordd::soak
