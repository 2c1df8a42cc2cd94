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
  for (const char* bytes : {"{\"a\":", "{\"a\":1} trailing", "", "{'a':1}", "{\"a\":1}}",
                            "{\"a\":NaN}", "{\"a\":[1,]}", "[1,2"}) {
    CAPTURE(bytes);
    auto record = parse_record(bytes);
    CHECK_FALSE(record.ok());
    CHECK(record.status().message().find("invalid JSON") != std::string::npos);
  }
}

namespace {

// A record whose value under "a" is `depth - 1` nested arrays, so the whole
// file nests `depth` levels deep (the object is the first).
std::string nested(std::size_t depth) {
  return "{\"a\":" + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
}

}  // namespace

TEST_CASE("parse_record keeps integers of any size and floats exactly as the file writes them") {
  auto record = parse_record(
      R"({"n": 123456789012345678901234567890, "m": 18446744073709551616, "f": 1.0,)"
      R"( "neg": -98765432109876543210, "e": 1.5E-7, "z": -0, "small": [1, -2, 3.25]})");
  REQUIRE(record.ok());
  CHECK(record->data_json ==
        R"({"n":123456789012345678901234567890,"m":18446744073709551616,"f":1.0,)"
        R"("neg":-98765432109876543210,"e":1.5E-7,"z":-0,"small":[1,-2,3.25]})");
}

TEST_CASE("parse_record reads an integer of 4300 digits but not 4301, as Python's int() does") {
  auto longest = parse_record("{\"n\":" + std::string(4300, '7') + "}");
  auto longer = parse_record("{\"n\":-" + std::string(4301, '7') + "}");
  CHECK(longest.ok());
  REQUIRE_FALSE(longer.ok());
  CHECK(longer.status().message().find("4300 digits") != std::string::npos);
}

TEST_CASE("parse_record writes strings as before: escapes kept minimal, UTF-8 as is") {
  auto record = parse_record(R"({"s":"caf\u00e9 \"q\" \\ \/ \n\u0001\u007f"})");
  REQUIRE(record.ok());
  CHECK(record->data_json == "{\"s\":\"caf\xc3\xa9 \\\"q\\\" \\\\ / \\n\\u0001\x7f\"}");
}

TEST_CASE("parse_record takes the last of a repeated top-level key, as Python's json does") {
  auto record = parse_record(
      R"({"expires_at":"2026-03-30T15:00:00Z","run_id":"a","expires_at":"2026-03-30T16:00:00Z",)"
      R"("run_id":7,"nested":{"branch":"inner"}})");
  REQUIRE(record.ok());
  CHECK(record->expires_at == "2026-03-30T16:00:00Z");
  CHECK(record->run_id.empty());
  CHECK(record->branch.empty());
}

TEST_CASE("parse_record still refuses a float beyond the double range, which Python reads as inf") {
  auto record = parse_record(R"({"x":1e400})");
  REQUIRE_FALSE(record.ok());
  CHECK(record.status().message().find("beyond the range of a double") != std::string::npos);
}

TEST_CASE("parse_record accepts nesting as deep as Python's json.loads reads, and no deeper") {
  auto deepest = parse_record(nested(kMaxRecordDepth));
  auto deeper = parse_record(nested(kMaxRecordDepth + 1));
  REQUIRE_MESSAGE(deepest.ok(), deepest.status().message());
  CHECK(deepest->data_json == nested(kMaxRecordDepth));
  REQUIRE_FALSE(deeper.ok());
  CHECK(deeper.status().code() == "bad_record");
  CHECK(deeper.status().message() ==
        "nested deeper than 995 levels (Python's json reads no deeper)");
}

TEST_CASE("parse_record refuses a file nested 100000 deep without exhausting the stack") {
  std::string deep = "{\"a\":" + std::string(100'000, '[') + std::string(100'000, ']') + "}";
  std::string deep_objects;
  for (int i = 0; i < 100'000; ++i) deep_objects += "{\"a\":";
  auto arrays = parse_record(deep);
  auto objects = parse_record(deep_objects);
  CHECK_FALSE(arrays.ok());
  CHECK_FALSE(objects.ok());
}
