// A client that sends 100,000 pings and never reads a reply: coordd stops
// reading from it once its queue is full, keeps answering another client
// promptly, and its memory stays bounded.
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "tests/soak/process_probe.hpp"
#include "tests/soak/soak_fixture.hpp"

namespace coordd::soak {
namespace {

constexpr std::size_t kPings = 100'000;
constexpr std::string_view kPing = "{\"op\":\"ping\"}\n";
constexpr std::size_t kChunk = 64 * 1024;
// How long the flood may make no progress before we take it that coordd has
// stopped reading it, as promised.
constexpr auto kStuckFor = 1s;
constexpr auto kFloodDeadline = 20s;
constexpr auto kMaxRoundTrip = 100ms;
constexpr std::size_t kMaxGrowth = 64 * kMiB;

struct FloodFigures {
  std::size_t bytes_accepted = 0;
  std::size_t round_trips = 0;
  std::chrono::microseconds slowest_round_trip{0};
  std::size_t rss_before = 0, rss_max = 0;
};

// Times one ping of `other`.
std::chrono::microseconds ping_round_trip(EventReader& other) {
  auto start = SteadyClock::now();
  json::object pong = other.call({{"op", "ping"}});
  REQUIRE(pong.at("type") == "pong");
  return std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - start);
}

// Pushes every ping into `flood` without reading, as far as coordd takes
// them, timing `other`'s pings and sampling coordd's RSS all along.
FloodFigures flood_with_pings(CoordClient& flood, EventReader& other, pid_t pid) {
  std::string pings;
  pings.reserve(kPings * kPing.size());
  for (std::size_t i = 0; i < kPings; ++i) pings += kPing;
  FloodFigures figures;
  figures.rss_before = figures.rss_max = resident_bytes(pid).value_or(0);
  auto deadline = SteadyClock::now() + kFloodDeadline;
  auto last_progress = SteadyClock::now();
  while (figures.bytes_accepted < pings.size() && SteadyClock::now() < deadline) {
    std::size_t size = std::min(kChunk, pings.size() - figures.bytes_accepted);
    ssize_t n = ::send(flood.fd(), pings.data() + figures.bytes_accepted, size,
                       MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      figures.bytes_accepted += std::size_t(n);
      last_progress = SteadyClock::now();
    } else {
      REQUIRE_MESSAGE((errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR),
                      "sending the flood: " << std::strerror(errno));
      if (SteadyClock::now() - last_progress > kStuckFor) break;
      pollfd writable{flood.fd(), POLLOUT, 0};
      ::poll(&writable, 1, 10);  // at most 10 ms between the other client's pings
    }
    figures.slowest_round_trip = std::max(figures.slowest_round_trip, ping_round_trip(other));
    ++figures.round_trips;
    figures.rss_max = std::max(figures.rss_max, resident_bytes(pid).value_or(0));
  }
  return figures;
}

TEST_CASE(
    "a client that sends 100,000 pings and never reads the replies neither slows another "
    "client's ping past 100 ms nor grows coordd's memory by 64 MiB") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader other = daemon.connect();
  const pid_t pid = daemon_pid(other);
  CoordClient flood;
  REQUIRE_MESSAGE(flood.connect(ws.socket().string()), flood.error());

  FloodFigures figures = flood_with_pings(flood, other, pid);
  for (int i = 0; i < 20; ++i) {
    figures.slowest_round_trip = std::max(figures.slowest_round_trip, ping_round_trip(other));
  }
  figures.rss_max = std::max(figures.rss_max, resident_bytes(pid).value_or(0));

  const std::size_t pings_accepted = figures.bytes_accepted / kPing.size();
  MESSAGE(pings_accepted << " of " << kPings << " pings accepted before coordd stopped reading; "
                         << figures.round_trips + 20 << " pings of another client, the slowest "
                         << figures.slowest_round_trip.count() << " us; RSS "
                         << mib(figures.rss_before) << " before, at most " << mib(figures.rss_max));
  CHECK(figures.slowest_round_trip < kMaxRoundTrip);
  CHECK(figures.rss_max - figures.rss_before < kMaxGrowth);
  flood.close();
  CHECK(settled_client_count(other, 1) == 1);
  CHECK(other.call({{"op", "ping"}}).at("type") == "pong");
}

}  // namespace
}  // namespace coordd::soak
