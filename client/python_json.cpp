#include "client/python_json.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <system_error>

namespace coordd {
namespace {

void append_hex4(std::string& out, unsigned unit) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\u%04x", unit & 0xFFFF);
  out += buf;
}

// json.dumps's ensure_ascii escaping: printable ASCII stays, everything else
// becomes \uXXXX (UTF-16 surrogate pairs above the BMP). Boost.JSON strings
// are valid UTF-8, but a truncated sequence is still written as U+FFFD.
void append_string(std::string& out, std::string_view text) {
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      switch (byte) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default:
          if (byte < 0x20 || byte == 0x7F) {
            append_hex4(out, byte);
          } else {
            out += char(byte);
          }
      }
      ++i;
      continue;
    }
    std::size_t length = (byte >> 5) == 0x6    ? 2
                         : (byte >> 4) == 0xE  ? 3
                         : (byte >> 3) == 0x1E ? 4
                                               : 0;
    if (length == 0 || i + length > text.size()) {
      append_hex4(out, 0xFFFD);
      ++i;
      continue;
    }
    unsigned code_point = byte & (0x7F >> length);
    for (std::size_t k = 1; k < length; ++k) {
      code_point = (code_point << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    }
    if (code_point >= 0x10000) {
      code_point -= 0x10000;
      append_hex4(out, 0xD800 + (code_point >> 10));
      append_hex4(out, 0xDC00 + (code_point & 0x3FF));
    } else {
      append_hex4(out, code_point);
    }
    i += length;
  }
  out += '"';
}

void append_value(std::string& out, const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::null:
      out += "null";
      break;
    case boost::json::kind::bool_:
      out += value.get_bool() ? "true" : "false";
      break;
    case boost::json::kind::int64:
      out += std::to_string(value.get_int64());
      break;
    case boost::json::kind::uint64:
      out += std::to_string(value.get_uint64());
      break;
    case boost::json::kind::double_: {
      double d = value.get_double();
      if (std::isnan(d)) {
        out += "NaN";
      } else if (std::isinf(d)) {
        out += d > 0 ? "Infinity" : "-Infinity";
      } else {
        out += python_float_repr(d);
      }
      break;
    }
    case boost::json::kind::string:
      append_string(out, value.get_string());
      break;
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const boost::json::value& item : value.get_array()) {
        if (!first) out += ", ";
        first = false;
        append_value(out, item);
      }
      out += ']';
      break;
    }
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : value.get_object()) {
        if (!first) out += ", ";
        first = false;
        append_string(out, key);
        out += ": ";
        append_value(out, item);
      }
      out += '}';
      break;
    }
  }
}

}  // namespace

std::string python_float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // The shortest round-trip digits, then laid out by repr's rule: positional
  // when the decimal exponent is in [-4, 16), scientific otherwise.
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  if (ec != std::errc()) return "nan";
  std::string_view sci(buf, std::size_t(end - buf));
  bool negative = sci.front() == '-';
  if (negative) sci.remove_prefix(1);
  std::size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits += c;
  }
  int exponent = std::stoi(std::string(sci.substr(e + 1)));
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();

  std::string out = negative ? "-" : "";
  int point = exponent + 1;  // digits before the decimal point
  if (exponent >= -4 && exponent < 16) {
    if (point <= 0) {
      out += "0." + std::string(std::size_t(-point), '0') + digits;
    } else if (std::size_t(point) >= digits.size()) {
      out += digits + std::string(std::size_t(point) - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, std::size_t(point)) + "." + digits.substr(std::size_t(point));
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char exp_text[16];
  std::snprintf(exp_text, sizeof exp_text, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out + exp_text;
}

std::string python_json_dumps(const boost::json::value& value) {
  std::string out;
  append_value(out, value);
  return out;
}

}  // namespace coordd
