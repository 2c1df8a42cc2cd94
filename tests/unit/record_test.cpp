#include "daemon/engine/record.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace coordd;

TEST_CASE("a name of the form <id>.json is a record named by its id") {
  ClassifiedName name = classify_name("res-1_a:b.c.json");
  CHECK(name.cls == NameClass::kRecord);
  CHECK(name.id == "res-1_a:b.c");
}

TEST_CASE("dot files, temp files and names not ending in .json are ignored without a warning") {
  CHECK(classify_name(".res-1.json").cls == NameClass::kIgnored);
  CHECK(classify_name(".json").cls == NameClass::kIgnored);
  CHECK(classify_name("res-1.json.tmp").cls == NameClass::kIgnored);
  CHECK(classify_name("res-1.json~").cls == NameClass::kIgnored);
  CHECK(classify_name("res-1.JSON").cls == NameClass::kIgnored);
  CHECK(classify_name("4913").cls == NameClass::kIgnored);
  CHECK(classify_name("").cls == NameClass::kIgnored);
}

TEST_CASE("a .json name whose id is unacceptable is invalid, to be warned about and counted") {
  CHECK(classify_name("bad id.json").cls == NameClass::kInvalid);
  CHECK(classify_name("\x1b[31mred.json").cls == NameClass::kInvalid);
  CHECK(classify_name("a..b.json").cls == NameClass::kInvalid);
  CHECK(classify_name("-leading-dash.json").cls == NameClass::kInvalid);
  CHECK(classify_name("_leading.json").cls == NameClass::kInvalid);
  CHECK(classify_name("a/b.json").cls == NameClass::kInvalid);
  CHECK(classify_name("caf\xc3\xa9.json").cls == NameClass::kInvalid);
}

TEST_CASE("a record id may be 128 characters long but not 129") {
  std::string longest(128, 'a');
  CHECK(classify_name(longest + ".json").cls == NameClass::kRecord);
  CHECK(classify_name(longest + "a.json").cls == NameClass::kInvalid);
  CHECK(is_valid_record_id(longest));
  CHECK_FALSE(is_valid_record_id(longest + "a"));
}

TEST_CASE("is_valid_record_id rejects the empty id and any id containing two dots") {
  CHECK_FALSE(is_valid_record_id(""));
  CHECK_FALSE(is_valid_record_id("a..b"));
  CHECK(is_valid_record_id("a.b.c"));
  CHECK(is_valid_record_id("7"));
}

TEST_CASE("parse_record keeps a record's data as compact JSON and extracts its fields") {
  auto record = parse_record(R"({ "reservation_id" : "r1", "run_id": "run-7",
      "branch": "main", "expires_at": "2026-03-30T15:00:00+00:00", "addresses": [ "a", "b" ] })");
  REQUIRE(record.ok());
  CHECK(
      record->data_json ==
      R"({"reservation_id":"r1","run_id":"run-7","branch":"main","expires_at":"2026-03-30T15:00:00+00:00","addresses":["a","b"]})");
  CHECK(record->run_id == "run-7");
  CHECK(record->branch == "main");
  CHECK(record->reservation_id == "r1");
  CHECK(record->expires_at == "2026-03-30T15:00:00+00:00");
  CHECK_FALSE(record->claim_id.has_value());
  CHECK_FALSE(record->extended_expires_at.has_value());
}

TEST_CASE("parse_record treats fields of the wrong type as absent") {
  auto record =
      parse_record(R"({"run_id":7,"branch":null,"expires_at":1774882800,"claim_id":"c1"})");
  REQUIRE(record.ok());
  CHECK(record->run_id.empty());
  CHECK(record->branch.empty());
  CHECK_FALSE(record->expires_at.has_value());
  CHECK(record->claim_id == "c1");
}

TEST_CASE("parse_record rejects an array, a number and a string with 'not a JSON object'") {
  for (const char* bytes : {"[1,2]", "42", R"("text")"}) {
    CAPTURE(bytes);
    auto record = parse_record(bytes);
    CHECK_FALSE(record.ok());
    CHECK(record.status().message() == "not a JSON object");
  }
}

TEST_CASE("parse_record rejects invalid JSON with an error that says so") {
  for (const char* bytes : {"{\"a\":", "{\"a\":1} trailing", "", "{'a':1}"}) {
    CAPTURE(bytes);
    auto record = parse_record(bytes);
    CHECK_FALSE(record.ok());
    CHECK(record.status().message().find("invalid JSON") != std::string::npos);
  }
}

TEST_CASE("parse_record refuses JSON nested deeper than it is willing to walk") {
  std::string deep = "{\"a\":" + std::string(200, '[') + std::string(200, ']') + "}";
  auto record = parse_record(deep);
  CHECK_FALSE(record.ok());
  CHECK(record.status().code() == "bad_record");
  CHECK_FALSE(record.status().message().empty());
}
