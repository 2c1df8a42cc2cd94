#include "proto/kind.hpp"

#include <doctest/doctest.h>

using namespace coordd;

TEST_CASE("parse_kind accepts both the singular name and the plural directory name") {
  CHECK(parse_kind("reservation") == Kind::kReservation);
  CHECK(parse_kind("reservations") == Kind::kReservation);
  CHECK(parse_kind("dependency") == Kind::kDependency);
  CHECK(parse_kind("dependencies") == Kind::kDependency);
  CHECK(parse_kind("heartbeats") == Kind::kHeartbeat);
}

TEST_CASE("parse_kind rejects unknown, empty and differently cased names") {
  CHECK_FALSE(parse_kind("lease").has_value());
  CHECK_FALSE(parse_kind("").has_value());
  CHECK_FALSE(parse_kind("Reservation").has_value());
  CHECK_FALSE(parse_kind("dependencys").has_value());
}

TEST_CASE("every kind's name and directory parse back to that kind") {
  for (Kind kind : kAllKinds) {
    CAPTURE(kind_name(kind));
    CHECK(parse_kind(kind_name(kind)) == kind);
    CHECK(parse_kind(kind_dir(kind)) == kind);
    CHECK(kind_from_dir(kind_dir(kind)) == kind);
  }
}

TEST_CASE("kind_from_dir accepts only the plural directory name") {
  CHECK(kind_from_dir("claims") == Kind::kClaim);
  CHECK_FALSE(kind_from_dir("claim").has_value());
}

TEST_CASE("an empty KindSet contains every kind") {
  KindSet all;
  CHECK(all.is_all());
  for (Kind kind : kAllKinds) CHECK(all.contains(kind));
}

TEST_CASE("a KindSet with members contains exactly those kinds") {
  KindSet set;
  set.add(Kind::kReservation);
  set.add(Kind::kDependency);
  CHECK_FALSE(set.is_all());
  CHECK(set.contains(Kind::kReservation));
  CHECK(set.contains(Kind::kDependency));
  CHECK_FALSE(set.contains(Kind::kClaim));
  CHECK_FALSE(set.contains(Kind::kIntent));
}
