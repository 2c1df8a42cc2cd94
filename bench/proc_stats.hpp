// ProcStats: what /proc says about a running process, summed over its
// threads: CPU time (utime+stime in clock ticks from /proc/<pid>/stat, and
// the nanosecond on-CPU time from each thread's schedstat), voluntary and
// involuntary context switches, and resident memory. Any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace coordd::bench {

struct ProcStats {
  std::int64_t cpu_ticks = 0;             // utime + stime, in 1/CLK_TCK s
  std::int64_t cpu_ns = 0;                // sum of the threads' schedstat run time
  std::int64_t voluntary_switches = 0;    // sum over the threads
  std::int64_t involuntary_switches = 0;  // sum over the threads
  std::int64_t rss_bytes = 0;             // VmRSS
  std::int64_t peak_rss_bytes = 0;        // VmHWM
  int threads = 0;

  double cpu_seconds() const;  // from ticks
  std::int64_t switches() const { return voluntary_switches + involuntary_switches; }
};

// A zeroed ProcStats when the process is gone.
ProcStats read_proc_stats(pid_t pid);

// What happened between two readings (memory fields: the later reading).
ProcStats operator-(const ProcStats& later, const ProcStats& earlier);

}  // namespace coordd::bench
