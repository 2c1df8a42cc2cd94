#include "daemon/bus/mailbox.hpp"

#include "proto/wire.hpp"

namespace coordd {

Mailbox::~Mailbox() {
  if (budget_) budget_->bytes -= bytes_;
}

void Mailbox::push(EventPtr message, std::uint64_t store_id, WallTime expires) {
  std::size_t size = message->body->size();
  bytes_ += size;
  if (budget_) budget_->bytes += size;
  messages_.push_back(Entry{std::move(message), store_id, expires});
}

void Mailbox::pop() {
  Entry& entry = messages_.front();
  std::size_t size = entry.message->body->size();
  bytes_ -= size;
  if (budget_) budget_->bytes -= size;
  if (store_ && entry.store_id != 0) store_->settle(entry.store_id);
  messages_.pop_front();
}

std::size_t Mailbox::drop_expired(WallTime now) {
  std::size_t dropped = 0;
  while (!messages_.empty() && messages_.front().expires <= now) {
    pop();
    ++dropped;
  }
  return dropped;
}

void Mailbox::drop_all() {
  while (!messages_.empty()) pop();
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
