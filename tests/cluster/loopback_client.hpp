// LoopbackClient: a blocking TCP connection to 127.0.0.1 for tests that speak
// a text protocol by hand (the NATS INFO line, a JetStream API request); every
// read is bound by a deadline. Thread rule: one thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace coordd::cluster_suite {

class LoopbackClient {
 public:
  enum class Read { kFound, kClosed, kTimedOut };

  // Connects to 127.0.0.1:`port`. Throws std::runtime_error when it cannot.
  explicit LoopbackClient(int port);
  ~LoopbackClient();
  LoopbackClient(const LoopbackClient&) = delete;
  LoopbackClient& operator=(const LoopbackClient&) = delete;

  // Reads until what came so far holds `text` (kFound), the peer closes or
  // resets the connection (kClosed), or `within` passes (kTimedOut).
  Read read_until(std::string_view text, std::chrono::milliseconds within);
  // Sends all of `bytes`; false when the connection has failed.
  bool send(std::string_view bytes);
  // Everything read so far.
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  bool closed_ = false;
  std::string received_;
};

}  // namespace coordd::cluster_suite
