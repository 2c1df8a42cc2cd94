#include "client/message_text.hpp"

#include <boost/json.hpp>

#include "proto/display.hpp"

namespace coordd {
namespace json = boost::json;

namespace {

std::string string_or(const json::object& o, std::string_view key, std::string_view otherwise) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? strip_control(v->get_string()) : std::string(otherwise);
}

}  // namespace

std::string message_text(const json::object& line) {
  std::string out = "seq " + json::serialize(line.contains("seq") ? line.at("seq") : nullptr);
  out += "  " + string_or(line, "from", "(anonymous)");
  if (std::string host = string_or(line, "from_host", ""); !host.empty()) out += "@" + host;
  std::string to = string_or(line, "to", "?");
  out += " -> " + (to == "*" ? std::string("everyone") : to);
  json::object message;
  if (const json::value* m = line.if_contains("message"); m && m->is_object()) {
    message = m->get_object();
  }
  out += "  " + string_or(message, "kind", "?");
  message.erase("kind");
  if (!message.empty()) out += "  " + strip_control(json::serialize(message));
  if (const json::value* again = line.if_contains("redelivered");
      again && again->is_bool() && again->get_bool()) {
    out += "  (again: delivered before, not acked)";
  }
  return out;
}

}  // namespace coordd
