#include "proto/display.hpp"

#include <cstdio>

namespace coordd {
namespace {

constexpr char kEsc = 0x1b;

// Length of the valid UTF-8 sequence starting at text[i], or 0.
std::size_t utf8_length(std::string_view text, std::size_t i, unsigned& code_point) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  std::size_t length = lead < 0x80           ? 1
                       : (lead >> 5) == 0x6  ? 2
                       : (lead >> 4) == 0xE  ? 3
                       : (lead >> 3) == 0x1E ? 4
                                             : 0;
  if (length == 0 || i + length > text.size()) return 0;
  code_point = length == 1 ? lead : lead & (0x7F >> length);
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr unsigned kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code_point < kMin[length] || code_point > 0x10FFFF ||
      (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    return 0;
  }
  return length;
}

// Index just past the escape sequence starting at text[i] (text[i] == ESC).
std::size_t skip_escape(std::string_view text, std::size_t i) {
  std::size_t j = i + 1;
  if (j >= text.size()) return j;
  char kind = text[j++];
  if (kind == '[') {  // CSI: parameters and intermediates, then a final byte @..~
    while (j < text.size() && !(text[j] >= 0x40 && text[j] <= 0x7E)) ++j;
    return std::min(j + 1, text.size());
  }
  if (kind == ']' || kind == 'P' || kind == '_' || kind == '^' || kind == 'X') {
    // OSC/DCS/APC/PM/SOS: a string ended by BEL or ST (ESC \).
    while (j < text.size()) {
      if (text[j] == '\a') return j + 1;
      if (text[j] == kEsc && j + 1 < text.size() && text[j + 1] == '\\') return j + 2;
      ++j;
    }
    return j;
  }
  return j;  // a two-byte escape
}

}  // namespace

std::string strip_control(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == kEsc) {
      i = skip_escape(text, i);
      continue;
    }
    unsigned code_point = 0;
    std::size_t length = utf8_length(text, i, code_point);
    if (length == 0) {
      out += '?';
      ++i;
      continue;
    }
    bool control =
        code_point < 0x20 || code_point == 0x7F || (code_point >= 0x80 && code_point <= 0x9F);
    if (!control) out.append(text.substr(i, length));
    i += length;
  }
  return out;
}

std::string escape_control(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto escape = [&out](unsigned char byte) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", byte);
    out += buf;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto byte = static_cast<unsigned char>(text[i]);
    // C1 controls (U+0080..U+009F) arrive as 0xC2 0x80..0x9F; terminals may
    // obey them (U+009B is CSI), so they are escaped like C0.
    bool c1 = byte == 0xC2 && i + 1 < text.size() &&
              (static_cast<unsigned char>(text[i + 1]) & 0xE0) == 0x80;
    if (byte < 0x20 || byte == 0x7F || byte == '\\' || c1) {
      escape(byte);
      if (c1) escape(static_cast<unsigned char>(text[++i]));
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string without_userinfo(std::string_view url) {
  std::size_t scheme = url.find("://");
  std::size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  std::size_t end = url.find_first_of("/?#", start);
  std::string_view authority =
      url.substr(start, end == std::string_view::npos ? url.npos : end - start);
  std::size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, start)) + std::string(url.substr(start + at + 1));
}

}  // namespace coordd
