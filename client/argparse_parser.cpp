#include "client/argparse_parser.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <iterator>

#include "client/python_json.hpp"
#include "client/python_text.hpp"

// Each piece follows the CPython 3.11 code it emulates (Lib/argparse.py,
// Lib/textwrap.py, Objects/floatobject.c, Objects/longobject.c); the comments
// name it. Python measures text in code points, so widths here do too.

namespace coordd {
namespace {

// ---- Help text ---------------------------------------------------------------

// argparse's `text % dict(prog=...)`, for the two forms this parser supports.
std::string expand_prog(std::string_view text, std::string_view prog) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.substr(i, 2) == "%%") {
      out += '%';
      ++i;
    } else if (text.substr(i, 8) == "%(prog)s") {
      out += prog;
      i += 7;
    } else {
      out += text[i];
    }
  }
  return out;
}

// HelpFormatter._split_lines: ASCII whitespace runs become one space, then textwrap.
std::vector<std::string> split_help_lines(std::string_view help, std::ptrdiff_t width) {
  std::u32string collapsed;
  for (char32_t c : python_decode(help)) {
    bool space = c == ' ' || (c >= '\t' && c <= '\r');
    if (!space) {
      collapsed += c;
    } else if (collapsed.empty() || collapsed.back() != ' ') {
      collapsed += ' ';
    }
  }
  std::vector<std::string> out;
  for (const std::u32string& line : python_text_wrap(python_strip(collapsed), width)) {
    out.push_back(python_encode(line));
  }
  return out;
}

std::string spaces(std::ptrdiff_t count) {
  return std::string(std::size_t(std::max<std::ptrdiff_t>(count, 0)), ' ');
}

// format_help's last step: runs of 3+ newlines become 2, and the text ends in one.
std::string tidy_help(const std::string& text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t run = 0;
    while (i + run < text.size() && text[i + run] == '\n') ++run;
    if (run == 0) {
      out += text[i++];
    } else {
      out.append(run >= 3 ? 2 : run, '\n');
      i += run;
    }
  }
  std::size_t first = out.find_first_not_of('\n');
  if (first == std::string::npos) return "\n";
  return out.substr(first, out.find_last_not_of('\n') + 1 - first) + "\n";
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const std::string& part : parts) {
    if (&part != &parts.front()) out += separator;
    out += part;
  }
  return out;
}

// _negative_number_matcher: ^-\d+$|^-\d*\.\d+$ ($ also before a final newline).
bool looks_negative(std::string_view arg) {
  std::u32string text = python_decode(arg);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (text.size() < 2 || text[0] != '-') return false;
  std::size_t point = text.find('.');
  auto digits = [&](std::size_t from, std::size_t to) {
    return std::all_of(text.begin() + std::ptrdiff_t(from), text.begin() + std::ptrdiff_t(to),
                       [](char32_t c) { return python_decimal_value(c) >= 0; });
  };
  if (point == std::u32string::npos) return digits(1, text.size());
  return point + 1 < text.size() && digits(1, point) && digits(point + 1, text.size());
}

}  // namespace

// ---- Value checks --------------------------------------------------------------

ValueCheck python_float_check() {
  return [](std::string_view value) -> std::optional<std::string> {
    if (python_float_syntax(value)) return std::nullopt;
    return "invalid float value: " + python_repr(value);
  };
}

ValueCheck python_int_check() {
  return [](std::string_view value) -> std::optional<std::string> {
    if (python_int_value(value)) return std::nullopt;
    return "invalid int value: " + python_repr(value);
  };
}

ValueCheck choices_check(std::vector<std::string> listed, std::vector<std::string> also_accepted) {
  return [listed = std::move(listed),
          also = std::move(also_accepted)](std::string_view value) -> std::optional<std::string> {
    auto in = [value](const std::vector<std::string>& list) {
      return std::find(list.begin(), list.end(), value) != list.end();
    };
    if (in(listed) || in(also)) return std::nullopt;
    std::vector<std::string> quoted;
    for (const std::string& choice : listed) quoted.push_back(python_repr(choice));
    return "invalid choice: " + python_repr(value) + " (choose from " + join(quoted, ", ") + ")";
  };
}

