#include "client/event_printer.hpp"

#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>

#include "client/agent_text.hpp"
#include "client/python_json.hpp"
#include "proto/display.hpp"
#include "proto/kind.hpp"

namespace coordd {
namespace json = boost::json;

namespace {

constexpr std::size_t kRuleWidth = 62;
constexpr std::size_t kAgentWidth = 32;
constexpr std::size_t kKindWidth = 12;
constexpr std::size_t kAddressesShown = 3;

const json::value* field(const json::object& obj, std::string_view key) {
  return obj.if_contains(key);
}

std::string string_field(const json::object& obj, std::string_view key) {
  const json::value* value = field(obj, key);
  return value && value->is_string() ? std::string(value->get_string()) : std::string();
}

std::string_view icon_of(std::string_view event_type) {
  if (event_type == "snapshot") return "·";
  if (event_type == "added") return "+";
  if (event_type == "modified") return "~";
  if (event_type == "removed") return "-";
  if (event_type == "expired") return "!";
  return "?";
}

std::string_view colour_of(std::string_view event_type) {
  if (event_type == "snapshot") return "\x1b[2m";
  if (event_type == "added") return "\x1b[32m";
  if (event_type == "modified") return "\x1b[33m";
  if (event_type == "removed") return "\x1b[31m";
  if (event_type == "expired") return "\x1b[1;35m";
  return "";
}

std::string first_address(const json::object& data) {
  const json::value* value = field(data, "addresses");
  if (!value || !value->is_array() || value->get_array().empty()) return "?";
  return agent_text(&value->get_array().front(), "?");
}

// The per-kind tail of a text line, after the id.
std::string kind_details(std::string_view kind, const json::object& data) {
  if (kind == "reservation") return " [" + addresses_text(data, kAddressesShown) + "]";
  if (kind == "intent") return " " + agent_text(data, "operation", "?") + " " + first_address(data);
  if (kind == "release") {
    return " " + agent_text(data, "reason", "?") +
           " (res: " + agent_text(data, "reservation_id", "") + ")";
  }
  if (kind == "heartbeat") {
    return " extends to " + agent_text(data, "extended_expires_at", "?") +
           " (res: " + agent_text(data, "reservation_id", "") + ")";
  }
  return "";
}

}  // namespace

bool colour_wanted(std::FILE* stream) {
  const char* no_colour = std::getenv("NO_COLOR");
  if (no_colour && *no_colour) return false;
  return ::isatty(::fileno(stream)) == 1;
}

std::string json_event_line(const json::object& event) {
  json::object out;
  for (std::string_view key : {"schema_version", "event_type", "kind", "id", "timestamp"}) {
    const json::value* value = field(event, key);
    out[key] = value ? *value : json::value(nullptr);
  }
  // Muse names a kind by its directory, whatever its docstring says.
  if (std::optional<Kind> kind = parse_kind(string_field(event, "kind"))) {
    out["kind"] = kind_dir(*kind);
  }
  const json::value* data = field(event, "data");
  out["data"] = data ? *data : json::value(json::object());
  for (std::string_view key : {"seq", "root"}) {
    const json::value* value = field(event, key);
    out[key] = value ? *value : json::value(nullptr);
  }
  if (const json::value* cause = field(event, "cause")) out["cause"] = *cause;
  return python_json_dumps(out);
}

std::string text_event_line(const json::object& event, bool colour) {
  std::string event_type = string_field(event, "event_type");
  std::string kind = string_field(event, "kind");
  std::string line;
  if (colour) line += colour_of(event_type);
  line += icon_of(event_type);
  line += ' ';
  line += pad_right(strip_control(kind), kKindWidth);
  if (colour) line += "\x1b[0m";
  line += ' ';

  const json::value* data_value = field(event, "data");
  const json::object empty;
  const json::object& data =
      data_value && data_value->is_object() ? data_value->get_object() : empty;
  std::string id = strip_control(string_field(event, "id"));
  if (data.empty()) {
    line += id;  // e.g. removed with nothing cached: no agent to show
  } else {
    line += pad_right(agent_label(data), kAgentWidth) + " " + id + kind_details(kind, data);
  }
  if (event_type == "expired") {
    std::string cause = agent_text(event, "cause", "");
    std::string note = cause.empty() ? " (expired)" : " (expired: " + cause + ")";
    line += colour ? std::string(colour_of(event_type)) + note + "\x1b[0m" : note;
  }
  return line;
}

EventPrinter::EventPrinter(std::FILE* out, Format format, bool colour)
    : out_(out), format_(format), colour_(colour) {}

void EventPrinter::header(std::string_view root, std::string_view source,
                          std::string_view filters) {
  if (format_ != Format::kText) return;
  header_printed_ = true;
  write_line("");
  write_line("coordctl watch — watching " + strip_control(root) + "/.muse/coordination/ (" +
             std::string(source) + ")");
  if (!filters.empty()) write_line("  filter: " + std::string(filters));
  std::string rule;
  for (std::size_t i = 0; i < kRuleWidth; ++i) rule += "─";
  write_line(rule);
}

void EventPrinter::event(const json::object& event) {
  write_line(format_ == Format::kJson ? json_event_line(event) : text_event_line(event, colour_));
}

void EventPrinter::footer() {
  if (format_ != Format::kText || !header_printed_) return;
  write_line("");
  write_line("  (watch ended)");
}

void EventPrinter::write_line(std::string_view line) {
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fputc('\n', out_);
  std::fflush(out_);
}

}  // namespace coordd
