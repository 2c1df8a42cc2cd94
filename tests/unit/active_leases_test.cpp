#include "daemon/engine/active_leases.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

using namespace coordd;

namespace {

constexpr RootId kRoot = 1;

WallTime at(const char* text) {
  auto time = parse_timestamp(text);
  REQUIRE(time);
  return *time;
}

// The clock is the `now` member: tests move it and call advance(), nothing sleeps.
struct LeaseFixture {
  ActiveLeases leases;
  WallTime now = at("2026-03-30T15:00:00Z");
  std::vector<Expiry> expired;

  static RecordRef ref(Kind kind, const std::string& id) { return RecordRef{kRoot, kind, id}; }

  void put(Kind kind, const std::string& id, const std::string& json) {
    auto parsed = parse_record(json);
    REQUIRE_MESSAGE(parsed.ok(), parsed.status().message());
    leases.put(ref(kind, id), *parsed, now, expired);
  }
  void reserve(const std::string& id, const std::string& expires_at) {
    put(Kind::kReservation, id,
        R"({"reservation_id":")" + id + R"(","expires_at":")" + expires_at + R"("})");
  }
  void heartbeat(const std::string& id, const std::string& reservation_id,
                 const std::string& extended_to) {
    put(Kind::kHeartbeat, id,
        R"({"reservation_id":")" + reservation_id + R"(","extended_expires_at":")" + extended_to +
            R"("})");
  }
  void release(const std::string& id, const std::string& reservation_id) {
    put(Kind::kRelease, id, R"({"reservation_id":")" + reservation_id + R"("})");
  }
  void erase(Kind kind, const std::string& id) { leases.erase(ref(kind, id), now, expired); }
  void advance_to(const char* text) {
    now = at(text);
    leases.advance(now, expired);
  }
  bool active(const std::string& reservation_id) const {
    auto state = leases.state_of(ref(Kind::kReservation, reservation_id));
    return state && state->active;
  }
};

}  // namespace

TEST_CASE_FIXTURE(LeaseFixture, "a reservation whose expires_at is in the future is active") {
  reserve("r1", "2026-03-30T15:10:00+00:00");

  auto state = leases.state_of(ref(Kind::kReservation, "r1"));
  REQUIRE(state);
  CHECK(state->active);
  CHECK(state->effective_expiry == at("2026-03-30T15:10:00Z"));
  CHECK(leases.active_count() == 1);
  CHECK(expired.empty());
}

TEST_CASE_FIXTURE(LeaseFixture,
                  "a reservation's ttl fires exactly one expiry when the clock reaches it") {
  reserve("r1", "2026-03-30T15:10:00+00:00");

  advance_to("2026-03-30T15:09:59.999999Z");
  CHECK(expired.empty());
  advance_to("2026-03-30T15:10:00Z");
  advance_to("2026-03-30T15:30:00Z");

  REQUIRE(expired.size() == 1);
  CHECK(expired[0].record == ref(Kind::kReservation, "r1"));
  CHECK(expired[0].cause == ExpiryCause::kTtl);
  CHECK_FALSE(active("r1"));
  CHECK(leases.active_count() == 0);
}

TEST_CASE_FIXTURE(LeaseFixture, "a heartbeat extends a reservation past its expires_at") {
  reserve("r1", "2026-03-30T15:10:00+00:00");
  heartbeat("hb1", "r1", "2026-03-30T15:20:00+00:00");

  advance_to("2026-03-30T15:15:00Z");
  CHECK(expired.empty());
  CHECK(active("r1"));
  CHECK(leases.next_deadline() == at("2026-03-30T15:20:00Z"));

  advance_to("2026-03-30T15:20:00Z");
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].cause == ExpiryCause::kTtl);
}

TEST_CASE_FIXTURE(LeaseFixture,
                  "a heartbeat that arrives before its reservation still extends it") {
  heartbeat("hb1", "r1", "2026-03-30T15:20:00+00:00");
  reserve("r1", "2026-03-30T15:10:00+00:00");

  advance_to("2026-03-30T15:15:00Z");

  CHECK(expired.empty());
  CHECK(active("r1"));
}

