#include "client/watch_options.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "client/python_json.hpp"
#include "proto/display.hpp"

namespace coordd {
namespace {

// Python's float() and int() accept surrounding whitespace and '_' between
// digits; normalise those away before the C parsers see the text.
std::string python_number_text(std::string_view text) {
  auto space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  std::string out;
  for (char c : text) {
    if (c != '_') out += c;
  }
  return out;
}

std::optional<double> parse_python_float(std::string_view raw) {
  std::string text = python_number_text(raw);
  // strtod also reads hex floats, which Python's float() refuses.
  if (text.empty() || text.find_first_of("xX") != std::string::npos) return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return value;
}

struct ParsedInt {
  std::int64_t value = 0;
  std::string text;  // as Python would print int(raw)
};

std::optional<ParsedInt> parse_python_int(std::string_view raw) {
  std::string text = python_number_text(raw);
  bool negative = !text.empty() && text.front() == '-';
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) text.erase(0, 1);
  if (text.empty() ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  text.erase(0, std::min(text.find_first_not_of('0'), text.size() - 1));
  if (negative && text != "0") text.insert(0, "-");
  ParsedInt out{0, text};
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out.value);
  // Python ints are unbounded: a huge --max-events is simply "no cap" in practice.
  if (ec == std::errc::result_out_of_range) {
    out.value = negative ? INT64_MIN : INT64_MAX;
  }
  return out;
}

std::size_t code_points(std::string_view text) {
  return std::size_t(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string quoted(std::string_view text) { return "'" + strip_control(text) + "'"; }

}  // namespace

bool wants_json(const WatchArgs& args) { return args.json || args.format == "json"; }

std::string valid_kind_names() {
  std::vector<std::string_view> names;
  for (Kind kind : kAllKinds) names.push_back(kind_name(kind));
  std::sort(names.begin(), names.end());
  std::string out;
  for (std::string_view name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

ValidatedWatch validate_watch_args(const WatchArgs& args) {
  ValidatedWatch out;
  WatchOptions& options = out.options;
  auto fail = [&out](std::string message) {
    out.error = std::move(message);
    return out;
  };
  options.json = wants_json(args);
  options.once = args.once;
  options.require_daemon = args.require_daemon;
  options.coordd_events = args.coordd_events;
  options.root = args.root;
  options.socket = args.socket;

  // What argparse would have refused while parsing.
  if (args.format != "text" && args.format != "json") {
    return fail("--format must be text or json, got " + quoted(args.format));
  }
  if (args.kind) {
    options.kind = parse_kind(*args.kind);
    if (!options.kind) {
      return fail("--kind must be one of " + valid_kind_names() +
                  " (plural directory names are accepted too), got " + quoted(*args.kind));
    }
  }
  std::optional<double> timeout;
  if (args.timeout) {
    timeout = parse_python_float(*args.timeout);
    if (!timeout) return fail("argument --timeout: invalid float value: " + quoted(*args.timeout));
  }
  std::optional<ParsedInt> max_events;
  if (args.max_events) {
    max_events = parse_python_int(*args.max_events);
    if (!max_events) {
      return fail("argument --max-events: invalid int value: " + quoted(*args.max_events));
    }
  }
  std::optional<double> poll = parse_python_float(args.poll_interval);
  if (!poll)
    return fail("argument --poll-interval: invalid float value: " + quoted(args.poll_interval));

  // Muse's own checks, in Muse's order and words.
  if (args.run_id && code_points(*args.run_id) > kMaxRunIdChars) {
    return fail("--run-id is too long (" + std::to_string(code_points(*args.run_id)) +
                " chars; max " + std::to_string(kMaxRunIdChars) + ")");
  }
  if (!(kMinPollInterval <= *poll && *poll <= kMaxPollInterval)) {
    return fail("--poll-interval must be in [" + python_float_repr(kMinPollInterval) + ", " +
                python_float_repr(kMaxPollInterval) + "], got " + python_float_repr(*poll));
  }
  // NaN passes Muse's `timeout < 0.0` and then never times out; refuse it.
  if (timeout && (*timeout < 0.0 || std::isnan(*timeout))) {
    return fail("--timeout must be >= 0, got " + python_float_repr(*timeout));
  }
  if (max_events && max_events->value < 1) {
    return fail("--max-events must be >= 1, got " + max_events->text);
  }

  options.poll_interval = *poll;
  if (max_events) options.max_events = max_events->value;
  if (timeout && *timeout == 0.0) {
    options.once = true;  // --timeout 0 is --once
  } else if (timeout && *timeout < 1e9) {
    options.timeout = std::chrono::milliseconds(std::llround(std::ceil(*timeout * 1000.0)));
  }
  if (args.run_id && !args.run_id->empty()) options.run_id = args.run_id;
  if (args.branch && !args.branch->empty()) options.branch = args.branch;
  return out;
}

}  // namespace coordd