int argparse_columns() {
  // shutil.get_terminal_size() reads COLUMNS with int(); it would then ask the
  // terminal, where this falls back to 80 as shutil does without one.
  const char* env = std::getenv("COLUMNS");
  std::optional<long long> columns = env ? python_int_value(env) : std::nullopt;
  if (!columns || *columns <= 0) return 80;
  return int(std::min<long long>(*columns, INT_MAX / 2));
}

// ---- The parser ------------------------------------------------------------------

struct ArgparseParser::Classified {
  enum class Kind { value, option, ambiguous } kind = Kind::value;
  Reading reading;
  std::string ambiguity;  // the error, for Kind::ambiguous
};

ArgparseParser::ArgparseParser(std::string prog, std::string description, std::string epilog)
    : prog_(std::move(prog)), description_(std::move(description)), epilog_(std::move(epilog)) {
  add_flag({"-h", "--help"}, "help", "show this help message and exit", true);
}

void ArgparseParser::add_flag(std::vector<std::string> option_strings, std::string dest,
                              std::string help, bool primary) {
  options_.push_back(
      {std::move(option_strings), std::move(dest), "", std::move(help), nullptr, false, primary});
}

void ArgparseParser::add_value(std::vector<std::string> option_strings, std::string dest,
                               std::string metavar, std::string help, ValueCheck check,
                               bool primary) {
  options_.push_back({std::move(option_strings), std::move(dest), std::move(metavar),
                      std::move(help), std::move(check), true, primary});
}

int ArgparseParser::exact_option(std::string_view option_string) const {
  for (std::size_t i = 0; i < options_.size(); ++i) {
    const std::vector<std::string>& strings = options_[i].strings;
    if (std::find(strings.begin(), strings.end(), option_string) != strings.end()) return int(i);
  }
  return -1;
}

// _get_option_tuples, one tier at a time: "--pre[=value]" matches the long
// strings it begins; "-xVALUE" matches -x with VALUE, and the strings "-xVALUE" begins.
std::vector<ArgparseParser::Reading> ArgparseParser::abbreviations(std::string_view arg) const {
  std::size_t short_end = 1;
  next_code_point(arg, short_end);
  for (bool primary : {true, false}) {
    std::vector<Reading> found;
    for (std::size_t i = 0; i < options_.size(); ++i) {
      if (options_[i].primary != primary) continue;
      for (const std::string& s : options_[i].strings) {
        if (arg[1] == '-') {
          std::size_t eq = arg.find('=');
          if (s.starts_with(arg.substr(0, eq))) {
            found.push_back({int(i), s,
                             eq == std::string_view::npos
                                 ? std::nullopt
                                 : std::optional<std::string>(arg.substr(eq + 1))});
          }
        } else if (s == arg.substr(0, short_end)) {
          found.push_back({int(i), s, std::string(arg.substr(short_end))});
        } else if (s.starts_with(arg)) {
          found.push_back({int(i), s, std::nullopt});
        }
      }
    }
    if (!found.empty()) return found;
  }
  return {};
}

// _parse_optional: is this argument an option (which, with what explicit
// value), a value, or an ambiguous abbreviation?
ArgparseParser::Classified ArgparseParser::classify(const std::string& arg) const {
  using Kind = Classified::Kind;
  if (arg.empty() || arg[0] != '-') return {};
  if (int option = exact_option(arg); option >= 0) return {Kind::option, {option, arg, {}}, {}};
  if (arg.size() == 1) return {};
  if (std::size_t eq = arg.find('='); eq != std::string::npos) {
    if (int option = exact_option(arg.substr(0, eq)); option >= 0) {
      return {Kind::option, {option, arg.substr(0, eq), arg.substr(eq + 1)}, {}};
    }
  }
  std::vector<Reading> found = abbreviations(arg);
  if (found.size() > 1) {
    std::vector<std::string> candidates;
    for (const Reading& r : found) candidates.push_back(r.option_string);
    return {
        Kind::ambiguous, {}, "ambiguous option: " + arg + " could match " + join(candidates, ", ")};
  }
  if (found.size() == 1) return {Kind::option, found.front(), {}};
  if (looks_negative(arg) || arg.find(' ') != std::string::npos) return {};
  return {Kind::option, {-1, arg, {}}, {}};
}