TEST_CASE_FIXTURE(LeaseFixture, "a heartbeat naming another reservation does not extend this one") {
  reserve("r1", "2026-03-30T15:10:00+00:00");
  heartbeat("hb1", "r2", "2026-03-30T15:20:00+00:00");

  advance_to("2026-03-30T15:15:00Z");

  REQUIRE(expired.size() == 1);
  CHECK(expired[0].record.id == "r1");
}

TEST_CASE_FIXTURE(
    LeaseFixture,
    "deleting the heartbeat after the original expiry has passed ends the lease by ttl") {
  reserve("r1", "2026-03-30T15:10:00+00:00");
  heartbeat("hb1", "r1", "2026-03-30T15:20:00+00:00");
  advance_to("2026-03-30T15:15:00Z");

  erase(Kind::kHeartbeat, "hb1");

  REQUIRE(expired.size() == 1);
  CHECK(expired[0].record == ref(Kind::kReservation, "r1"));
  CHECK(expired[0].cause == ExpiryCause::kTtl);
  CHECK_FALSE(leases.next_deadline().has_value());
}

TEST_CASE_FIXTURE(LeaseFixture,
                  "deleting the heartbeat before the original expiry falls back to expires_at") {
  reserve("r1", "2026-03-30T15:10:00+00:00");
  heartbeat("hb1", "r1", "2026-03-30T15:20:00+00:00");

  erase(Kind::kHeartbeat, "hb1");

  CHECK(expired.empty());
  CHECK(active("r1"));
  CHECK(leases.next_deadline() == at("2026-03-30T15:10:00Z"));
}

TEST_CASE_FIXTURE(
    LeaseFixture,
    "with two heartbeats the latest extension wins and deleting it falls back to the other") {
  reserve("r1", "2026-03-30T15:10:00+00:00");
  heartbeat("hb1", "r1", "2026-03-30T15:20:00+00:00");
  heartbeat("hb2", "r1", "2026-03-30T15:40:00+00:00");
  CHECK(leases.next_deadline() == at("2026-03-30T15:40:00Z"));

  erase(Kind::kHeartbeat, "hb2");

  CHECK(leases.next_deadline() == at("2026-03-30T15:20:00Z"));
  advance_to("2026-03-30T15:20:00Z");
  CHECK(expired.size() == 1);
}

TEST_CASE_FIXTURE(LeaseFixture, "a release ends an active reservation with cause released, once") {
  reserve("r1", "2026-03-30T15:10:00+00:00");

  release("rel1", "r1");
  advance_to("2026-03-30T15:30:00Z");

  REQUIRE(expired.size() == 1);
  CHECK(expired[0].record == ref(Kind::kReservation, "r1"));
  CHECK(expired[0].cause == ExpiryCause::kReleased);
  CHECK_FALSE(active("r1"));
  CHECK_FALSE(leases.next_deadline().has_value());
}

TEST_CASE_FIXTURE(LeaseFixture,
                  "a lease is known by its reservation_id but reported by its file id") {
  put(Kind::kReservation, "file-1",
      R"({"reservation_id":"r1","expires_at":"2026-03-30T15:10:00+00:00"})");

  release("rel1", "r1");

  REQUIRE(expired.size() == 1);
  CHECK(expired[0].record == ref(Kind::kReservation, "file-1"));
}

TEST_CASE_FIXTURE(LeaseFixture,
                  "erasing a record whose lease id differs from its file id forgets the lease") {
  put(Kind::kReservation, "file-1",
      R"({"reservation_id":"r1","expires_at":"2026-03-30T15:10:00+00:00"})");
  REQUIRE(leases.state_of(ref(Kind::kReservation, "file-1")));

  erase(Kind::kReservation, "file-1");
  advance_to("2026-03-30T15:30:00Z");

  CHECK(expired.empty());
  CHECK_FALSE(leases.state_of(ref(Kind::kReservation, "file-1")).has_value());
  CHECK(leases.active_count() == 0);
}

