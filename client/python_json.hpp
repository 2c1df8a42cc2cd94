// Text as Python prints it: repr() of a float or a str, and json.dumps() with its
// default settings (", " and ": " separators, ensure_ascii). coordctl writes
// its JSON lines this way so a script that parsed `muse coord watch --json`
// (or grepped it) sees the same bytes. Pure functions; safe from any thread.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace coordd {

// The code point at text[i], advancing i past it, as Python 3.11 decodes argv
// (UTF-8 with surrogateescape): a byte that does not begin a well-formed
// sequence is one code point of its own, U+DC00 + the byte.
char32_t next_code_point(std::string_view text, std::size_t& i);

// Python's repr(float): "0.0", "-1.0", "0.01", "3600.0", "1e-05", "1e+16",
// "inf", "nan" (the shortest text that reads back as the same double).
std::string python_float_repr(double value);

// Python's repr(str) of `text` as Python 3.11 decodes it from argv (UTF-8,
// invalid bytes as the surrogates \udc80-\udcff): 'a', "it's", 'café' kept,
// '\n', '\x1b', '\u2028', '\U000e0001' escaped as str.isprintable() decides.
std::string python_repr(std::string_view text);

// Python's json.dumps(value): {"a": 1, "b": [1.5, "\u00e9"]}. Non-finite
// floats are written as Python writes them (Infinity, -Infinity, NaN).
std::string python_json_dumps(const boost::json::value& value);

}  // namespace coordd
