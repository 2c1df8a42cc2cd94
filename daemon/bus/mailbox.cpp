#include "daemon/bus/mailbox.hpp"

#include "proto/wire.hpp"

namespace coordd {

void Mailbox::push(EventPtr message) {
  bytes_ += message->body->size();
  messages_.push_back(std::move(message));
}

void Mailbox::pop() {
  bytes_ -= messages_.front()->body->size();
  messages_.pop_front();
}

void Mailbox::note_dropped(std::uint64_t seq) {
  if (lag_from_ == 0) lag_from_ = seq;
  lag_to_ = seq;
  ++lag_dropped_;
}

std::string Mailbox::take_lag_line(std::string_view agent) {
  std::string line = mailbox_lagged_line(agent, lag_from_, lag_to_, lag_dropped_);
  lag_from_ = lag_to_ = lag_dropped_ = 0;
  return line;
}

}  // namespace coordd