TEST_CASE_FIXTURE(LeaseFixture,
                  "a reservation whose reservation_id changes while active expires the old lease "
                  "on that file, once, and the new lease runs on") {
  put(Kind::kReservation, "file-1",
      R"({"reservation_id":"r1","expires_at":"2026-03-30T15:10:00+00:00"})");

  put(Kind::kReservation, "file-1",
      R"({"reservation_id":"r2","expires_at":"2026-03-30T15:20:00+00:00"})");
  release("rel1", "r1");
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].record == ref(Kind::kReservation, "file-1"));
  CHECK(expired[0].cause == ExpiryCause::kTtl);

  advance_to("2026-03-30T15:30:00Z");
  REQUIRE(expired.size() == 2);
  CHECK(expired[1].record == ref(Kind::kReservation, "file-1"));
  CHECK(leases.active_count() == 0);
}

TEST_CASE_FIXTURE(LeaseFixture,
                  "a claim rewritten without expires_at while active fires exactly one expiry, "
                  "cause ttl") {
  put(Kind::kClaim, "c1", R"({"claim_id":"c1","expires_at":"2026-03-30T15:10:00+00:00"})");

  put(Kind::kClaim, "c1", R"({"claim_id":"c1","task":"t7"})");
  advance_to("2026-03-30T15:30:00Z");

  REQUIRE(expired.size() == 1);
  CHECK(expired[0].record == ref(Kind::kClaim, "c1"));
  CHECK(expired[0].cause == ExpiryCause::kTtl);
  CHECK_FALSE(leases.state_of(ref(Kind::kClaim, "c1")).has_value());
}

TEST_CASE_FIXTURE(LeaseFixture,
                  "a claim that stops being a lease after it expired fires nothing more") {
  put(Kind::kClaim, "c1", R"({"claim_id":"c1","expires_at":"2026-03-30T15:10:00+00:00"})");
  advance_to("2026-03-30T15:20:00Z");

  put(Kind::kClaim, "c1", R"({"claim_id":"c1"})");

  CHECK(expired.size() == 1);
}

TEST_CASE_FIXTURE(LeaseFixture,
                  "a lease two reservation files name is active until the later of their "
                  "expires_at, in either order, and expires once, on <id>.json") {
  reserve("r1", "2026-03-30T15:20:00+00:00");
  put(Kind::kReservation, "file-b",
      R"({"reservation_id":"r1","expires_at":"2026-03-30T15:10:00+00:00"})");

  for (const char* file : {"r1", "file-b"}) {
    auto state = leases.state_of(ref(Kind::kReservation, file));
    REQUIRE(state);
    CHECK(state->active);
    CHECK(state->effective_expiry == at("2026-03-30T15:20:00Z"));
  }
  advance_to("2026-03-30T15:10:00Z");
  CHECK(expired.empty());
  advance_to("2026-03-30T15:20:00Z");
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].record == ref(Kind::kReservation, "r1"));
  CHECK(leases.active_count() == 0);
}

TEST_CASE_FIXTURE(LeaseFixture,
                  "a lease only other files define is reported on the one with the smallest id") {
  for (const char* file : {"file-c", "file-a", "file-b"}) {
    put(Kind::kReservation, file,
        R"({"reservation_id":"r1","expires_at":"2026-03-30T15:10:00+00:00"})");
  }

  advance_to("2026-03-30T15:10:00Z");

  REQUIRE(expired.size() == 1);
  CHECK(expired[0].record == ref(Kind::kReservation, "file-a"));
}

TEST_CASE_FIXTURE(LeaseFixture,
                  "removing the file that last wrote a shared lease keeps it defined by the other "
                  "file, which then expires it") {
  reserve("r1", "2026-03-30T15:10:00+00:00");
  put(Kind::kReservation, "file-b",
      R"({"reservation_id":"r1","expires_at":"2026-03-30T15:20:00+00:00"})");

  erase(Kind::kReservation, "file-b");
  CHECK(expired.empty());
  CHECK(active("r1"));
  CHECK(leases.next_deadline() == at("2026-03-30T15:10:00Z"));

  advance_to("2026-03-30T15:10:00Z");
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].record == ref(Kind::kReservation, "r1"));
  CHECK(expired[0].cause == ExpiryCause::kTtl);
}

