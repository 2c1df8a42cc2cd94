#include "daemon/bus/mailbox.hpp"

#include "proto/wire.hpp"

namespace coordd {

Mailbox::~Mailbox() {
  // bytes_ counts the unacked messages too.
  if (budget_) budget_->bytes -= bytes_;
}

void Mailbox::push(EventPtr message, std::uint64_t store_id, WallTime expires,
                   MessageStore* settle_in) {
  std::size_t size = message->body->size();
  bytes_ += size;
  if (budget_) budget_->bytes += size;
  messages_.push_back(Entry{std::move(message), store_id, expires, settle_in ? settle_in : store_});
}

void Mailbox::release(Entry& entry) {
  std::size_t size = entry.message->body->size();
  bytes_ -= size;
  if (budget_) budget_->bytes -= size;
  if (entry.store && entry.store_id != 0) entry.store->settle(entry.store_id);
}

void Mailbox::pop() {
  release(messages_.front());
  messages_.pop_front();
}

void Mailbox::hand_over() {
  unacked_.push_back(std::move(messages_.front()));
  messages_.pop_front();
}

std::size_t Mailbox::ack(std::uint64_t seq, bool upto) {
  std::size_t settled = 0;
  for (auto it = unacked_.begin(); it != unacked_.end();) {
    if (it->message->seq > seq) break;  // in seq order
    if (upto || it->message->seq == seq) {
      release(*it);
      it = unacked_.erase(it);
      ++settled;
    } else {
      ++it;
    }
  }
  return settled;
}

void Mailbox::requeue_unacked() {
  while (!unacked_.empty()) {
    Entry entry = std::move(unacked_.back());
    unacked_.pop_back();
    if (!entry.message->redelivered) {
      auto again = std::make_shared<Event>(*entry.message);
      again->redelivered = true;
      again->body = std::make_shared<const std::string>(redelivered_message_body(*again->body));
      std::size_t grown = again->body->size() - entry.message->body->size();
      bytes_ += grown;
      if (budget_) budget_->bytes += grown;
      entry.message = std::move(again);
    }
    messages_.push_front(std::move(entry));
  }
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
  requeue_unacked();
  while (!messages_.empty()) pop();
}

std::vector<Mailbox::Taken> Mailbox::take_all() {
  std::vector<Taken> taken;
  for (Entry& entry : unacked_)
    taken.push_back({std::move(entry.message), entry.store_id, entry.store});
  unacked_.clear();
  for (Entry& entry : messages_)
    taken.push_back({std::move(entry.message), entry.store_id, entry.store});
  messages_.clear();
  if (budget_) budget_->bytes -= bytes_;
  bytes_ = 0;
  return taken;
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
