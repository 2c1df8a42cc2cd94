// The inotify backlog: InotifyBacklog over a pipe carrying inotify-shaped
// records (order, bounds, errors), and InotifyWatcher on a real directory
// working off a burst larger than the kernel's queue without overflowing.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "daemon/engine/clock.hpp"
#include "daemon/watch/inotify_watcher.hpp"
#include "tests/support/workspace.hpp"

using namespace coordd;
namespace fs = std::filesystem;

namespace {

// One inotify_event with `name` (NUL-padded to 16 bytes, as the kernel pads).
std::string raw_event(int wd, std::uint32_t mask, const std::string& name) {
  std::size_t len = (name.size() / 16 + 1) * 16;
  std::string bytes(sizeof(inotify_event) + len, '\0');
  inotify_event head{};
  head.wd = wd;
  head.mask = mask;
  head.len = std::uint32_t(len);
  std::memcpy(bytes.data(), &head, sizeof head);
  std::memcpy(bytes.data() + sizeof head, name.data(), name.size());
  return bytes;
}

struct Pipe {
  int read_end = -1;
  int write_end = -1;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
    read_end = fds[0];
    write_end = fds[1];
    ::fcntl(write_end, F_SETPIPE_SZ, 1 << 20);
  }
  ~Pipe() {
    if (read_end >= 0) ::close(read_end);
    close_write();
  }
  void close_write() {
    if (write_end >= 0) ::close(write_end);
    write_end = -1;
  }
  void put(const std::string& bytes) const {
    REQUIRE(::write(write_end, bytes.data(), bytes.size()) == ssize_t(bytes.size()));
  }
};

std::vector<std::string> take_names(InotifyBacklog& backlog) {
  std::vector<std::string> names;
  while (const inotify_event* event = backlog.front()) {
    names.emplace_back(event->name);
    backlog.pop_front();
  }
  return names;
}

}  // namespace

TEST_CASE("inotify backlog: events come out whole and in the order read") {
  Pipe pipe;
  pipe.put(raw_event(1, IN_MOVED_TO, "a.json") +
           raw_event(2, IN_DELETE, "a-much-longer-name.json"));
  InotifyBacklog backlog;
  CHECK(backlog.empty());
  CHECK(backlog.fill_from(pipe.read_end) == InotifyBacklog::Fill::kDrained);
  REQUIRE(backlog.front() != nullptr);
  CHECK(backlog.front()->wd == 1);
  CHECK(backlog.front()->mask == IN_MOVED_TO);
  backlog.pop_front();
  pipe.put(raw_event(3, IN_CLOSE_WRITE, "c.json"));
  CHECK(backlog.fill_from(pipe.read_end) == InotifyBacklog::Fill::kDrained);
  CHECK(take_names(backlog) == std::vector<std::string>{"a-much-longer-name.json", "c.json"});
  CHECK(backlog.empty());
  CHECK(backlog.bytes() == 0);
}

TEST_CASE("inotify backlog: past its bound it stops reading, leaving the rest in the kernel") {
  Pipe pipe;
  std::string batch;
  constexpr int kEvents = 4000;  // 128 KiB: two of the backlog's reads
  for (int i = 0; i < kEvents; ++i) batch += raw_event(i, IN_MOVED_TO, "r" + std::to_string(i));
  pipe.put(batch);
  InotifyBacklog backlog(1);  // full after any read
  CHECK(backlog.fill_from(pipe.read_end) == InotifyBacklog::Fill::kFull);
  CHECK(backlog.bytes() < batch.size());
  std::vector<std::string> names = take_names(backlog);
  // The rest fits one read with room to spare: the queue is known empty.
  CHECK(backlog.fill_from(pipe.read_end) == InotifyBacklog::Fill::kDrained);
  std::vector<std::string> rest = take_names(backlog);
  names.insert(names.end(), rest.begin(), rest.end());
  CHECK(backlog.fill_from(pipe.read_end) == InotifyBacklog::Fill::kDrained);
  REQUIRE(names.size() == std::size_t(kEvents));
  for (int i = 0; i < kEvents; i += 997) CHECK(names[std::size_t(i)] == "r" + std::to_string(i));
}