TEST_CASE_FIXTURE(LeaseFixture,
                  "removing the file with the later expiry after the other's has passed expires "
                  "the lease on the file that remains") {
  reserve("r1", "2026-03-30T15:10:00+00:00");
  put(Kind::kReservation, "file-b",
      R"({"reservation_id":"r1","expires_at":"2026-03-30T15:20:00+00:00"})");
  advance_to("2026-03-30T15:15:00Z");

  erase(Kind::kReservation, "file-b");

  REQUIRE(expired.size() == 1);
  CHECK(expired[0].record == ref(Kind::kReservation, "r1"));
  CHECK(expired[0].cause == ExpiryCause::kTtl);
}

TEST_CASE_FIXTURE(LeaseFixture,
                  "a file that stops naming a lease another file still defines fires nothing") {
  reserve("r1", "2026-03-30T15:10:00+00:00");
  put(Kind::kReservation, "file-b",
      R"({"reservation_id":"r1","expires_at":"2026-03-30T15:20:00+00:00"})");

  put(Kind::kReservation, "file-b",
      R"({"reservation_id":"r2","expires_at":"2026-03-30T15:30:00+00:00"})");

  CHECK(expired.empty());
  CHECK(active("r1"));
  CHECK(leases.next_deadline() == at("2026-03-30T15:10:00Z"));
}

TEST_CASE_FIXTURE(LeaseFixture,
                  "a release naming a shared lease ends it for every file defining it, with one "
                  "expiry") {
  reserve("r1", "2026-03-30T15:10:00+00:00");
  put(Kind::kReservation, "file-b",
      R"({"reservation_id":"r1","expires_at":"2026-03-30T15:20:00+00:00"})");

  release("rel1", "r1");

  REQUIRE(expired.size() == 1);
  CHECK(expired[0].record == ref(Kind::kReservation, "r1"));
  CHECK(expired[0].cause == ExpiryCause::kReleased);
  for (const char* file : {"r1", "file-b"}) {
    auto state = leases.state_of(ref(Kind::kReservation, file));
    REQUIRE(state);
    CHECK_FALSE(state->active);
  }
}

TEST_CASE_FIXTURE(LeaseFixture, "forget_root drops a root's leases without expiring any") {
  put(Kind::kClaim, "c1", R"({"claim_id":"c1","expires_at":"2026-03-30T15:10:00+00:00"})");
  put(Kind::kHeartbeat, "hb1",
      R"({"claim_id":"c1","extended_expires_at":"2026-03-30T15:30:00+00:00"})");
  advance_to("2026-03-30T15:15:00Z");

  leases.forget_root(kRoot);
  erase(Kind::kHeartbeat, "hb1");
  erase(Kind::kClaim, "c1");

  CHECK(expired.empty());
  CHECK(leases.active_count() == 0);
  CHECK_FALSE(leases.next_deadline().has_value());
}

TEST_CASE_FIXTURE(
    LeaseFixture,
    "a record's own lease is not touched when another file that named the same id goes") {
  reserve("r1", "2026-03-30T15:10:00+00:00");
  put(Kind::kReservation, "file-1",
      R"({"reservation_id":"r1","expires_at":"2026-03-30T15:10:00+00:00"})");
  reserve("r1", "2026-03-30T15:20:00+00:00");  // r1.json defines the lease again

  erase(Kind::kReservation, "file-1");

  auto state = leases.state_of(ref(Kind::kReservation, "r1"));
  REQUIRE(state);
  CHECK(state->active);
  CHECK(state->effective_expiry == at("2026-03-30T15:20:00Z"));
}

TEST_CASE_FIXTURE(LeaseFixture, "leases due at the same instant expire in id order") {
  for (const char* id : {"r3", "r1", "r2"}) reserve(id, "2026-03-30T15:10:00+00:00");

  advance_to("2026-03-30T15:10:00Z");

  REQUIRE(expired.size() == 3);
  CHECK(expired[0].record.id == "r1");
  CHECK(expired[1].record.id == "r2");
  CHECK(expired[2].record.id == "r3");
}

