#include "daemon/engine/string_pool.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace coordd;

TEST_CASE("equal strings interned twice share one copy") {
  StringPool pool;

  PooledString a = pool.intern("run-42");
  PooledString b = pool.intern(std::string("run-") + "42");

  CHECK(a.get() == b.get());
  CHECK(*a == "run-42");
  CHECK(pool.size() == 1);
}

TEST_CASE("different strings get different copies") {
  StringPool pool;

  PooledString a = pool.intern("main");
  PooledString b = pool.intern("feature");

  CHECK(*a == "main");
  CHECK(*b == "feature");
  CHECK(pool.size() == 2);
}

TEST_CASE("a string leaves the pool when its last handle goes") {
  StringPool pool;
  PooledString a = pool.intern("run-1");
  PooledString b = a;

  a.reset();
  CHECK(pool.size() == 1);
  b.reset();

  CHECK(pool.size() == 0);
  CHECK(*pool.intern("run-1") == "run-1");
}

TEST_CASE("a handle is one pointer, an empty one reads as the empty string, and moves leave none") {
  StringPool pool;
  CHECK(sizeof(PooledString) == sizeof(void*));
  PooledString empty;
  CHECK(*empty == "");
  CHECK(empty->empty());
  PooledString a = pool.intern("branch-x");
  PooledString b = std::move(a);
  CHECK(*a == "");
  CHECK(*b == "branch-x");
  CHECK(pool.size() == 1);
  a = b;  // copy-assign: two handles, one entry
  b = pool.intern("other");
  CHECK(pool.size() == 2);
  a = PooledString();
  CHECK(pool.size() == 1);
}
