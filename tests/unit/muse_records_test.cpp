// The records coordctl writes, checked against what Python (Muse) makes of
// the same fields: hashlib.sha256, json.dumps(indent=2) and the key order of
// Muse's records. The expected texts were produced by Python 3.11.
#include "proto/muse_records.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <string>

#include "proto/sha256.hpp"

using namespace coordd;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

WallTime at(const char* text) { return *parse_timestamp(text); }

}  // namespace

TEST_CASE("sha256_hex gives hashlib's digests, across the one- and two-block tails") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex(std::string(56, 'a')) ==
        "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  CHECK(sha256_hex(std::string(64, 'a')) ==
        "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST_CASE("a reservation is laid out as Muse's, with its content-addressed id and indent=2 text") {
  ReservationFields fields;
  fields.run_id = "agent-1";
  fields.branch = "main";
  fields.addresses = {"a.py::f", "caf\xc3\xa9"};
  fields.created_at = at("2026-03-30T15:00:00.123456+00:00");
  fields.expires_at = at("2026-03-30T16:00:00.123456+00:00");
  MuseRecord record = reservation_record(fields);

  const std::string id = "0e340ddeb4b9f4d2423db35c63db0f07382bcdc1686e01b7e63bd138eab660be";
  CHECK(record.kind == Kind::kReservation);
  CHECK(record.id == id);
  CHECK(muse_file_text(record.data) ==
        "{\n  \"schema_version\": 1,\n  \"reservation_id\": \"" + id +
            "\",\n  \"run_id\": \"agent-1\",\n  \"branch\": \"main\",\n  \"addresses\": [\n"
            "    \"a.py::f\",\n    \"caf\\u00e9\"\n  ],\n"
            "  \"created_at\": \"2026-03-30T15:00:00.123456+00:00\",\n"
            "  \"expires_at\": \"2026-03-30T16:00:00.123456+00:00\",\n  \"operation\": null\n}");
}

TEST_CASE("a reservation's id changes with its content, and an operation is kept as a string") {
  ReservationFields fields;
  fields.run_id = "agent-1";
  fields.branch = "main";
  fields.addresses = {"a.py::f"};
  fields.created_at = at("2026-03-30T15:00:00+00:00");
  fields.expires_at = at("2026-03-30T16:00:00+00:00");
  MuseRecord plain = reservation_record(fields);
  fields.operation = "rename";
  MuseRecord renaming = reservation_record(fields);
  CHECK(plain.id != renaming.id);
  CHECK(renaming.data.at("operation") == "rename");
  CHECK(plain.data.at("operation").is_null());
}

TEST_CASE("a heartbeat names its reservation and the expiry it extends to") {
  HeartbeatFields fields{"r-1", "agent-1", at("2026-03-30T15:00:00.5+00:00"),
                         at("2026-03-30T17:00:00+00:00")};
  MuseRecord record = heartbeat_record(fields);
  CHECK(record.kind == Kind::kHeartbeat);
  std::vector<std::string> keys;
  for (const auto& entry : record.data) keys.emplace_back(entry.key());
  CHECK(keys == std::vector<std::string>{"schema_version", "heartbeat_id", "reservation_id",
                                         "run_id", "created_at", "extended_expires_at"});
  CHECK(record.data.at("heartbeat_id") == json::value(record.id));
  CHECK(record.data.at("created_at") == "2026-03-30T15:00:00.500000+00:00");
  CHECK(record.data.at("extended_expires_at") == "2026-03-30T17:00:00+00:00");
}

TEST_CASE("a release names its reservation and the reason") {
  MuseRecord record =
      release_record(ReleaseFields{"r-1", "agent-1", "completed", at("2026-03-30T15:00:00Z")});
  CHECK(record.kind == Kind::kRelease);
  std::vector<std::string> keys;
  for (const auto& entry : record.data) keys.emplace_back(entry.key());
  CHECK(keys == std::vector<std::string>{"schema_version", "release_id", "reservation_id", "run_id",
                                         "reason", "created_at"});
  CHECK(record.data.at("reason") == "completed");
  CHECK(record.id.size() == 64);
}

TEST_CASE("muse_file_text writes empty containers and nesting as json.dumps(indent=2) does") {
  json::value value = json::parse(R"({"a":[],"b":{},"c":[{"d":true}],"e":"\n\u007f"})");
  CHECK(muse_file_text(value) ==
        "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    {\n      \"d\": true\n    }\n  ],\n"
        "  \"e\": \"\\n\\u007f\"\n}");
}

TEST_CASE("content_id hashes the body with sorted keys and no spaces, as Muse's Python would") {
  json::object body{{"b", 1}, {"a", "x"}};
  CHECK(content_id(body) == sha256_hex(R"({"a":"x","b":1})"));
}