TEST_CASE_FIXTURE(LeaseFixture, "a reservation that was never active never fires") {
  reserve("past", "2026-03-30T14:00:00+00:00");
  reserve("now", "2026-03-30T15:00:00+00:00");
  reserve("garbled", "soon");
  put(Kind::kReservation, "missing", R"({"reservation_id":"missing"})");

  release("rel-past", "past");
  advance_to("2026-03-31T00:00:00Z");

  CHECK(expired.empty());
  CHECK(leases.active_count() == 0);
  for (const char* id : {"past", "now", "garbled", "missing"}) {
    auto state = leases.state_of(ref(Kind::kReservation, id));
    REQUIRE(state);
    CHECK_FALSE(state->active);
  }
  CHECK_FALSE(leases.state_of(ref(Kind::kReservation, "garbled"))->effective_expiry.has_value());
}

TEST_CASE_FIXTURE(
    LeaseFixture,
    "rewriting an active reservation with an expires_at already passed ends it by ttl") {
  reserve("r1", "2026-03-30T15:10:00+00:00");

  reserve("r1", "2026-03-30T14:00:00+00:00");
  advance_to("2026-03-30T15:30:00Z");

  REQUIRE(expired.size() == 1);
  CHECK(expired[0].cause == ExpiryCause::kTtl);
}

TEST_CASE_FIXTURE(LeaseFixture,
                  "erasing a reservation's own record fires nothing and forgets the lease") {
  reserve("r1", "2026-03-30T15:10:00+00:00");

  erase(Kind::kReservation, "r1");
  advance_to("2026-03-30T15:30:00Z");

  CHECK(expired.empty());
  CHECK_FALSE(leases.state_of(ref(Kind::kReservation, "r1")).has_value());
  CHECK_FALSE(leases.next_deadline().has_value());
  CHECK(leases.active_count() == 0);
}

TEST_CASE_FIXTURE(LeaseFixture,
                  "a claim with expires_at is a lease keyed by claim_id that a release can end") {
  put(Kind::kClaim, "claim-file", R"({"claim_id":"c1","expires_at":"2026-03-30T15:10:00+00:00"})");
  REQUIRE(leases.state_of(ref(Kind::kClaim, "claim-file")));
  CHECK(leases.state_of(ref(Kind::kClaim, "claim-file"))->active);

  put(Kind::kRelease, "rel1", R"({"claim_id":"c1"})");

  REQUIRE(expired.size() == 1);
  CHECK(expired[0].record == ref(Kind::kClaim, "claim-file"));
  CHECK(expired[0].cause == ExpiryCause::kReleased);
}

TEST_CASE_FIXTURE(LeaseFixture, "a claim with expires_at expires by ttl like a reservation") {
  put(Kind::kClaim, "c1", R"({"claim_id":"c1","expires_at":"2026-03-30T15:10:00+00:00"})");

  advance_to("2026-03-30T15:10:00Z");

  REQUIRE(expired.size() == 1);
  CHECK(expired[0].record == ref(Kind::kClaim, "c1"));
  CHECK(expired[0].cause == ExpiryCause::kTtl);
}

TEST_CASE_FIXTURE(LeaseFixture, "a claim without expires_at is not a lease") {
  put(Kind::kClaim, "c1", R"({"claim_id":"c1","task":"t7"})");

  CHECK_FALSE(leases.state_of(ref(Kind::kClaim, "c1")).has_value());
  CHECK(leases.active_count() == 0);
  CHECK_FALSE(leases.next_deadline().has_value());
}

TEST_CASE_FIXTURE(LeaseFixture,
                  "next_deadline is the earliest active expiry and nullopt when none is active") {
  CHECK_FALSE(leases.next_deadline().has_value());
  reserve("late", "2026-03-30T15:30:00+00:00");
  reserve("early", "2026-03-30T15:10:00+00:00");
  reserve("past", "2026-03-30T14:00:00+00:00");
  CHECK(leases.next_deadline() == at("2026-03-30T15:10:00Z"));

  release("rel1", "early");
  CHECK(leases.next_deadline() == at("2026-03-30T15:30:00Z"));

  advance_to("2026-03-30T15:30:00Z");
  CHECK_FALSE(leases.next_deadline().has_value());
}

