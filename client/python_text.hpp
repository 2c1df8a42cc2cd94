// Text as Python 3.11 sees it, for the parts of coordctl that must behave
// like Python code (the argparse emulation): strings as code points, str's
// whitespace and digits, what float() and int() accept, and textwrap.wrap().
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coordd {

// UTF-8 bytes to code points, as Python decodes argv (surrogateescape: see
// next_code_point), and back.
std::u32string python_decode(std::string_view text);
std::string python_encode(std::u32string_view text);
// len(str): the number of code points, which is what argparse lays out by.
std::ptrdiff_t python_len(std::string_view text);

// str.isspace() of one code point.
bool python_space(char32_t c);
// The value of a Unicode decimal digit (what \d and int() read), else -1.
int python_decimal_value(char32_t c);
// str.strip().
std::u32string python_strip(std::u32string text);

// Whether float(raw) succeeds: [sign] (digits [. [digits]] | . digits)
// [e [sign] digits], or [sign] inf | infinity | nan in any case, with
// surrounding whitespace and '_' between digits allowed; no hex.
bool python_float_syntax(std::string_view raw);
// int(raw) in base 10, clamped to long long; nullopt where int() raises
// (including more than 4300 digits, sys.int_info.default_max_str_digits).
std::optional<long long> python_int_value(std::string_view raw);

// textwrap.wrap(text, width) with TextWrapper's defaults. Non-ASCII
// characters count as neither letters nor punctuation (Python asks the
// Unicode database), which only moves breaks around hyphens.
std::vector<std::u32string> python_text_wrap(const std::u32string& text, std::ptrdiff_t width);

}  // namespace coordd
