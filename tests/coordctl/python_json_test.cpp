// python_json: floats and JSON exactly as Python prints them.
#include "client/python_json.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <limits>

namespace json = boost::json;
using coordd::python_float_repr;
using coordd::python_json_dumps;

TEST_CASE("a float is printed as Python's repr prints it") {
  CHECK(python_float_repr(0.0) == "0.0");
  CHECK(python_float_repr(-1.0) == "-1.0");
  CHECK(python_float_repr(0.01) == "0.01");
  CHECK(python_float_repr(3600.0) == "3600.0");
  CHECK(python_float_repr(5000.0) == "5000.0");
  CHECK(python_float_repr(0.1 + 0.2) == "0.30000000000000004");
  CHECK(python_float_repr(0.0001) == "0.0001");
  CHECK(python_float_repr(0.00001) == "1e-05");
  CHECK(python_float_repr(1.5e-7) == "1.5e-07");
  CHECK(python_float_repr(1e15) == "1000000000000000.0");
  CHECK(python_float_repr(1e16) == "1e+16");
  CHECK(python_float_repr(-0.0) == "-0.0");
  CHECK(python_float_repr(123456.789) == "123456.789");
  CHECK(python_float_repr(std::numeric_limits<double>::infinity()) == "inf");
  CHECK(python_float_repr(std::numeric_limits<double>::quiet_NaN()) == "nan");
}

TEST_CASE("an object is laid out as json.dumps lays it out, keys in order") {
  json::object line;
  line["error"] = "--max-events must be >= 1, got 0";
  line["status"] = "bad_args";
  CHECK(python_json_dumps(line) ==
        R"({"error": "--max-events must be >= 1, got 0", "status": "bad_args"})");
  CHECK(python_json_dumps(json::parse(R"({"a":[1,2.0,true,null],"b":{}})")) ==
        R"({"a": [1, 2.0, true, null], "b": {}})");
}

TEST_CASE("strings are escaped as json.dumps escapes them with ensure_ascii") {
  CHECK(python_json_dumps(json::string("\x1b[31m\t\"\\\x7f")) == R"("\u001b[31m\t\"\\\u007f")");
  CHECK(python_json_dumps(json::string("caf\xc3\xa9")) == R"("caf\u00e9")");
  CHECK(python_json_dumps(json::string("\xf0\x9f\x98\x80")) == R"("\ud83d\ude00")");
}
