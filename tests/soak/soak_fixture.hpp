// The soak suite's words on top of the integration fixture: the daemon's pid
// and status, waits (with deadlines) for coordd to notice closed clients and
// release their descriptors, an interruptible pause for load threads, and the
// seed and duration the run was asked for. The waits fail the test, so they
// belong to doctest's main thread; pause_for() is for any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "tests/integration/daemon_fixture.hpp"
#include "tests/lossless/stream_checker.hpp"

namespace coordd::soak {

using integration::DaemonProcess;
using integration::EventReader;
using integration::Workspace;
using lossless::RecordsByKind;
using SteadyClock = std::chrono::steady_clock;
namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// How long the soak runs: COORDD_SOAK_SECONDS (the long mode is 600),
// else 60.
std::chrono::seconds soak_duration();
// The seed of every random choice: COORDD_SOAK_SEED, else a fixed one, so a
// failing run can be replayed.
std::uint32_t soak_seed();

json::object status_of(EventReader& reader);
pid_t daemon_pid(EventReader& reader);

// Asks status until coordd counts at most `count` clients, or 5 s pass;
// returns the last count. coordd learns that a client closed only when it
// reads the EOF, and nothing tells the test when that happened, so this is
// one of the few polls.
std::uint64_t settled_client_count(EventReader& reader, std::uint64_t count);

// Counts coordd's descriptors until there are at most `expected`, or 5 s
// pass; returns the last count. A closed connection's socket is released
// when coordd handles its EOF, which nothing announces; hence a poll.
std::size_t settled_fd_count(pid_t pid, std::size_t expected);

// Every record on disk; fails the test when a file does not parse (the
// writers only ever leave whole JSON objects behind).
RecordsByKind disk_records(const Workspace& ws);

// Runs `body` on a thread that stops when asked (or destroyed), keeping what
// it returns -- or what it threw -- in `error`: "" means it went well.
std::jthread load_thread(std::string& error, std::function<std::string(std::stop_token)> body);

// Whether a subscribe request got a `subscribed` reply.
bool is_subscribed(const std::optional<json::object>& reply);

// Waits `how_long`, or less if a stop is requested; false when it was.
// For load threads pacing themselves, never for a test waiting on coordd.
bool pause_for(std::stop_token stop, std::chrono::nanoseconds how_long);
// The same, until `when`.
bool pause_until(std::stop_token stop, SteadyClock::time_point when);

}  // namespace coordd::soak
