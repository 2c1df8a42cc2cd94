// NdjsonFramer: splits a byte stream into newline-terminated frames (NDJSON
// lines), refusing any frame longer than a byte limit. One per connection;
// not thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace coordd {

class NdjsonFramer {
 public:
  enum class Status { kFrame, kNeedMore, kTooLarge };

  explicit NdjsonFramer(std::size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  // Appends bytes read from the stream.
  void feed(std::string_view bytes);

  // kFrame: `frame` holds the next line without its '\n' (and without a
  // trailing '\r'); it stays valid until the next feed() or next().
  // kNeedMore: no complete line yet. kTooLarge: the current line exceeds the
  // limit; the stream cannot be resynchronised and should be closed.
  Status next(std::string_view& frame);

  // Capacity kept once every byte fed has been returned; more is freed.
  static constexpr std::size_t kIdleCapacity = 4096;

  // Bytes held that are not yet part of a returned frame.
  std::size_t buffered() const { return buffer_.size() - start_; }

 private:
  std::size_t max_frame_bytes_;
  std::string buffer_;
  std::size_t start_ = 0;  // first byte not yet returned
  std::size_t scan_ = 0;   // bytes before this offset hold no '\n'
};

}  // namespace coordd
