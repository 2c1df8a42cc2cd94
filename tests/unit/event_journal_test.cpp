#include "daemon/server/event_journal.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string>

using namespace coordd;

namespace {

// An event whose serialized body is exactly `body_bytes` long.
EventPtr event_with_seq(std::uint64_t seq, std::size_t body_bytes = 10) {
  auto event = std::make_shared<Event>();
  event->seq = seq;
  event->body = std::make_shared<const std::string>(body_bytes, 'x');
  return event;
}

}  // namespace

TEST_CASE("a journal full by count evicts its oldest events and no longer covers them") {
  EventJournal journal(3, 1 << 20);
  for (std::uint64_t seq = 1; seq <= 5; ++seq) journal.append(event_with_seq(seq));

  CHECK(journal.size() == 3);
  CHECK(journal.oldest_seq() == 3);
  CHECK(journal.newest_seq() == 5);
  CHECK(journal.evicted_through() == 2);
  CHECK(journal.covers(2));
  CHECK_FALSE(journal.covers(1));
}

TEST_CASE("a journal full by bytes evicts its oldest events and tracks the bytes it holds") {
  EventJournal journal(100, 25);
  journal.append(event_with_seq(1, 10));
  journal.append(event_with_seq(2, 10));
  CHECK(journal.bytes() == 20);

  journal.append(event_with_seq(3, 10));

  CHECK(journal.size() == 2);
  CHECK(journal.bytes() == 20);
  CHECK(journal.oldest_seq() == 2);
  CHECK_FALSE(journal.covers(0));
  CHECK(journal.covers(1));
}

TEST_CASE("a journal keeps the newest event even when it alone exceeds the byte limit") {
  EventJournal journal(100, 25);
  journal.append(event_with_seq(1, 10));

  journal.append(event_with_seq(2, 40));

  CHECK(journal.size() == 1);
  CHECK(journal.oldest_seq() == 2);
  CHECK(journal.covers(1));
}

TEST_CASE("next_after finds the first held event past a seq even when seqs have holes") {
  EventJournal journal(100, 1 << 20);
  for (std::uint64_t seq : {2, 5, 9}) journal.append(event_with_seq(seq));

  REQUIRE(journal.next_after(0) != nullptr);
  CHECK(journal.next_after(0)->seq == 2);
  CHECK(journal.next_after(2)->seq == 5);
  CHECK(journal.next_after(3)->seq == 5);
  CHECK(journal.next_after(5)->seq == 9);
  CHECK(journal.next_after(9) == nullptr);
  CHECK(journal.next_after(100) == nullptr);
}

TEST_CASE("a fresh journal covers everything after the seq it was told it starts after") {
  EventJournal journal(100, 1 << 20, 7);

  CHECK(journal.covers(7));
  CHECK(journal.covers(8));
  CHECK_FALSE(journal.covers(6));
  CHECK(journal.next_after(7) == nullptr);
}

TEST_CASE("start_after declares the initial scan's seqs unreplayable and never moves backwards") {
  EventJournal journal(100, 1 << 20);
  CHECK(journal.covers(0));

  journal.start_after(40);
  journal.start_after(10);

  CHECK(journal.evicted_through() == 40);
  CHECK_FALSE(journal.covers(39));
  CHECK(journal.covers(40));
}
