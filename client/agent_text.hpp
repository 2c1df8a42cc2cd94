// Agent-supplied JSON made printable: every string passes through
// strip_control (Muse's sanitize_display), widths count code points as
// Python's str.ljust does. Shared by the watch lines and the list table.
// Pure functions; safe from any thread.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace coordd {

// A field's value as safe text: a string stripped of control characters,
// any other JSON value serialized (then stripped); `fallback` when the value
// is missing (nullptr) or null.
std::string agent_text(const boost::json::value* value, std::string_view fallback);
std::string agent_text(const boost::json::object& obj, std::string_view key,
                       std::string_view fallback);

// "run_id@branch", or "run_id" when the record has no branch ("?" for no run_id).
std::string agent_label(const boost::json::object& data);

// The first `shown` addresses and " +N more": "a, b, c +2 more" ("" for none).
std::string addresses_text(const boost::json::object& data, std::size_t shown);

// Code points in UTF-8 text, and `text` padded with spaces to `width` of them.
std::size_t display_width(std::string_view text);
std::string pad_right(std::string text, std::size_t width);

}  // namespace coordd
