#include "proto/ndjson_framer.hpp"

namespace coordd {

void NdjsonFramer::feed(std::string_view bytes) {
  // Compact lazily: returned frames point into buffer_, so only move data
  // once the consumed prefix dominates the buffer.
  if (start_ > 0 && start_ * 2 >= buffer_.size()) {
    buffer_.erase(0, start_);
    scan_ -= start_;
    start_ = 0;
  }
  buffer_.append(bytes);
}

NdjsonFramer::Status NdjsonFramer::next(std::string_view& frame) {
  std::size_t newline = buffer_.find('\n', scan_);
  if (newline == std::string::npos) {
    if (start_ == buffer_.size()) {
      // Everything returned and no frame outstanding: an idle connection
      // keeps no more than a small buffer.
      if (buffer_.capacity() > kIdleCapacity) {
        std::string().swap(buffer_);
      } else {
        buffer_.clear();
      }
      start_ = 0;
      scan_ = 0;
      return Status::kNeedMore;
    }
    scan_ = buffer_.size();
    return buffered() > max_frame_bytes_ ? Status::kTooLarge : Status::kNeedMore;
  }
  std::size_t length = newline - start_;
  if (length > max_frame_bytes_) return Status::kTooLarge;
  if (length > 0 && buffer_[newline - 1] == '\r') --length;
  frame = std::string_view(buffer_).substr(start_, length);
  start_ = newline + 1;
  scan_ = start_;
  return Status::kFrame;
}

}  // namespace coordd
