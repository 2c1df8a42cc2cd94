#include "daemon/engine/record_table.hpp"

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>

using namespace coordd;

namespace {

Record::Ptr record(std::string_view id, std::string_view json, std::uint64_t inode = 0) {
  FileStamp stamp;
  stamp.inode = inode;
  return Record::make(id, json, PooledString(), PooledString(), stamp);
}

// The table's records, checked against `model` both ways: every id found
// with its JSON, and iteration visiting exactly the model's ids once each.
void check_matches(const RecordTable& table, const std::map<std::string, std::string>& model) {
  REQUIRE(table.size() == model.size());
  CHECK(table.empty() == model.empty());
  for (const auto& [id, json] : model) {
    const Record* found = table.find(id);
    REQUIRE(found != nullptr);
    CHECK(found->id() == id);
    CHECK(found->data_json() == json);
  }
  std::map<std::string, std::string> seen;
  for (const Record& r : table) {
    CHECK(seen.emplace(std::string(r.id()), std::string(r.data_json())).second);
  }
  CHECK(seen == model);
}

}  // namespace

TEST_CASE("a record holds its id, JSON and fields in one block") {
  FileStamp stamp{1, 2, 3, 4};
  StringPool pool;
  Record::Ptr r =
      Record::make("res-1", R"({"a":1})", pool.intern("run"), pool.intern("main"), stamp);

  CHECK(r->id() == "res-1");
  CHECK(r->data_json() == R"({"a":1})");
  CHECK(*r->run_id == "run");
  CHECK(*r->branch == "main");
  CHECK(r->stamp_digest == stamp.digest());
  CHECK(r->seq == 0);
  // The fixed part a daemon pays per record beside the id and JSON bytes.
  CHECK(sizeof(Record) == 32);

  Record::Ptr empty = Record::make("e", "", PooledString(), PooledString(), FileStamp{});
  CHECK(empty->data_json().empty());
  CHECK(empty->id() == "e");
}

TEST_CASE("an id of 255 bytes is stored whole and one of 256 is refused") {
  std::string longest(255, 'a');
  CHECK(record(longest, "{}")->id() == longest);
  CHECK_THROWS_AS(record(std::string(256, 'a'), "{}"), std::length_error);
}

TEST_CASE("put adds, replaces by id, and take hands the record over") {
  RecordTable table;
  CHECK(table.find("a") == nullptr);
  CHECK(table.take("a") == nullptr);

  auto [a, fresh] = table.put(record("a", "1"));
  CHECK(fresh);
  Record* b = table.put(record("b", "2")).first;
  auto [a2, fresh2] = table.put(record("a", "one"));
  CHECK_FALSE(fresh2);
  CHECK(table.size() == 2);
  CHECK(table.find("a") == a2);
  CHECK(a2->data_json() == "one");
  CHECK(table.find("b") == b);
  (void)a;

  Record::Ptr taken = table.take("b");
  REQUIRE(taken != nullptr);
  CHECK(taken.get() == b);
  CHECK(taken->data_json() == "2");
  CHECK(table.find("b") == nullptr);
  CHECK(table.size() == 1);
}

TEST_CASE("records never move while the table grows") {
  RecordTable table;
  Record* first = table.put(record("first", "{}")).first;
  for (int i = 0; i < 5000; ++i) table.put(record("r" + std::to_string(i), "{}"));
  CHECK(table.find("first") == first);
  CHECK(table.size() == 5001);
}

TEST_CASE("random puts and takes agree with a map, through growth and wrap-around") {
  // Few distinct ids and a small table: long probe runs that wrap past the
  // last slot, so every take's backward shift meets runs of every shape.
  for (std::uint32_t seed : {1u, 2u, 3u, 4u}) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    RecordTable table;
    if (seed % 2 == 0) table.reserve(40);
    std::map<std::string, std::string> model;
    for (int step = 0; step < 4000; ++step) {
      std::string id = "id" + std::to_string(rng() % 48);
      if (rng() % 3 == 0) {
        Record::Ptr taken = table.take(id);
        CHECK((taken != nullptr) == (model.erase(id) == 1));
        if (taken) CHECK(taken->id() == id);
      } else {
        std::string json = std::to_string(step);
        CHECK(table.put(record(id, json)).second == !model.contains(id));
        model[id] = json;
      }
      if (step % 16 == 0) check_matches(table, model);
    }
    check_matches(table, model);
    // Emptied one by one, then filled again.
    for (const auto& [id, json] : model) CHECK(table.take(id) != nullptr);
    model.clear();
    check_matches(table, model);
    table.put(record("again", "{}"));
    model["again"] = "{}";
    check_matches(table, model);
  }
}

TEST_CASE("a moved-from table is empty and the moved-to one owns the records") {
  RecordTable table;
  table.put(record("a", "1"));
  RecordTable other = std::move(table);
  CHECK(other.find("a") != nullptr);
  CHECK(table.size() == 0);  // NOLINT(bugprone-use-after-move): the documented state
  CHECK(table.find("a") == nullptr);
  table.put(record("b", "2"));
  other = std::move(table);
  CHECK(other.find("b") != nullptr);
  CHECK(other.find("a") == nullptr);
}

TEST_CASE("a stamp's digest follows every field of the stamp") {
  const FileStamp base{1'700'000'000'123'456'789, 300, 4242, 1'700'000'000'123'456'789};
  CHECK(base.digest() == FileStamp(base).digest());
  auto changed = [&](auto field, std::int64_t delta) {
    FileStamp other = base;
    other.*field = std::remove_reference_t<decltype(other.*field)>(other.*field + delta);
    return other.digest();
  };
  // What a rewrite, a rename over the file or a chmod moves, one at a time.
  for (std::int64_t delta : {1, -1, 1'000'000'000}) {
    CHECK(changed(&FileStamp::mtime_ns, delta) != base.digest());
    CHECK(changed(&FileStamp::size, delta) != base.digest());
    CHECK(changed(&FileStamp::inode, delta) != base.digest());
    CHECK(changed(&FileStamp::ctime_ns, delta) != base.digest());
  }
  // Swapped fields are different stamps too.
  CHECK(FileStamp{1, 2, 3, 4}.digest() != FileStamp{2, 1, 3, 4}.digest());
  CHECK(FileStamp{1, 2, 3, 4}.digest() != FileStamp{4, 2, 3, 1}.digest());
}