ParseResult ArgparseParser::parse(const std::vector<std::string>& args) const {
  ParseResult result;
  // As _parse_known_args does, read every argument before consuming any: 'O'
  // an option, 'A' a value, '-' the "--" after which all are values.
  std::string pattern(args.size(), 'A');
  std::vector<Reading> readings(args.size());
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") {
      pattern[i] = '-';
      break;
    }
    Classified c = classify(args[i]);
    if (c.kind == Classified::Kind::ambiguous) {
      result.error = c.ambiguity;
      return result;
    }
    if (c.kind == Classified::Kind::option) {
      pattern[i] = 'O';
      readings[i] = std::move(c.reading);
    }
  }

  auto name = [](const Option& option) { return join(option.strings, "/"); };
  auto fail = [&](const Option& option, std::string message) {
    result.error = "argument " + name(option) + ": " + message;
    return false;
  };
  // take_action: false when parsing stops here (help, or a bad value).
  auto take = [&](int index, const std::optional<std::string>& value) {
    const Option& option = options_[std::size_t(index)];
    if (index == 0) {
      result.help_requested = true;
      return false;
    }
    if (!option.takes_value) {
      result.flags.insert(option.dest);
    } else if (*value == "--") {
      result.values.insert_or_assign(option.dest, std::nullopt);  // _get_values drops "--"
    } else if (std::optional<std::string> bad =
                   option.check ? option.check(*value) : std::nullopt) {
      return fail(option, *bad);
    } else {
      result.values.insert_or_assign(option.dest, *value);
    }
    return true;
  };
  // consume_optional: the option at `at`, a -jb cluster's options one by one;
  // false when parsing stops.
  std::vector<std::string> extras;
  auto consume = [&](std::size_t& at) {
    Reading reading = readings[at];
    if (reading.option < 0) {
      extras.push_back(args[at++]);
      return true;
    }
    std::vector<std::pair<int, std::optional<std::string>>> actions;
    for (;;) {
      const Option& option = options_[std::size_t(reading.option)];
      const std::optional<std::string>& explicit_value = reading.explicit_value;
      if (!explicit_value) {
        if (option.takes_value && (at + 1 >= args.size() || pattern[at + 1] != 'A')) {
          return fail(option, "expected one argument");
        }
        actions.emplace_back(reading.option,
                             option.takes_value ? std::optional(args[at + 1]) : std::nullopt);
        at += option.takes_value ? 2 : 1;
        break;
      }
      if (option.takes_value) {
        actions.emplace_back(reading.option, explicit_value);
        at += 1;
        break;
      }
      if (reading.option_string[1] == '-' || explicit_value->empty()) {
        return fail(option, "ignored explicit argument " + python_repr(*explicit_value));
      }
      // A single-dash flag with text after it: the next character is the next option.
      actions.emplace_back(reading.option, std::nullopt);
      std::size_t first_end = 0;
      next_code_point(*explicit_value, first_end);
      std::string next = "-" + explicit_value->substr(0, first_end);
      int next_option = exact_option(next);
      if (next_option < 0) {
        return fail(option, "ignored explicit argument " + python_repr(*explicit_value));
      }
      std::string rest = explicit_value->substr(first_end);
      reading = {next_option, next, rest.empty() ? std::nullopt : std::optional(rest)};
    }
    for (const auto& [index, value] : actions) {
      if (!take(index, value)) return false;
    }
    return true;
  };

  std::size_t at = 0;
  std::size_t last_option = pattern.rfind('O');
  while (last_option != std::string::npos && at <= last_option) {
    std::size_t next = pattern.find('O', at);
    extras.insert(extras.end(), args.begin() + std::ptrdiff_t(at),
                  args.begin() + std::ptrdiff_t(next));
    at = next;
    if (!consume(at)) return result;
  }
  extras.insert(extras.end(), args.begin() + std::ptrdiff_t(at), args.end());
  if (!extras.empty()) {
    result.error = "unrecognized arguments: " + join(extras, " ");
    result.unrecognized = std::move(extras);
  }
  return result;
}

// ---- Usage and help ----------------------------------------------------------------

