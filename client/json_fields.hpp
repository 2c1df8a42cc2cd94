// Reading the fields of coordd's reply and stream lines without trusting
// their types: a field that is missing, of another type or out of range
// reads as the fallback, never as an exception. Header-only.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace coordd {

inline std::uint64_t uint_field(const boost::json::object& o, std::string_view key,
                                std::uint64_t fallback = 0) {
  const boost::json::value* v = o.if_contains(key);
  if (v && v->is_uint64()) return v->get_uint64();
  if (v && v->is_int64() && v->get_int64() >= 0) return std::uint64_t(v->get_int64());
  return fallback;
}

inline std::string string_field(const boost::json::object& o, std::string_view key,
                                std::string_view fallback = {}) {
  const boost::json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string(fallback);
}

}  // namespace coordd
