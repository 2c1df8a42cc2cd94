// FloorPeer: the ingest benchmark's floor, bench/peers/inotify_floor, as a
// child watching one directory for a given number of changes (inotify, then
// openat + read + close per change, nothing else). Construction returns once
// its watch is in place; finish() reads the tally it prints when it has read
// them all. scan_floor() runs the same binary as the scale benchmark's floor.
// Main thread only (they are ChildProcesses).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "bench/child_options.hpp"

namespace coordd::bench {

class FloorPeer {
 public:
  struct Tally {
    std::uint64_t changes = 0;      // changes handled (read, or gone before openat)
    std::uint64_t read_ok = 0;      // files read
    std::uint64_t open_failed = 0;  // files gone before openat
    std::uint64_t bytes = 0;
    std::int64_t first_read_ns = 0;  // CLOCK_MONOTONIC just after the first close
    std::int64_t last_read_ns = 0;   // and after the last one
    std::int64_t cpu_ns = 0;         // the floor's own CPU time, once watching
    bool overflowed = false;         // the inotify queue overflowed: changes were lost
  };

  // Starts `binary` on `dir` for `changes` changes, its stderr to `log`;
  // throws std::runtime_error when it exits or is not watching within 30 s.
  FloorPeer(const std::string& binary, const std::filesystem::path& dir, std::size_t changes,
            const std::string& log);

  // Its tally, once it has handled every change or overflowed; nullopt when
  // it has done neither within `within` (it is then stopped with this object).
  std::optional<Tally> finish(std::chrono::milliseconds within);

 private:
  ChildProcess child_;
};

struct ScanFloor {
  std::uint64_t files = 0;  // files read
  std::uint64_t bytes = 0;
  double ms = 0;  // exec to exit
};

// `binary` --scan `dir`: lists it and reads every file once, then exits.
// Throws std::runtime_error when it fails or runs longer than `within`.
ScanFloor scan_floor(const std::string& binary, const std::filesystem::path& dir,
                     std::chrono::milliseconds within);

}  // namespace coordd::bench
