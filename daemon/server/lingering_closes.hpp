// LingeringCloses: the sockets being closed after a final error line
// (frame_too_large, slow_consumer, taken_over, or `forbidden` at accept).
// Each one's line is written, its write side shut down (the client reads the
// line, then EOF), and what the client still sends is read and discarded --
// at most kMaxDiscardBytes, for at most kLingerTimeout -- before it is
// closed: closing with unread input resets the connection, and a client
// still sending would get EPIPE or ECONNRESET instead of its error.
// Owned by the ServerCore; reactor thread only.
#pragma once

#include <boost/asio/local/stream_protocol.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "daemon/engine/clock.hpp"

namespace coordd {

inline constexpr std::size_t kMaxDiscardBytes = std::size_t(1) << 20;
inline constexpr auto kLingerTimeout = std::chrono::seconds(2);
// Past this many at once (a flood of refused clients), a socket is closed
// after a best-effort send of its line, without lingering.
inline constexpr std::size_t kMaxLingeringSockets = 512;

class LingeringCloses {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;

  // Discarded input is read into `scratch`, shared with the connections'
  // reads; `clock` and `scratch` must outlive this.
  LingeringCloses(const Clock& clock, std::span<char> scratch);
  ~LingeringCloses() { stop_all(); }
  LingeringCloses(const LingeringCloses&) = delete;
  LingeringCloses& operator=(const LingeringCloses&) = delete;

  // Takes `socket` over: writes `unwritten` (what is left of its final
  // line; may be empty), then lingers as above and closes.
  void close(Socket socket, std::string unwritten);
  // Closes every socket at once (shutdown).
  void stop_all();

  std::size_t size() const { return closing_.size(); }

 private:
  struct Closing;
  void write(const std::shared_ptr<Closing>& closing);
  void discard(const std::shared_ptr<Closing>& closing);
  void finish(Closing* closing);

  const Clock& clock_;
  std::span<char> scratch_;
  std::map<Closing*, std::shared_ptr<Closing>> closing_;
};

}  // namespace coordd
