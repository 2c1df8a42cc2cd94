#include "proto/timestamp.hpp"

#include <cstdio>

namespace coordd {
namespace {

// A cursor over the text; every reader fails (returns false) without moving
// past the end, so the parser below reads as the grammar.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool done() const { return pos_ == text_.size(); }
  bool peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  bool take(char c) {
    if (!peek(c)) return false;
    ++pos_;
    return true;
  }
  bool digits(int count, int& out) {
    int value = 0;
    for (int i = 0; i < count; ++i) {
      if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9') return false;
      value = value * 10 + (text_[pos_++] - '0');
    }
    out = value;
    return true;
  }
  // Reads 1..max_digits fraction digits scaled to microseconds (extra
  // nanosecond digits are truncated, as Python truncates beyond 6).
  bool fraction(int max_digits, long& micros) {
    int n = 0;
    long value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      if (++n > max_digits) return false;
      if (n <= 6) value = value * 10 + (text_[pos_] - '0');
      ++pos_;
    }
    if (n == 0) return false;
    for (int i = n; i < 6; ++i) value *= 10;
    micros = value;
    return true;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

bool parse_offset(Cursor& in, std::chrono::microseconds& offset) {
  if (in.take('Z') || in.take('z')) {
    offset = {};
    return true;
  }
  int sign = in.take('+') ? 1 : (in.take('-') ? -1 : 0);
  if (sign == 0) return false;
  int hh = 0, mm = 0, ss = 0;
  long micros = 0;
  if (!in.digits(2, hh)) return false;
  bool colon = in.take(':');
  if (!in.digits(2, mm)) return false;
  if (colon && in.take(':')) {
    if (!in.digits(2, ss)) return false;
    if (in.take('.') && !in.fraction(6, micros)) return false;
  }
  if (hh > 23 || mm > 59 || ss > 59) return false;
  offset = sign * (std::chrono::hours(hh) + std::chrono::minutes(mm) + std::chrono::seconds(ss) +
                   std::chrono::microseconds(micros));
  return true;
}

}  // namespace

std::optional<WallTime> parse_timestamp(std::string_view text) {
  using namespace std::chrono;
  Cursor in(text);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  long micros = 0;
  if (!in.digits(4, y) || !in.take('-') || !in.digits(2, mo) || !in.take('-') || !in.digits(2, d))
    return std::nullopt;
  if (in.take('T') || in.take(' ')) {
    if (!in.digits(2, h) || !in.take(':') || !in.digits(2, mi)) return std::nullopt;
    if (in.take(':')) {
      if (!in.digits(2, s)) return std::nullopt;
      if ((in.take('.') || in.take(',')) && !in.fraction(9, micros)) return std::nullopt;
    }
  }
  microseconds offset{};
  if (!in.done() && !parse_offset(in, offset)) return std::nullopt;
  if (!in.done()) return std::nullopt;

  year_month_day date{year{y}, month{unsigned(mo)}, day{unsigned(d)}};
  if (y < 1 || !date.ok() || h > 23 || mi > 59 || s > 59) return std::nullopt;
  WallTime local = sys_days{date} + hours(h) + minutes(mi) + seconds(s) + microseconds(micros);
  WallTime utc = local - offset;
  // An offset can carry 0001-01-01 or 9999-12-31 past Python's datetime
  // range, where format_timestamp would write a year this parser (and
  // Python) rejects.
  constexpr WallTime kFirst = sys_days{year{1} / January / 1};
  constexpr WallTime kLast = sys_days{year{9999} / December / 31} + days{1} - microseconds{1};
  if (utc < kFirst || utc > kLast) return std::nullopt;
  return utc;
}

namespace {

// Writes `value` as exactly `width` decimal digits, zero-padded.
char* put_digits(char* out, long long value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = char('0' + value % 10);
    value /= 10;
  }
  return out + width;
}

}  // namespace

std::string format_timestamp(WallTime time) {
  using namespace std::chrono;
  sys_days day_point = floor<days>(time);
  year_month_day date{day_point};
  long long us = (time - day_point).count();
  long long frac = us % 1'000'000LL;
  // Every event carries one: built by hand, since snprintf showed in profiles.
  char buf[40];
  char* p = put_digits(buf, int(date.year()), 4);
  *p++ = '-';
  p = put_digits(p, unsigned(date.month()), 2);
  *p++ = '-';
  p = put_digits(p, unsigned(date.day()), 2);
  *p++ = 'T';
  p = put_digits(p, us / 3'600'000'000LL, 2);
  *p++ = ':';
  p = put_digits(p, us / 60'000'000LL % 60, 2);
  *p++ = ':';
  p = put_digits(p, us / 1'000'000LL % 60, 2);
  if (frac != 0) {
    *p++ = '.';
    p = put_digits(p, frac, 6);
  }
  for (char c : std::string_view("+00:00")) *p++ = c;
  return std::string(buf, p);
}

}  // namespace coordd
