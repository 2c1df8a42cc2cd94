// Cheap field lookups in one JSON line, for readers that must keep up with
// hundreds of thousands of lines a second: no parse, just the first
// `"name":` (optionally followed by spaces, as Python's json.dumps writes).
// Good for flat top-level fields that precede any nested object, as "type",
// "id" and "seq" do in coordd's and seed_watch.py's lines. Header-only.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace coordd::bench {

// The value text right after `"name":` and any spaces; empty when absent.
inline std::string_view field_start(std::string_view line, std::string_view name) {
  std::string key;
  key.reserve(name.size() + 3);
  key.append("\"").append(name).append("\":");
  std::size_t at = line.find(key);
  if (at == std::string_view::npos) return {};
  std::string_view rest = line.substr(at + key.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  return rest;
}

// A string field without escapes (ids, types); nullopt when absent.
inline std::optional<std::string_view> string_field(std::string_view line, std::string_view name) {
  std::string_view rest = field_start(line, name);
  if (rest.empty() || rest.front() != '"') return std::nullopt;
  rest.remove_prefix(1);
  std::size_t end = rest.find('"');
  if (end == std::string_view::npos) return std::nullopt;
  return rest.substr(0, end);
}

// An unsigned integer field; nullopt when absent.
inline std::optional<std::uint64_t> uint_field(std::string_view line, std::string_view name) {
  std::string_view rest = field_start(line, name);
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
  if (ec != std::errc() || end == rest.data()) return std::nullopt;
  return value;
}

}  // namespace coordd::bench
