#include "client/agent_text.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "proto/display.hpp"

namespace coordd {
namespace json = boost::json;

std::string agent_text(const json::value* value, std::string_view fallback) {
  if (!value || value->is_null()) return std::string(fallback);
  if (value->is_string()) return strip_control(value->get_string());
  return strip_control(json::serialize(*value));
}

std::string agent_text(const json::object& obj, std::string_view key, std::string_view fallback) {
  return agent_text(obj.if_contains(key), fallback);
}

std::string agent_label(const json::object& data) {
  std::string label = agent_text(data, "run_id", "?");
  std::string branch = agent_text(data, "branch", "");
  return branch.empty() ? label : label + "@" + branch;
}

std::string addresses_text(const json::object& data, std::size_t shown) {
  auto* value = data.if_contains("addresses");
  if (!value || !value->is_array()) return "";
  const json::array& addresses = value->get_array();
  std::string out;
  for (std::size_t i = 0; i < std::min(addresses.size(), shown); ++i) {
    if (i > 0) out += ", ";
    out += agent_text(&addresses[i], "?");
  }
  if (addresses.size() > shown) out += " +" + std::to_string(addresses.size() - shown) + " more";
  return out;
}

std::size_t display_width(std::string_view text) {
  return std::size_t(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string pad_right(std::string text, std::size_t width) {
  std::size_t length = display_width(text);
  if (length < width) text.append(width - length, ' ');
  return text;
}

}  // namespace coordd
