#include "client/argparse_parser.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <iterator>

#include "client/python_json.hpp"

// Each piece follows the CPython 3.11 code it emulates (Lib/argparse.py,
// Lib/textwrap.py, Objects/floatobject.c, Objects/longobject.c); the comments
// name it. Python measures text in code points, so widths here do too.

namespace coordd {
namespace {

// ---- Text as Python sees it ------------------------------------------------

// The code point at text[i], advancing i past it, as Python decodes argv
// (UTF-8 with surrogateescape): a byte that does not begin a well-formed
// sequence is one code point of its own, U+DC00 + the byte. (The same
// decoding as python_repr's.)
char32_t next_code_point(std::string_view text, std::size_t& i) {
  auto at = [&](std::size_t k) -> unsigned {
    return k < text.size() ? static_cast<unsigned char>(text[k]) : 0;
  };
  auto cont = [&](std::size_t k, unsigned lo, unsigned hi) {
    return at(i + k) >= lo && at(i + k) <= hi;
  };
  unsigned lead = at(i);
  std::size_t length = 0;
  if (lead < 0x80) {
    length = 1;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    length = cont(1, 0x80, 0xBF) ? 2 : 0;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    unsigned lo = lead == 0xE0 ? 0xA0 : 0x80, hi = lead == 0xED ? 0x9F : 0xBF;
    length = cont(1, lo, hi) && cont(2, 0x80, 0xBF) ? 3 : 0;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    unsigned lo = lead == 0xF0 ? 0x90 : 0x80, hi = lead == 0xF4 ? 0x8F : 0xBF;
    length = cont(1, lo, hi) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
  }
  if (length == 0) {
    ++i;
    return char32_t(0xDC00 + lead);
  }
  char32_t code_point = length == 1 ? lead : lead & (0x7F >> length);
  for (std::size_t k = 1; k < length; ++k) code_point = (code_point << 6) | (at(i + k) & 0x3F);
  i += length;
  return code_point;
}

std::u32string decode(std::string_view text) {
  std::u32string out;
  for (std::size_t i = 0; i < text.size();) out += next_code_point(text, i);
  return out;
}

std::string encode(std::u32string_view text) {
  std::string out;
  for (char32_t c : text) {
    if (c >= 0xDC80 && c <= 0xDCFF) {
      out += char(c - 0xDC00);  // an undecodable byte, given back as it came
    } else if (c < 0x80) {
      out += char(c);
    } else if (c < 0x800) {
      out += {char(0xC0 | (c >> 6)), char(0x80 | (c & 0x3F))};
    } else if (c < 0x10000) {
      out += {char(0xE0 | (c >> 12)), char(0x80 | ((c >> 6) & 0x3F)), char(0x80 | (c & 0x3F))};
    } else {
      out += {char(0xF0 | (c >> 18)), char(0x80 | ((c >> 12) & 0x3F)),
              char(0x80 | ((c >> 6) & 0x3F)), char(0x80 | (c & 0x3F))};
    }
  }
  return out;
}

std::ptrdiff_t width_of(std::string_view text) { return std::ptrdiff_t(decode(text).size()); }

// str.isspace().
bool python_space(char32_t c) {
  static constexpr char32_t kOthers[] = {0x85,   0xA0,   0x1680, 0x2028,
                                         0x2029, 0x202F, 0x205F, 0x3000};
  return (c >= '\t' && c <= '\r') || (c >= 0x1C && c <= 0x20) || (c >= 0x2000 && c <= 0x200A) ||
         std::find(std::begin(kOthers), std::end(kOthers), c) != std::end(kOthers);
}

// The value of a Unicode decimal digit (category Nd: what \d and int() read),
// else -1. Every Nd digit is one of ten in a row starting at one of these zeros:
//   [c for c in range(0x110000) if unicodedata.decimal(chr(c), None) == 0]
int decimal_value(char32_t c) {
  static constexpr char32_t kZeros[] = {
      0x30,    0x660,   0x6F0,   0x7C0,   0x966,   0x9E6,   0xA66,   0xAE6,   0xB66,   0xBE6,
      0xC66,   0xCE6,   0xD66,   0xDE6,   0xE50,   0xED0,   0xF20,   0x1040,  0x1090,  0x17E0,
      0x1810,  0x1946,  0x19D0,  0x1A80,  0x1A90,  0x1B50,  0x1BB0,  0x1C40,  0x1C50,  0xA620,
      0xA8D0,  0xA900,  0xA9D0,  0xA9F0,  0xAA50,  0xABF0,  0xFF10,  0x104A0, 0x10D30, 0x11066,
      0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0, 0x11730, 0x118E0,
      0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2,
      0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0};
  auto after = std::upper_bound(std::begin(kZeros), std::end(kZeros), c);
  if (after == std::begin(kZeros) || c - *std::prev(after) >= 10) return -1;
  return int(c - *std::prev(after));
}

// str.strip().
std::u32string python_strip(std::u32string text) {
  while (!text.empty() && python_space(text.back())) text.pop_back();
  std::size_t first = 0;
  while (first < text.size() && python_space(text[first])) ++first;
  return text.substr(first);
}

// ---- Numbers as float() and int() read them --------------------------------

bool ascii_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
bool ascii_digit(char c) { return c >= '0' && c <= '9'; }

// _PyUnicode_TransformDecimalAndSpaceToASCII, which float() and int() apply
// first, then Py_ISSPACE stripped from both ends. A character no number can
// hold ends the text as '?', which no grammar below accepts.
std::string number_text(std::string_view raw) {
  std::string out;
  for (std::size_t i = 0; i < raw.size();) {
    char32_t c = next_code_point(raw, i);
    if (c < 127) {
      out += char(c);
    } else if (python_space(c)) {
      out += ' ';
    } else if (int digit = decimal_value(c); digit >= 0) {
      out += char('0' + digit);
    } else {
      out += '?';
      break;
    }
  }
  std::size_t first = 0, last = out.size();
  while (first < last && ascii_space(out[first])) ++first;
  while (last > first && ascii_space(out[last - 1])) --last;
  return out.substr(first, last - first);
}

// _Py_string_to_number_with_underscores: each '_' sits between two digits;
// they are then dropped.
std::optional<std::string> without_underscores(std::string_view text) {
  std::string out;
  char prev = '\0';
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '_' ? !ascii_digit(prev) : prev == '_' && !ascii_digit(c)) return std::nullopt;
    if (c != '_') out += c;
    prev = c;
  }
  if (prev == '_') return std::nullopt;
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// float(): [sign] (digits [. [digits]] | . digits) [e [sign] digits], or
// [sign] inf | infinity | nan in any case. No hex, no inner space.
bool python_float_syntax(std::string_view raw) {
  std::optional<std::string> text = without_underscores(number_text(raw));
  if (!text) return false;
  std::string_view s = *text;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  if (iequals(s, "inf") || iequals(s, "infinity") || iequals(s, "nan")) return true;
  auto digits = [&s] {
    std::size_t n = 0;
    while (n < s.size() && ascii_digit(s[n])) ++n;
    s.remove_prefix(n);
    return n;
  };
  std::size_t mantissa = digits();
  if (!s.empty() && s[0] == '.') {
    s.remove_prefix(1);
    mantissa += digits();
  }
  if (mantissa == 0) return false;
  if (!s.empty() && (s[0] == 'e' || s[0] == 'E')) {
    s.remove_prefix(1);
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
    if (digits() == 0) return false;
  }
  return s.empty();
}

// int(text) in base 10: the value, clamped to long long; nullopt where int()
// raises: anything but [sign] digit [[_] digit]..., or more than 4300 digits
// (sys.int_info.default_max_str_digits).
std::optional<long long> python_int_value(std::string_view raw) {
  std::string text = number_text(raw);
  std::string_view s = text;
  bool negative = !s.empty() && s[0] == '-';
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  if (s.empty() || !ascii_digit(s[0])) return std::nullopt;
  std::optional<std::string> digits = without_underscores(s);
  if (!digits || digits->size() > 4300 ||
      !std::all_of(digits->begin(), digits->end(), ascii_digit)) {
    return std::nullopt;
  }
  long long value = 0;
  for (char c : *digits) value = value > LLONG_MAX / 10 - 1 ? LLONG_MAX : value * 10 + (c - '0');
  return negative ? -value : value;
}

// ---- textwrap.wrap(text, width), TextWrapper's defaults ---------------------
// Non-ASCII characters count as neither letters nor punctuation here (Python
// asks the Unicode database); that only moves breaks around hyphens.

bool word_char(char32_t c) {  // \w
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool letter(char32_t c) { return word_char(c) && !(c >= '0' && c <= '9'); }  // [^\d\W]
bool word_punct(char32_t c) {                                                // [\w!"'&.,?]
  return word_char(c) || std::u32string_view(U"!\"'&.,?").find(c) != std::u32string_view::npos;
}
bool blank(std::u32string_view chunk) {  // chunk.strip() == ''
  return std::all_of(chunk.begin(), chunk.end(), python_space);
}

// TextWrapper.wordsep_re.split(): runs of spaces, and words broken after the
// hyphens of compound words ("kqueue-", "timeout") and around em-dashes ("--").
std::vector<std::u32string> wrap_chunks_of(const std::u32string& text) {
  std::ptrdiff_t n = std::ptrdiff_t(text.size());
  auto at = [&](std::ptrdiff_t k) { return k >= 0 && k < n ? text[std::size_t(k)] : U' '; };
  auto dashes_then_word = [&](std::ptrdiff_t k) {  // (?=-{2,}\w): the dashes' count
    std::ptrdiff_t d = 0;
    while (at(k + d) == '-') ++d;
    return d >= 2 && word_char(at(k + d)) ? d : 0;
  };
  std::vector<std::u32string> chunks;
  for (std::ptrdiff_t p = 0; p < n;) {
    std::ptrdiff_t end = p + 1;
    if (at(p) == ' ') {
      while (at(end) == ' ' && end < n) ++end;
    } else if (word_punct(at(p - 1)) && dashes_then_word(p) > 0) {
      end = p + dashes_then_word(p);
    } else {
      for (;; ++end) {  // the shortest word that one of these ends
        bool hyphen_behind = (letter(at(end - 2)) && letter(at(end - 1))) ||
                             (letter(at(end - 3)) && at(end - 2) == '-' && letter(at(end - 1)));
        bool letters_ahead = letter(at(end + 1)) &&
                             (letter(at(end + 2)) || (at(end + 2) == '-' && letter(at(end + 3))));
        if (at(end) == '-' && hyphen_behind && letters_ahead) {
          ++end;
          break;
        }
        if (end == n || at(end) == ' ') break;
        if (word_punct(at(end - 1)) && dashes_then_word(end) > 0) break;
      }
    }
    chunks.push_back(text.substr(std::size_t(p), std::size_t(end - p)));
    p = end;
  }
  return chunks;
}

// TextWrapper._wrap_chunks with _handle_long_word: greedy lines, spaces dropped
// at line ends, a word longer than a line split (after a hyphen if it can).
std::vector<std::u32string> text_wrap(const std::u32string& text, std::ptrdiff_t width) {
  std::vector<std::u32string> chunks = wrap_chunks_of(text);
  std::reverse(chunks.begin(), chunks.end());  // a stack, as in textwrap
  auto len = [](const std::u32string& s) { return std::ptrdiff_t(s.size()); };
  std::vector<std::u32string> lines;
  while (!chunks.empty()) {
    std::vector<std::u32string> line;
    std::ptrdiff_t line_len = 0;
    if (blank(chunks.back()) && !lines.empty()) chunks.pop_back();
    while (!chunks.empty() && line_len + len(chunks.back()) <= width) {
      line_len += len(chunks.back());
      line.push_back(std::move(chunks.back()));
      chunks.pop_back();
    }
    if (!chunks.empty() && len(chunks.back()) > width) {
      std::u32string& chunk = chunks.back();
      std::ptrdiff_t space_left = width < 1 ? 1 : width - line_len;
      std::size_t end = std::size_t(space_left);
      std::size_t hyphen = end > 0 ? chunk.rfind('-', end - 1) : std::u32string::npos;
      if (hyphen != std::u32string::npos && hyphen > 0 && chunk.find_first_not_of('-') < hyphen) {
        end = hyphen + 1;
      }
      line.push_back(chunk.substr(0, end));
      chunk.erase(0, end);
    }
    if (!line.empty() && blank(line.back())) line.pop_back();
    if (!line.empty()) {
      std::u32string joined;
      for (const std::u32string& piece : line) joined += piece;
      lines.push_back(std::move(joined));
    }
  }
  return lines;
}

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
  for (char32_t c : decode(help)) {
    bool space = c == ' ' || (c >= '\t' && c <= '\r');
    if (!space) {
      collapsed += c;
    } else if (collapsed.empty() || collapsed.back() != ' ') {
      collapsed += ' ';
    }
  }
  std::vector<std::string> out;
  for (const std::u32string& line : text_wrap(python_strip(collapsed), width)) {
    out.push_back(encode(line));
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
  std::u32string text = decode(arg);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (text.size() < 2 || text[0] != '-') return false;
  std::size_t point = text.find('.');
  auto digits = [&](std::size_t from, std::size_t to) {
    return std::all_of(text.begin() + std::ptrdiff_t(from), text.begin() + std::ptrdiff_t(to),
                       [](char32_t c) { return decimal_value(c) >= 0; });
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
  if (width_of(prefix) + width_of(usage) <= text_width) return prefix + usage + "\n";

  auto get_lines = [&](const std::vector<std::string>& line_parts, std::ptrdiff_t indent,
                       bool after_prefix) {
    std::vector<std::string> lines, line;
    std::ptrdiff_t line_len = (after_prefix ? width_of(prefix) : indent) - 1;
    for (const std::string& part : line_parts) {
      if (line_len + 1 + width_of(part) > text_width && !line.empty()) {
        lines.push_back(spaces(indent) + join(line, " "));
        line.clear();
        line_len = indent - 1;
      }
      line.push_back(part);
      line_len += width_of(part) + 1;
    }
    if (!line.empty()) lines.push_back(spaces(indent) + join(line, " "));
    if (after_prefix) lines[0].erase(0, std::size_t(indent));
    return lines;
  };
  std::vector<std::string> lines;
  if (4 * (width_of(prefix) + width_of(prog_)) <= 3 * text_width) {
    // A short prog: the options follow it, continuation lines aligned after it.
    parts.insert(parts.begin(), prog_);
    lines = get_lines(parts, width_of(prefix) + width_of(prog_) + 1, true);
  } else {
    lines = get_lines(parts, width_of(prefix), false);
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
    longest = std::max(longest, width_of(invocation(option)) + 2);
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
    if (width_of(header) <= action_width) {
      items += "  " + header + spaces(action_width - width_of(header)) + "  ";
    } else {
      items += "  " + header + "\n";
      indent_first = help_position;
    }
    if (python_strip(decode(option.help)).empty()) {
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
