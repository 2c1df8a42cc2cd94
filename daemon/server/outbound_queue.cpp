#include "daemon/server/outbound_queue.hpp"

#include <algorithm>
#include <stdexcept>

namespace coordd {

OutboundLine OutboundLine::owned(std::string line) {
  OutboundLine out;
  out.body_ = std::make_shared<const std::string>(std::move(line));
  return out;
}

OutboundLine::OutboundLine(std::string_view head, std::shared_ptr<const std::string> body)
    : body_(std::move(body)) {
  if (head.size() > kMaxHead) throw std::length_error("OutboundLine head longer than kMaxHead");
  head_size_ = std::uint8_t(head.size());
  std::copy(head.begin(), head.end(), head_.begin());
}

void OutboundQueue::push(OutboundLine line) {
  ++count_;
  bytes_ += line.size();
  lines_.push_back(std::move(line));
}

std::size_t OutboundQueue::gather(iovec* iov, std::size_t max_iov, std::size_t max_bytes) const {
  std::size_t filled = 0;
  std::size_t covered = 0;
  std::size_t skip = front_written_;
  for (const OutboundLine& line : lines_) {
    std::string_view body = line.body() ? std::string_view(*line.body()) : std::string_view();
    for (std::string_view part : {line.head(), body}) {
      if (skip >= part.size()) {  // written already, or empty
        skip -= part.size();
        continue;
      }
      if (filled == max_iov || covered >= max_bytes) return filled;
      iov[filled].iov_base = const_cast<char*>(part.data() + skip);
      iov[filled].iov_len = part.size() - skip;
      covered += iov[filled].iov_len;
      ++filled;
      skip = 0;
    }
  }
  return filled;
}

void OutboundQueue::consume(std::size_t bytes) {
  front_written_ += bytes;
  // (An empty line, were one ever pushed, leaves here too rather than stall.)
  while (!lines_.empty() && front_written_ >= lines_.front().size()) {
    std::size_t size = lines_.front().size();
    front_written_ -= size;
    bytes_ -= size;
    --count_;
    lines_.pop_front();
  }
}

}  // namespace coordd
