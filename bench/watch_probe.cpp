#include "bench/watch_probe.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "tests/support/poll_until.hpp"

namespace coordd::bench {

void wait_until_watching(RecordDir& dir, const std::atomic<std::size_t>& probes_seen,
                         std::int64_t retry_ns, ChildProcess* child) {
  using Clock = support::PollClock;
  Clock::time_point deadline = Clock::now() + std::chrono::seconds(30);
  for (std::size_t k = 0; probes_seen.load() == 0; ++k) {
    if (Clock::now() > deadline) throw std::runtime_error("the peer never reported a probe");
    if (child && child->wait(std::chrono::milliseconds(0))) {
      throw std::runtime_error(child->program() + " exited at start");
    }
    std::string id = indexed_id(kProbePrefix, k);
    dir.write_atomic(id, reservation_json(id, 300));
    Clock::time_point until = std::min(Clock::now() + std::chrono::nanoseconds(retry_ns), deadline);
    support::poll_until(
        until, [&] { return probes_seen.load() != 0; }, std::chrono::milliseconds(1));
  }
}

}  // namespace coordd::bench
