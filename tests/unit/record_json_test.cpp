#include "daemon/engine/record_json.hpp"

#include <doctest/doctest.h>

#include <string>

#include "daemon/engine/store.hpp"

using namespace coordd;

TEST_CASE("a record's JSON keeps its exact bytes, embedded NULs included, and copies deeply") {
  std::string text = std::string(R"({"a":"x)") + '\0' + R"(y","b":[1,2.50]})";
  RecordJson json(text);
  CHECK(json.view() == text);
  CHECK(json.size() == text.size());
  CHECK(json == text);
  RecordJson copy = json;
  CHECK(copy == text);
  CHECK(copy.view().data() != json.view().data());
  RecordJson moved = std::move(copy);
  CHECK(moved == text);
  CHECK(json.str() == text);
}

TEST_CASE("an empty record JSON reads as empty, and one is 8 bytes in a record") {
  RecordJson empty;
  CHECK(empty.empty());
  CHECK(empty.view().empty());
  CHECK(RecordJson("").empty());
  CHECK(sizeof(RecordJson) == sizeof(void*));
}

TEST_CASE("a stored record is 64 bytes beside its id, and its map node does not cache the hash") {
  // bench/: scale holds 1M of them; growing this is a memory regression.
  CHECK(sizeof(Record) == 64);
  CHECK_FALSE(std::__cache_default<std::string, Store::IdHash>::value);
}
