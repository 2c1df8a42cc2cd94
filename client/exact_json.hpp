// Reading coordd's lines without losing numbers: Boost.JSON's parse turns an
// integer beyond 64 bits into a double, but a record's data carries integers
// of any size (Python's json keeps them), and coordctl prints them back as
// Python would. Pure functions; safe from any thread.
#pragma once

#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <string_view>

namespace coordd {

// How deep a line may nest: a record (daemon/engine/record.hpp's
// kMaxRecordDepth, 995) inside a list reply's record inside its array.
inline constexpr std::size_t kMaxLineDepth = 995 + 3;

// The key of the one-member object that stands for an integer beyond 64 bits:
// {"\0coordd:integer": "123456789012345678901234567890"}. python_json_dumps
// writes it back as the bare digits.
inline constexpr std::string_view kBigIntegerKey{"\0coordd:integer", 15};

// Parses `text` as boost::json::parse does, to depth kMaxLineDepth, except
// that an integer beyond 64 bits becomes the object above.
boost::json::value parse_exact_json(std::string_view text, boost::system::error_code& ec);

}  // namespace coordd
