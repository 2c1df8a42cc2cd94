// wait_until_watching: a peer that watches a directory (inotifywait,
// seed_watch.py, coordd) gives no sign that it is ready; so write probe
// records until it reports one. Main thread only.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bench/child_options.hpp"
#include "bench/records.hpp"

namespace coordd::bench {

// Ids of probe records: "probe-0000000", ...
inline constexpr std::string_view kProbePrefix = "probe-";

// Writes a probe every `retry_ns` until `probes_seen` (bumped by the caller's
// reader) is non-zero. Throws std::runtime_error after 30 s, or when `child`
// (may be null) exits meanwhile.
void wait_until_watching(RecordDir& dir, const std::atomic<std::size_t>& probes_seen,
                         std::int64_t retry_ns, ChildProcess* child);

}  // namespace coordd::bench
