// LatencyLog: when each of `messages` messages was sent and when each of
// `receivers` receivers first read it, on CLOCK_MONOTONIC, in preallocated
// arrays. One writer thread calls mark_sent and one reader thread calls
// mark_arrived; results are read once both have stopped (arrived() may be
// polled meanwhile from any thread).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace coordd::bench {

// CLOCK_MONOTONIC in nanoseconds: the clock of every timestamp in bench/.
std::int64_t mono_now_ns();
// Sleeps until CLOCK_MONOTONIC reaches `t_ns` (absolute, so a steady rate
// does not drift with the time spent between sleeps).
void sleep_until_ns(std::int64_t t_ns);

class LatencyLog;
// Waits until every arrival is in, or none came for `stall_ns`.
void wait_for_arrivals(const LatencyLog& log, std::int64_t stall_ns);

class LatencyLog {
 public:
  LatencyLog(std::size_t messages, std::size_t receivers);

  std::size_t messages() const { return messages_; }
  std::size_t receivers() const { return receivers_; }

  void mark_sent(std::size_t message, std::int64_t t_ns) { sent_[message] = t_ns; }
  // Records the first arrival of `message` at `receiver`; later ones (a
  // replay) are ignored. Out-of-range indexes are ignored too.
  void mark_arrived(std::size_t receiver, std::size_t message, std::int64_t t_ns);

  // Distinct (receiver, message) arrivals so far.
  std::size_t arrived() const { return arrived_.load(std::memory_order_acquire); }
  bool complete() const { return arrived() == messages_ * receivers_; }

  // When `receiver` first read `message` (0: not yet), and when it was sent.
  std::int64_t arrival_ns(std::size_t receiver, std::size_t message) const {
    return arrival_[receiver * messages_ + message];
  }
  std::int64_t sent_ns(std::size_t message) const { return sent_[message]; }

  // Arrival minus send time of every arrival, in ns.
  std::vector<std::int64_t> latencies_ns() const;
  // The first send and the last arrival (0 when none).
  std::int64_t first_sent_ns() const;
  std::int64_t last_arrival_ns() const;
  // The last arrival of each receiver that saw every message (0 otherwise).
  std::int64_t receiver_done_ns(std::size_t receiver) const;

 private:
  std::size_t messages_;
  std::size_t receivers_;
  std::vector<std::int64_t> sent_;
  std::vector<std::int64_t> arrival_;  // receiver-major; 0 = not yet
  std::atomic<std::size_t> arrived_{0};
};

}  // namespace coordd::bench
