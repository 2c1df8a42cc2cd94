// A minimal Redis (RESP2) client for the fan-out peer: encodes commands,
// connects over TCP to 127.0.0.1, reads simple replies with a deadline (for
// PING and SUBSCRIBE), and RespSplitter frames a subscriber's stream into the
// payloads of its `*3 $7 message $channel $payload` pushes. Not thread-safe;
// a RedisConnection may be read by one thread while another writes to it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/fanout_reader.hpp"

namespace coordd::bench {

// A command as a RESP array of bulk strings.
std::string resp_command(std::initializer_list<std::string_view> args);

// Frames pushes and hands the payload of each "message" push to the sink;
// other pushes (subscribe confirmations) are skipped.
class RespSplitter final : public MessageSplitter {
 public:
  void feed(std::string_view bytes, const Sink& sink) override;

 private:
  std::string buffer_;
  std::size_t start_ = 0;  // first byte not yet framed
};

class RedisConnection {
 public:
  // Connects to 127.0.0.1:port with TCP_NODELAY; throws std::runtime_error.
  explicit RedisConnection(int port);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  int fd() const { return fd_; }
  // Writes all of `bytes` (blocking). Throws on error.
  void send_all(std::string_view bytes);
  // Reads one reply; arrays are flattened into their elements, integers and
  // simple strings given as text. Throws on timeout, error replies, EOF.
  std::vector<std::string> read_reply(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace coordd::bench
