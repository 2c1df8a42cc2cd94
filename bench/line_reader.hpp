// LineReader: a thread that reads newline-terminated lines from one fd (a
// child's stdout pipe or a coordd socket), stamps each read() with
// CLOCK_MONOTONIC as it returns, and hands every line of that read to the
// handler, on the reader's own thread. The handler must not block for long:
// time spent in it delays the next read. stop() (or the destructor) wakes,
// ends and joins the thread; the fd stays the caller's.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string_view>
#include <thread>

namespace coordd::bench {

class LineReader {
 public:
  using Handler = std::function<void(std::string_view line, std::int64_t read_ns)>;

  LineReader(int fd, Handler handler);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  void stop();
  // The other end closed (or a read failed).
  bool ended() const { return ended_.load(std::memory_order_acquire); }

 private:
  void run();

  int fd_;
  int wake_fd_;  // an eventfd written by stop()
  Handler handler_;
  std::atomic<bool> ended_{false};
  std::thread thread_;
};

}  // namespace coordd::bench
