#include "tests/unit/server_fixture.hpp"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <fstream>

namespace coordd::testing {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// Bounded: a fixed number of rounds of handlers and reads, not a wait.
constexpr int kMaxRunRounds = 1000;

std::string make_root(const fs::path& dir) {
  fs::create_directories(dir / ".muse" / "coordination");
  return dir.string();
}

MonitorOptions inotify_without_spin() {
  MonitorOptions options;
  options.backend = BackendChoice::kInotify;
  options.temp_spin = std::chrono::microseconds(0);  // the spin reads the (frozen) clock
  return options;
}

}  // namespace

void FixtureClient::send(const json::object& request) {
  std::string line = json::serialize(request) + "\n";
  boost::system::error_code ec;
  boost::asio::write(socket_, boost::asio::buffer(line), ec);
  REQUIRE_MESSAGE(!ec, "cannot write to coordd: " << ec.message());
}

void FixtureClient::drain() {
  if (!reading_ || closed_) return;
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = ::recv(socket_.native_handle(), buffer, sizeof buffer, MSG_DONTWAIT);
    if (n == 0) {
      closed_ = true;
      return;
    }
    if (n < 0) return;  // EAGAIN: nothing more now
    partial_.append(buffer, std::size_t(n));
    for (std::size_t end; (end = partial_.find('\n')) != std::string::npos;) {
      lines_.push_back(json::parse(partial_.substr(0, end)).as_object());
      partial_.erase(0, end + 1);
    }
  }
}

json::object FixtureClient::take() {
  REQUIRE_MESSAGE(!lines_.empty(), "coordd sent no further line");
  json::object line = std::move(lines_.front());
  lines_.pop_front();
  return line;
}

json::object FixtureClient::take_until(std::string_view type) {
  for (;;) {
    json::object line = take();
    if (line.at("type").as_string() == type) return line;
  }
}

ServerLimits ServerFixture::small_limits() {
  ServerLimits limits;
  limits.journal_events = 256;
  limits.connection.queue_max_lines = 8;
  limits.connection.queue_max_bytes = 64 * 1024;
  limits.connection.slow_consumer_grace = std::chrono::milliseconds(30'000);
  limits.messages.mailbox_messages = 8;
  limits.messages.mailbox_ttl = std::chrono::milliseconds(300'000);
  return limits;
}

WallTime ServerFixture::at_start() { return *parse_timestamp("2026-03-30T15:00:00Z"); }

ServerFixture::ServerFixture(ServerLimits server_limits)
    : limits(server_limits),
      root_(make_root(dir_.path())),
      monitor_(io_, inotify_without_spin(), clock),
      core_(io_, monitor_, limits, DaemonInfo{"fixture-epoch", clock.steady_now(), {}, false}) {
  monitor_.start({root_});
  core_.start();
}

ServerFixture::~ServerFixture() {
  core_.stop();
  monitor_.stop();
  clients_.clear();
  io_.restart();
  io_.poll();
}

FixtureClient& ServerFixture::connect(int send_buffer) {
  auto client = std::make_unique<FixtureClient>(io_);
  boost::asio::local::stream_protocol::socket server_end(io_);
  boost::asio::local::connect_pair(client->socket(), server_end);
  ::setsockopt(server_end.native_handle(), SOL_SOCKET, SO_SNDBUF, &send_buffer, sizeof send_buffer);
  ::setsockopt(client->socket().native_handle(), SOL_SOCKET, SO_RCVBUF, &send_buffer,
               sizeof send_buffer);
  PeerCredentials peer{true, ::getpid(), ::getuid(), ::getgid(), {}};
  core_.connect(std::move(server_end), peer, Access::kFull);
  clients_.push_back(std::move(client));
  run();
  return *clients_.back();
}

void ServerFixture::write_record(std::string_view kind_dir, std::string_view id,
                                 const json::object& data) {
  fs::path dir = fs::path(root_) / ".muse" / "coordination" / kind_dir;
  fs::create_directories(dir);
  fs::path temp = dir / ("." + std::string(id) + ".tmp");
  std::ofstream(temp) << json::serialize(data);
  fs::rename(temp, dir / (std::string(id) + ".json"));
}

void ServerFixture::run() {
  for (int round = 0; round < kMaxRunRounds; ++round) {
    io_.restart();
    std::size_t handled = io_.poll();
    std::size_t before = 0, after = 0;
    for (auto& client : clients_) before += client->lines().size();
    for (auto& client : clients_) client->drain();
    for (auto& client : clients_) after += client->lines().size();
    if (handled == 0 && before == after) return;
  }
  FAIL("the reactor was still busy after " << kMaxRunRounds << " rounds");
}

void ServerFixture::advance(std::chrono::milliseconds by) {
  clock.advance(by);
  run();
}

}  // namespace coordd::testing