TEST_CASE("inotify backlog: a burst's memory is given back once it is worked off") {
  Pipe pipe;
  REQUIRE(::fcntl(pipe.write_end, F_GETPIPE_SZ) >= (1 << 20));
  std::string burst;
  while (burst.size() + 64 <= (1u << 20) - 4096) burst += raw_event(1, IN_MOVED_TO, "x.json");
  InotifyBacklog backlog;
  for (int i = 0; i < 2; ++i) {  // more than the pipe holds, none handled yet
    pipe.put(burst);
    CHECK(backlog.fill_from(pipe.read_end) == InotifyBacklog::Fill::kDrained);
  }
  CHECK(backlog.bytes() == 2 * burst.size());
  CHECK(backlog.capacity() > (1u << 20));
  take_names(backlog);
  CHECK(backlog.capacity() == 0);
  // And it works as before afterwards.
  pipe.put(raw_event(2, IN_DELETE, "y.json"));
  CHECK(backlog.fill_from(pipe.read_end) == InotifyBacklog::Fill::kDrained);
  CHECK(take_names(backlog) == std::vector<std::string>{"y.json"});
}

TEST_CASE("inotify backlog: a failed read is an error, what was read before it stays") {
  Pipe pipe;
  pipe.put(raw_event(1, IN_MOVED_TO, "a.json"));
  pipe.close_write();  // EOF: an inotify descriptor never gives one
  InotifyBacklog backlog;
  CHECK(backlog.fill_from(pipe.read_end) == InotifyBacklog::Fill::kDrained);
  CHECK(backlog.fill_from(pipe.read_end) == InotifyBacklog::Fill::kError);
  CHECK(errno == EIO);
  CHECK(take_names(backlog) == std::vector<std::string>{"a.json"});
}

namespace {

// Renames `per_event` more staged records into place each time a record is
// reported, as writers racing a busy watcher would: far more than the
// kernel's queue holds arrive while the watcher works.
class RacingWriter final : public WatchSink {
 public:
  RacingWriter(fs::path dir, std::size_t total, std::size_t per_event)
      : dir_(std::move(dir)), total_(total), per_event_(per_event) {}

  void stage() const {
    for (std::size_t i = 0; i < total_; ++i) {
      std::ofstream(dir_ / temp_name(i)) << "{\"n\":" << i << "}";
    }
  }
  void rename_more(std::size_t count) {
    for (; count > 0 && renamed_ < total_; --count, ++renamed_) {
      fs::rename(dir_ / temp_name(renamed_), dir_ / name(renamed_));
    }
  }
  static std::string name(std::size_t i) { return "r" + std::to_string(i) + ".json"; }

  void on_file_changed(RootId, Kind, std::string_view file) override {
    reported.emplace_back(file);
    rename_more(per_event_);
  }
  void on_file_gone(RootId, Kind, std::string_view) override {}
  void on_coordination_file(RootId, std::string_view) override {}
  void on_rescan(RootId, RescanCause cause) override {
    if (cause == RescanCause::kOverflow) ++overflows;
  }

  std::vector<std::string> reported;
  int overflows = 0;

 private:
  static std::string temp_name(std::size_t i) { return ".r" + std::to_string(i) + ".json.tmp"; }
  fs::path dir_;
  std::size_t total_;
  std::size_t per_event_;
  std::size_t renamed_ = 0;
};

std::size_t kernel_queue_events() {
  std::ifstream in("/proc/sys/fs/inotify/max_queued_events");
  std::size_t events = 16384;
  in >> events;
  return events;
}

}  // namespace

TEST_CASE("inotify: a burst larger than the kernel's queue is worked off without an overflow") {
  // Each rename queues two events (the temp name moved from, the record
  // moved to). The watcher refills its backlog every kRefillEvery events,
  // in which at most kRefillEvery * kPerEvent renames happen: well inside
  // the kernel's queue. Read in 64 KiB batches and handled whole, as before
  // the backlog, the same writer overflowed it within the first batch.
  constexpr std::size_t kPerEvent = 16;
  static_assert(kRefillEvery * kPerEvent * 2 < 16384);
  const std::size_t total = kernel_queue_events() + 1000;
  support::TempDir root("coordd-inotify-burst");
  fs::path dir = root.path() / ".muse" / "coordination" / "reservations";
  fs::create_directories(dir);
  RacingWriter writer(dir, total, kPerEvent);
  writer.stage();

  boost::asio::io_context io;
  SystemClock clock;
  InotifyWatcher watcher(io, writer, clock, std::chrono::microseconds(0));
  REQUIRE(watcher.add_root(1, root.path().string()).ok());
  writer.rename_more(1);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (writer.reported.size() < total && writer.overflows == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(50));
  }
  watcher.stop();
  CHECK(writer.overflows == 0);
  REQUIRE(writer.reported.size() == total);
  for (std::size_t i = 0; i < total; ++i) {
    if (writer.reported[i] != RacingWriter::name(i)) {
      FAIL_CHECK("record " << i << " reported as " << writer.reported[i]);
      break;
    }
  }
}