std::string ArgparseParser::usage_text(int columns) const {
  // HelpFormatter._format_usage; the formatter's width is the terminal's minus 2.
  const std::string prefix = "usage: ";
  std::ptrdiff_t text_width = std::ptrdiff_t(columns) - 2;
  std::vector<std::string> parts;
  for (const Option& option : options_) {
    parts.push_back("[" + option.strings.front() +
                    (option.takes_value ? " " + option.metavar : "") + "]");
  }
  std::string usage = prog_ + " " + join(parts, " ");
  if (python_len(prefix) + python_len(usage) <= text_width) return prefix + usage + "\n";

  auto get_lines = [&](const std::vector<std::string>& line_parts, std::ptrdiff_t indent,
                       bool after_prefix) {
    std::vector<std::string> lines, line;
    std::ptrdiff_t line_len = (after_prefix ? python_len(prefix) : indent) - 1;
    for (const std::string& part : line_parts) {
      if (line_len + 1 + python_len(part) > text_width && !line.empty()) {
        lines.push_back(spaces(indent) + join(line, " "));
        line.clear();
        line_len = indent - 1;
      }
      line.push_back(part);
      line_len += python_len(part) + 1;
    }
    if (!line.empty()) lines.push_back(spaces(indent) + join(line, " "));
    if (after_prefix) lines[0].erase(0, std::size_t(indent));
    return lines;
  };
  std::vector<std::string> lines;
  if (4 * (python_len(prefix) + python_len(prog_)) <= 3 * text_width) {
    // A short prog: the options follow it, continuation lines aligned after it.
    parts.insert(parts.begin(), prog_);
    lines = get_lines(parts, python_len(prefix) + python_len(prog_) + 1, true);
  } else {
    lines = get_lines(parts, python_len(prefix), false);
    lines.insert(lines.begin(), prog_);
  }
  return prefix + join(lines, "\n") + "\n";
}

std::string ArgparseParser::invocation(const Option& option) const {
  std::vector<std::string> forms;
  for (const std::string& s : option.strings) {
    forms.push_back(option.takes_value ? s + " " + option.metavar : s);
  }
  return join(forms, ", ");
}

std::string ArgparseParser::help_text(int columns) const {
  // ArgumentParser.format_help with HelpFormatter._format_action for each option.
  std::ptrdiff_t width = std::ptrdiff_t(columns) - 2;
  std::ptrdiff_t max_help_position =
      std::min<std::ptrdiff_t>(24, std::max<std::ptrdiff_t>(width - 20, 4));
  std::ptrdiff_t longest = 0;
  for (const Option& option : options_)
    longest = std::max(longest, python_len(invocation(option)) + 2);
  std::ptrdiff_t help_position = std::min(longest + 2, max_help_position);
  std::ptrdiff_t help_width = std::max<std::ptrdiff_t>(width - help_position, 11);
  std::ptrdiff_t action_width = help_position - 2 - 2;

  std::string items;
  for (const Option& option : options_) {
    std::string header = invocation(option);
    std::ptrdiff_t indent_first = 0;
    if (option.help.empty()) {
      items += "  " + header + "\n";
      continue;
    }
    if (python_len(header) <= action_width) {
      items += "  " + header + spaces(action_width - python_len(header)) + "  ";
    } else {
      items += "  " + header + "\n";
      indent_first = help_position;
    }
    if (python_strip(python_decode(option.help)).empty()) {
      if (items.back() != '\n') items += "\n";
      continue;
    }
    std::vector<std::string> lines = split_help_lines(expand_prog(option.help, prog_), help_width);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      items += spaces(i == 0 ? indent_first : help_position) + lines[i] + "\n";
    }
  }

  auto raw_text = [this](const std::string& text) {
    if (text.empty()) return std::string();
    return (text.find("%(prog)") != std::string::npos ? expand_prog(text, prog_) : text) + "\n\n";
  };
  return tidy_help(usage_text(columns) + "\n" + raw_text(description_) + "\noptions:\n" + items +
                   "\n" + raw_text(epilog_));
}

std::string ArgparseParser::error_text(std::string_view message, int columns) const {
  return usage_text(columns) + prog_ + ": error: " + std::string(message) + "\n";
}

}  // namespace coordd
