#include "client/python_text.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <iterator>

#include "client/python_json.hpp"

// Each piece follows the CPython 3.11 code it emulates (Objects/unicodeobject.c,
// Objects/floatobject.c, Objects/longobject.c, Lib/textwrap.py); the comments
// name it.

namespace coordd {

// ---- Text as Python sees it ------------------------------------------------

std::u32string python_decode(std::string_view text) {
  std::u32string out;
  for (std::size_t i = 0; i < text.size();) out += next_code_point(text, i);
  return out;
}

std::string python_encode(std::u32string_view text) {
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

std::ptrdiff_t python_len(std::string_view text) {
  return std::ptrdiff_t(python_decode(text).size());
}

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
int python_decimal_value(char32_t c) {
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

namespace {

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
    } else if (int digit = python_decimal_value(c); digit >= 0) {
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

}  // namespace

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

namespace {

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

}  // namespace

// TextWrapper._wrap_chunks with _handle_long_word: greedy lines, spaces dropped
// at line ends, a word longer than a line split (after a hyphen if it can).
std::vector<std::u32string> python_text_wrap(const std::u32string& text, std::ptrdiff_t width) {
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

}  // namespace coordd
