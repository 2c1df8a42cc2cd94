// What the kernel says about a running process: its resident memory and its
// open descriptors, read from /proc. Used to show that coordd's memory stays
// flat and that it closes what it opens. Any thread; reads only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace coordd::soak {

inline constexpr std::size_t kMiB = std::size_t(1) << 20;

// VmRSS of `pid` in bytes; nullopt when the process is gone.
std::optional<std::size_t> resident_bytes(pid_t pid);

// The entries of /proc/<pid>/fd; nullopt when the process is gone.
std::optional<std::size_t> open_fds(pid_t pid);

// What /proc/<pid>/fd entries point at, counted by sort, for a failure
// message that says what leaked: "248 socket, 2 anon_inode:[timerfd], 3 file".
std::string fd_summary(pid_t pid);

// Raises this process's descriptor limit (and so that of a coordd it starts
// later) to at least `count`; fails the test when the hard limit is lower.
void allow_descriptors(std::size_t count);

// `bytes` as "12.3 MiB".
std::string mib(std::size_t bytes);

// A process's RSS sampled at a steady interval over a run.
struct RssSamples {
  std::chrono::milliseconds interval{250};
  std::vector<std::size_t> bytes{};
  bool process_gone = false;  // sampling stopped early: the process exited

  // The largest sample of one third (0, 1 or 2) of the run; 0 when it has none.
  std::size_t max_of_third(std::size_t third) const;
  // "RSS max per third: ...; every 5 s: ..."
  std::string describe() const;
};

// Samples `pid`'s RSS every `interval` until `end`. Sleeps between samples:
// it sets the cadence, it does not wait for anything to happen.
RssSamples sample_rss_until(pid_t pid, std::chrono::steady_clock::time_point end,
                            std::chrono::milliseconds interval);

}  // namespace coordd::soak
