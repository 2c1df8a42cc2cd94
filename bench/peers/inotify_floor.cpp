// inotify_floor: the ingest benchmark's floor peer, the least a watcher that
// must read every changed record can do: one inotify watch on one directory
// (files renamed or written into it), and per change openat + read + close of
// the file, nothing else (no parsing, no state, no output per change).
//
//   inotify_floor DIR COUNT
//   inotify_floor --scan DIR
//
// --scan is the scale benchmark's floor, the least a watcher that must read
// every record before it is ready can do: list DIR (readdir) and openat +
// read + close each file not starting with '.', then print
//   done FILES BYTES
// and exit 0 (1 when DIR cannot be listed). Its time from exec to exit is
// what any start-to-ready of those records costs at least.
//
// Prints "watching" once the watch is in place; after COUNT changes (names
// not starting with '.') prints
//   done CHANGES READ_OK OPEN_FAILED BYTES FIRST_NS LAST_NS CPU_NS
// (CLOCK_MONOTONIC just after the first and the last close; its own CPU
// time since it started watching) and exits 0. On an inotify
// queue overflow prints "overflow CHANGES" and exits 1; bad usage exits 2.
// Single-threaded, blocking.
#include <dirent.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace {

// Room for one record as large as coordd reads by default (1 MiB); larger
// files take more reads.
constexpr std::size_t kReadBytes = std::size_t(1) << 20;
alignas(8) char read_buffer[kReadBytes];
alignas(alignof(inotify_event)) char event_buffer[64 * 1024];

std::int64_t now_ns(clockid_t clock) {
  timespec t{};
  ::clock_gettime(clock, &t);
  return std::int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

void say(const char* line) {
  std::fputs(line, stdout);
  std::fflush(stdout);
}

struct Tally {
  std::uint64_t changes = 0;
  std::uint64_t read_ok = 0;
  std::uint64_t open_failed = 0;
  std::uint64_t bytes = 0;
  std::int64_t first_ns = 0;
  std::int64_t last_ns = 0;
};

void read_file(int dir_fd, const char* name, Tally& tally) {
  int fd = ::openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ++tally.open_failed;
    return;
  }
  // A short read is the end of a regular file: no second read for EOF.
  for (;;) {
    ssize_t n = ::read(fd, read_buffer, kReadBytes);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) tally.bytes += std::uint64_t(n);
    if (n < std::int64_t(kReadBytes)) break;
  }
  ::close(fd);
  ++tally.read_ok;
}

// --scan DIR
int scan(const char* dir_path) {
  DIR* dir = ::opendir(dir_path);
  if (dir == nullptr) {
    std::fprintf(stderr, "inotify_floor: cannot list %s: %s\n", dir_path, std::strerror(errno));
    return 1;
  }
  Tally tally;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    read_file(::dirfd(dir), entry->d_name, tally);
  }
  ::closedir(dir);
  std::printf("done %llu %llu\n", static_cast<unsigned long long>(tally.read_ok),
              static_cast<unsigned long long>(tally.bytes));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string_view(argv[1]) == "--scan") return scan(argv[2]);
  std::uint64_t count = 0;
  std::string_view count_text = argc == 3 ? argv[2] : "";
  auto [end, ec] = std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
  if (argc != 3 || ec != std::errc() || end != count_text.data() + count_text.size() ||
      count == 0) {
    std::fprintf(stderr, "usage: inotify_floor DIR COUNT (COUNT > 0) | inotify_floor --scan DIR\n");
    return 2;
  }
  int dir_fd = ::open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int inotify_fd = ::inotify_init1(IN_CLOEXEC);
  if (dir_fd < 0 || inotify_fd < 0 ||
      ::inotify_add_watch(inotify_fd, argv[1], IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR) < 0) {
    std::fprintf(stderr, "inotify_floor: cannot watch %s: %s\n", argv[1], std::strerror(errno));
    return 2;
  }
  say("watching\n");
  std::int64_t cpu_start_ns = now_ns(CLOCK_PROCESS_CPUTIME_ID);

  Tally tally;
  while (tally.changes < count) {
    ssize_t got = ::read(inotify_fd, event_buffer, sizeof event_buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      std::fprintf(stderr, "inotify_floor: read: %s\n", std::strerror(errno));
      return 2;
    }
    for (ssize_t at = 0; at < got && tally.changes < count;) {
      const auto* event = reinterpret_cast<const inotify_event*>(event_buffer + at);
      at += ssize_t(sizeof(inotify_event) + event->len);
      if (event->mask & IN_Q_OVERFLOW) {
        std::printf("overflow %llu\n", static_cast<unsigned long long>(tally.changes));
        return 1;
      }
      if (event->len == 0 || event->name[0] == '.') continue;
      read_file(dir_fd, event->name, tally);
      if (tally.changes++ == 0) tally.first_ns = now_ns(CLOCK_MONOTONIC);
    }
  }
  tally.last_ns = now_ns(CLOCK_MONOTONIC);  // just after the last close
  std::int64_t cpu_ns = now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu_start_ns;
  std::printf("done %llu %llu %llu %llu %lld %lld %lld\n",
              static_cast<unsigned long long>(tally.changes),
              static_cast<unsigned long long>(tally.read_ok),
              static_cast<unsigned long long>(tally.open_failed),
              static_cast<unsigned long long>(tally.bytes), static_cast<long long>(tally.first_ns),
              static_cast<long long>(tally.last_ns), static_cast<long long>(cpu_ns));
  return 0;
}
