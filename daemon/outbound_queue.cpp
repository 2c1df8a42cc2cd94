#include "daemon/outbound_queue.hpp"

namespace coordd {

OutboundLine OutboundLine::owned(std::string line) {
  return OutboundLine{std::make_shared<const std::string>(std::move(line)), nullptr};
}

void OutboundQueue::push(OutboundLine line) {
  ++count_;
  bytes_ += line.size();
  waiting_.push_back(std::move(line));
}

std::size_t OutboundQueue::take_batch(std::string& out, std::size_t max_bytes) {
  std::size_t taken = 0;
  while (!waiting_.empty()) {
    const OutboundLine& line = waiting_.front();
    std::size_t size = line.size();
    if (taken > 0 && out.size() + size > max_bytes) break;
    if (line.head) out += *line.head;
    if (line.body) out += *line.body;
    in_flight_bytes_ += size;
    ++in_flight_lines_;
    ++taken;
    waiting_.pop_front();
  }
  return taken;
}

void OutboundQueue::finish_batch() {
  count_ -= in_flight_lines_;
  bytes_ -= in_flight_bytes_;
  in_flight_lines_ = 0;
  in_flight_bytes_ = 0;
}

}  // namespace coordd
