#include "proto/python_string.hpp"

#include <cstdio>

namespace coordd {
namespace {

void append_hex4(std::string& out, unsigned unit) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\u%04x", unit & 0xFFFF);
  out += buf;
}

}  // namespace

void append_python_json_string(std::string& out, std::string_view text) {
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

}  // namespace coordd
