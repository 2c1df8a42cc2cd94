#include "bench/latency.hpp"

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

namespace coordd::bench {

std::int64_t mono_now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void sleep_until_ns(std::int64_t t_ns) {
  timespec ts{};
  ts.tv_sec = t_ns / 1'000'000'000;
  ts.tv_nsec = t_ns % 1'000'000'000;
  while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

LatencyLog::LatencyLog(std::size_t messages, std::size_t receivers)
    : messages_(messages),
      receivers_(receivers),
      sent_(messages, 0),
      arrival_(messages * receivers, 0) {}

void LatencyLog::mark_arrived(std::size_t receiver, std::size_t message, std::int64_t t_ns) {
  if (receiver >= receivers_ || message >= messages_) return;
  std::int64_t& slot = arrival_[receiver * messages_ + message];
  if (slot != 0) return;
  slot = t_ns;
  arrived_.fetch_add(1, std::memory_order_release);
}

std::vector<std::int64_t> LatencyLog::latencies_ns() const {
  std::vector<std::int64_t> out;
  out.reserve(arrived());
  for (std::size_t r = 0; r < receivers_; ++r) {
    for (std::size_t m = 0; m < messages_; ++m) {
      std::int64_t t = arrival_[r * messages_ + m];
      if (t != 0 && sent_[m] != 0) out.push_back(t - sent_[m]);
    }
  }
  return out;
}

std::int64_t LatencyLog::first_sent_ns() const {
  std::int64_t first = 0;
  for (std::int64_t t : sent_) {
    if (t != 0 && (first == 0 || t < first)) first = t;
  }
  return first;
}

std::int64_t LatencyLog::last_arrival_ns() const {
  return arrival_.empty() ? 0 : *std::max_element(arrival_.begin(), arrival_.end());
}

std::int64_t LatencyLog::receiver_done_ns(std::size_t receiver) const {
  auto begin = arrival_.begin() + std::ptrdiff_t(receiver * messages_);
  auto end = begin + std::ptrdiff_t(messages_);
  if (std::find(begin, end, 0) != end) return 0;
  return begin == end ? 0 : *std::max_element(begin, end);
}

void wait_for_arrivals(const LatencyLog& log, std::int64_t stall_ns) {
  std::size_t last = log.arrived();
  std::int64_t last_progress = mono_now_ns();
  while (!log.complete() && mono_now_ns() - last_progress < stall_ns) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (log.arrived() != last) {
      last = log.arrived();
      last_progress = mono_now_ns();
    }
  }
}

}  // namespace coordd::bench
