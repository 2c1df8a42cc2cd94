// FanoutReader: one thread reading many subscriber sockets through one
// epoll set, so that 100 subscribers cost the harness one core, not 100
// threads. Each socket has its own MessageSplitter (NDJSON lines, or RESP
// pub/sub frames); every message is handed to the handler with the index of
// its socket and the CLOCK_MONOTONIC time its read() returned, on the
// reader's thread. The sockets are made non-blocking and stay the caller's;
// stop() (or the destructor) ends and joins the thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace coordd::bench {

// Splits one byte stream into messages. One per connection.
class MessageSplitter {
 public:
  using Sink = std::function<void(std::string_view message)>;
  virtual ~MessageSplitter() = default;
  // Appends `bytes` and calls `sink` for each message now complete.
  virtual void feed(std::string_view bytes, const Sink& sink) = 0;
};

// NDJSON: a message is a line without its '\n'.
class LineSplitter final : public MessageSplitter {
 public:
  void feed(std::string_view bytes, const Sink& sink) override;

 private:
  std::string partial_;
};

class FanoutReader {
 public:
  using Handler =
      std::function<void(std::size_t socket_index, std::string_view message, std::int64_t read_ns)>;

  // `splitters[i]` frames `fds[i]`. Throws std::runtime_error on epoll errors.
  FanoutReader(std::vector<int> fds, std::vector<std::unique_ptr<MessageSplitter>> splitters,
               Handler handler);
  ~FanoutReader();
  FanoutReader(const FanoutReader&) = delete;
  FanoutReader& operator=(const FanoutReader&) = delete;

  void stop();
  // Sockets whose peer closed them.
  std::size_t closed() const { return closed_.load(std::memory_order_acquire); }

  // What the reader thread itself cost, to tell a slow server from a slow
  // harness. Valid after stop().
  struct Cost {
    std::int64_t cpu_ns = 0;  // the thread's CPU time
    std::uint64_t reads = 0;  // read() calls that returned data
    std::uint64_t bytes = 0;
  };
  const Cost& cost() const { return cost_; }

 private:
  void run();
  void read_all();

  std::vector<int> fds_;
  std::vector<std::unique_ptr<MessageSplitter>> splitters_;
  Handler handler_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<std::size_t> closed_{0};
  Cost cost_;  // reader thread only until stop() joins it
  std::thread thread_;
};

}  // namespace coordd::bench
