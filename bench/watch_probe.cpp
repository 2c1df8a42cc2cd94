#include "bench/watch_probe.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>

#include "bench/latency.hpp"

namespace coordd::bench {

void wait_until_watching(RecordDir& dir, const std::atomic<std::size_t>& probes_seen,
                         std::int64_t retry_ns, ChildProcess* child) {
  std::int64_t deadline = mono_now_ns() + 30'000'000'000;
  for (std::size_t k = 0; probes_seen.load() == 0; ++k) {
    if (mono_now_ns() > deadline) throw std::runtime_error("the peer never reported a probe");
    if (child && child->wait_exit(std::chrono::milliseconds(0))) {
      throw std::runtime_error(child->program() + " exited at start");
    }
    std::string id = indexed_id(kProbePrefix, k);
    dir.write_atomic(id, reservation_json(id, 300));
    std::int64_t until = std::min(mono_now_ns() + retry_ns, deadline);
    while (probes_seen.load() == 0 && mono_now_ns() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

}  // namespace coordd::bench