TEST_CASE_FIXTURE(LeaseFixture, "a clock step forward expires every due lease exactly once") {
  reserve("r1", "2026-03-30T15:10:00+00:00");
  reserve("r2", "2026-03-30T15:20:00+00:00");
  reserve("r3", "2026-03-30T18:00:00+00:00");

  advance_to("2026-03-30T17:00:00Z");
  advance_to("2026-03-30T17:00:00Z");

  REQUIRE(expired.size() == 2);
  CHECK(expired[0].record.id == "r1");
  CHECK(expired[1].record.id == "r2");
  CHECK(active("r3"));
  CHECK(leases.next_deadline() == at("2026-03-30T18:00:00Z"));
}

TEST_CASE_FIXTURE(LeaseFixture,
                  "many leases rewritten, removed and expiring end in expiry order, ties by id, "
                  "as a plain model of them says") {
  // A deterministic shuffle of puts, rewrites and removals over 400 leases
  // whose expiries fall on 20 distinct minutes (many ties), then time moving
  // a minute at a time: each advance must end exactly the model's leases,
  // earliest first, ties by id, and next_deadline must be the model's.
  std::map<std::string, int> model;  // id -> expiry minute (15:01 .. 15:20)
  std::uint32_t state = 12345;
  auto next = [&state] {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  auto minute_text = [](int minute) {
    char text[40];
    std::snprintf(text, sizeof text, "2026-03-30T15:%02d:00+00:00", minute);
    return std::string(text);
  };
  for (int step = 0; step < 3000; ++step) {
    std::string id = "r" + std::to_string(next() % 400);
    if (next() % 5 == 0) {
      erase(Kind::kReservation, id);
      model.erase(id);
    } else {
      int minute = 1 + int(next() % 20);
      reserve(id, minute_text(minute));
      model[id] = minute;
    }
  }
  REQUIRE(expired.empty());
  CHECK(leases.active_count() == model.size());
  for (int minute = 1; minute <= 21; ++minute) {
    std::vector<std::pair<int, std::string>> due;
    int earliest = 99;
    for (const auto& [id, m] : model) {
      if (m <= minute) due.emplace_back(m, id);
      if (m > minute) earliest = std::min(earliest, m);
    }
    std::sort(due.begin(), due.end());
    expired.clear();
    advance_to(minute_text(minute).c_str());
    std::vector<std::string> want, got;
    for (const auto& [m, id] : due) want.push_back(id);
    for (const Expiry& e : expired) got.push_back(e.record.id);
    REQUIRE(got == want);
    for (const auto& [m, id] : due) model.erase(id);
    CHECK(leases.active_count() == model.size());
    if (model.empty()) {
      CHECK_FALSE(leases.next_deadline());
    } else {
      REQUIRE(leases.next_deadline());
      CHECK(*leases.next_deadline() == at(minute_text(earliest).c_str()));
    }
  }
}

TEST_CASE_FIXTURE(LeaseFixture,
                  "a lease named by a long reservation_id in several files lives and ends whole") {
  // Longer than any file id may be (128) and than a byte can count: the
  // lease keeps the whole id, and a file named otherwise defines it.
  const std::string long_id(300, 'L');
  auto reserve_as = [&](const std::string& file, const char* expires_at) {
    put(Kind::kReservation, file,
        R"({"reservation_id":")" + long_id + R"(","expires_at":")" + expires_at + R"("})");
  };
  reserve_as("a", "2026-03-30T15:10:00+00:00");
  reserve_as("b", "2026-03-30T15:20:00+00:00");
  heartbeat("hb1", long_id, "2026-03-30T15:25:00+00:00");

  auto state = leases.state_of(ref(Kind::kReservation, "a"));
  REQUIRE(state);
  CHECK(state->active);
  CHECK(state->effective_expiry == at("2026-03-30T15:25:00Z"));

  erase(Kind::kReservation, "b");
  CHECK(leases.state_of(ref(Kind::kReservation, "a"))->active);
  advance_to("2026-03-30T15:25:00Z");
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].record == ref(Kind::kReservation, "a"));
  CHECK(leases.active_count() == 0);
}
