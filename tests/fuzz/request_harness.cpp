#include "tests/fuzz/request_harness.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <utility>

#include "daemon/server/peer_policy.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace coordd::fuzz {
namespace {

namespace fs = std::filesystem;

// Small bounds, so a short input can reach journal compaction, queue
// overflow (lagged markers) and full mailboxes.
constexpr std::size_t kJournalEvents = 64;
constexpr std::size_t kJournalBytes = 64 * 1024;
constexpr std::size_t kQueueLines = 32;
constexpr std::size_t kQueueBytes = 64 * 1024;
constexpr std::size_t kMailboxMessages = 8;
constexpr std::size_t kMailboxBytes = 16 * 1024;
// Fixed, so seeds can resume with {"since":{"epoch":...}}.
constexpr const char* kEpoch = "0123456789abcdef";
// Enough for the largest reply a short input can cause; a bound, not a wait.
constexpr int kMaxSettleRounds = 256;
// Records and messages nest up to 64 deep (the request parser's limit),
// inside a few levels of envelope.
constexpr std::size_t kMaxReplyDepth = 128;

// The repository behind shared_root(): made by mkdtemp, removed at exit.
class FuzzRoot {
 public:
  FuzzRoot() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/coordd-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror(("cannot create the fuzz root " + pattern).c_str());
      std::abort();
    }
    path_ = fs::canonical(pattern).string();
    write("reservations/r1.json",
          R"({"reservation_id":"r1","run_id":"agent-42","branch":"main",)"
          R"("expires_at":"2099-01-01T00:00:00+00:00","addresses":["src/a.py"]})");
    write("reservations/old.json", R"({"reservation_id":"old","run_id":"agent-1","branch":"main",)"
                                   R"("expires_at":"2020-01-01T00:00:00+00:00"})");
    write("heartbeats/h1.json", R"({"reservation_id":"r1","run_id":"agent-42",)"
                                R"("extended_expires_at":"2099-01-02T00:00:00.5+00:00"})");
    write("intents/i1.json", R"({"run_id":"agent-7","branch":"feature/x","addresses":["b"]})");
  }
  ~FuzzRoot() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  FuzzRoot(const FuzzRoot&) = delete;
  FuzzRoot& operator=(const FuzzRoot&) = delete;

  const std::string& path() const { return path_; }

 private:
  void write(const std::string& relative, std::string_view content) {
    fs::path file = fs::path(path_) / ".muse" / "coordination" / relative;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << content;
  }

  std::string path_;
};

MonitorOptions poll_backend() {
  MonitorOptions options;
  options.backend = BackendChoice::kPoll;
  return options;
}

}  // namespace

const std::string& RequestHarness::shared_root() {
  static const FuzzRoot root;
  return root.path();
}

RequestHarness::RequestHarness(const std::string& root)
    : monitor_(io_, poll_backend()),
      core_(io_, monitor_,
            ServerLimits{kJournalEvents, kJournalBytes,
                         ConnectionLimits{1 << 20, kQueueLines, kQueueBytes,
                                          std::chrono::milliseconds(30'000)},
                         MessageLimits{.mailbox_messages = kMailboxMessages,
                                       .mailbox_bytes = kMailboxBytes,
                                       .mailbox_total_bytes = kDefaultMailboxTotalBytes,
                                       .mailbox_ttl = std::chrono::milliseconds(300'000)}},
            DaemonInfo{kEpoch, monitor_.engine().clock().steady_now(),
                       [this] { return monitor_.backend(); }, false}),
      client_(io_) {
  // The order of Daemon's constructor.
  monitor_.start({root});
  core_.start();

  boost::asio::local::stream_protocol::socket server_end(io_);
  boost::asio::local::connect_pair(client_, server_end);
  client_.non_blocking(true);
  PeerCredentials peer{true, ::getpid(), ::getuid(), ::getgid(), {}};
  connection_ = core_.connect(std::move(server_end), std::move(peer), Access::kFull);
  settle();
}

RequestHarness::~RequestHarness() {
  // The order of Daemon::shutdown(); then the aborted handlers run, releasing
  // what they hold, before any member goes away.
  core_.stop();
  monitor_.stop();
  boost::system::error_code ignored;
  client_.close(ignored);
  io_.restart();
  io_.poll();
}

void RequestHarness::handle(std::string_view frame) {
  // A closed connection reads no more frames; handing it one anyway could
  // register it with the bus after its last detach.
  if (!connection_->closed()) core_.handler().handle(*connection_, frame);
  settle();
}

void RequestHarness::settle() {
  for (int round = 0; round < kMaxSettleRounds; ++round) {
    io_.restart();
    std::size_t handlers = io_.poll();
    std::size_t received = 0;
    boost::system::error_code ec;
    while (!ec) {
      std::size_t n = client_.read_some(boost::asio::buffer(read_buffer_), ec);
      check_lines(std::string_view(read_buffer_.data(), n));
      received += n;
    }
    // ec is would_block once drained, or eof after the connection closed.
    if (handlers == 0 && received == 0) return;
  }
}

void RequestHarness::check_lines(std::string_view bytes) {
  partial_line_ += bytes;
  boost::json::parse_options options;
  options.max_depth = kMaxReplyDepth;
  std::size_t start = 0;
  for (std::size_t end; (end = partial_line_.find('\n', start)) != std::string::npos;
       start = end + 1) {
    std::string_view line = std::string_view(partial_line_).substr(start, end - start);
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(line, ec, {}, options);
    if (ec || !value.is_object()) {
      int shown = int(std::min<std::size_t>(line.size(), 2000));
      std::fprintf(stderr, "the client received a line that is not a JSON object (%s): %.*s\n",
                   ec ? ec.message().c_str() : "not an object", shown, line.data());
    }
    FUZZ_CHECK(!ec && value.is_object());
  }
  partial_line_.erase(0, start);
}

}  // namespace coordd::fuzz
