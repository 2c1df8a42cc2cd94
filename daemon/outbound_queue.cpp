#include "daemon/outbound_queue.hpp"

namespace coordd {

void OutboundQueue::push(OutboundLine line) {
  ++count_;
  bytes_ += line.size();
  waiting_.push_back(std::move(line));
}

std::vector<boost::asio::const_buffer> OutboundQueue::start_batch(std::size_t max) {
  std::vector<boost::asio::const_buffer> buffers;
  while (!waiting_.empty() && in_flight_.size() < max) {
    in_flight_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
  for (const OutboundLine& line : in_flight_) {
    if (!line.head.empty()) buffers.emplace_back(boost::asio::buffer(line.head));
    if (line.shared) buffers.emplace_back(boost::asio::buffer(*line.shared));
  }
  return buffers;
}

void OutboundQueue::finish_batch() {
  for (const OutboundLine& line : in_flight_) {
    --count_;
    bytes_ -= line.size();
  }
  in_flight_.clear();
}

}  // namespace coordd
