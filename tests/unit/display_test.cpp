#include "proto/display.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace coordd;

TEST_CASE("strip_control removes a CSI colour sequence and keeps the text it wraps") {
  CHECK(strip_control("\x1b[31mred\x1b[0m text") == "red text");
  CHECK(strip_control("a\x1b[2J\x1b[1;1Hb") == "ab");
}

TEST_CASE("strip_control removes an OSC title sequence ended by BEL or by ST") {
  CHECK(strip_control("\x1b]0;pwned\x07name") == "name");
  CHECK(strip_control("\x1b]8;;http://x\x1b\\link") == "link");
}

TEST_CASE("strip_control removes C0 controls including newline and tab, and DEL") {
  CHECK(strip_control("a\nb\tc\rd\x01"
                      "e\x7f"
                      "f") == "abcdef");
}

TEST_CASE("strip_control removes C1 controls encoded in UTF-8") {
  CHECK(strip_control("a\xc2\x80"
                      "b\xc2\x9b"
                      "31mc\xc2\x9f") == "ab31mc");
}

TEST_CASE("strip_control keeps printable UTF-8 such as accented letters and emoji") {
  CHECK(strip_control("caf\xc3\xa9 \xf0\x9f\x9a\x80 \xe2\x82\xac") ==
        "caf\xc3\xa9 \xf0\x9f\x9a\x80 \xe2\x82\xac");
  CHECK(strip_control("\xc2\xa0") == "\xc2\xa0");  // U+00A0 is just past the C1 range
}

TEST_CASE("strip_control turns each invalid UTF-8 byte into a question mark") {
  CHECK(strip_control("a\xff"
                      "b") == "a?b");
  CHECK(strip_control("\x9b"
                      "31m") == "?31m");          // a lone 8-bit CSI byte
  CHECK(strip_control("\xc3") == "?");            // truncated sequence
  CHECK(strip_control("\xc0\xaf") == "??");       // overlong '/'
  CHECK(strip_control("\xed\xa0\x80") == "???");  // UTF-16 surrogate
}

TEST_CASE("escape_control writes control bytes as \\xNN and keeps visible text") {
  CHECK(escape_control("bad\x1b[31m.json") == "bad\\x1b[31m.json");
  CHECK(escape_control("a\nb\x7f") == "a\\x0ab\\x7f");
  CHECK(escape_control("caf\xc3\xa9") == "caf\xc3\xa9");
}

TEST_CASE(
    "escape_control escapes C1 controls encoded in UTF-8, which terminals may obey like ESC [") {
  std::string escaped = escape_control(
      "x\xc2\x9b"
      "2Jy");
  CHECK(escaped.find("\xc2\x9b") == std::string::npos);
  CHECK(escaped.front() == 'x');
  CHECK(escaped.back() == 'y');
}

TEST_CASE("escape_control escapes the backslash so its output cannot be mistaken for an escape") {
  CHECK(escape_control("a\\x1b") == "a\\x5cx1b");
}

TEST_CASE("without_userinfo drops a URL's user and password, and nothing else") {
  CHECK(without_userinfo("nats://laptop:s3cret@h1:4222") == "nats://h1:4222");
  CHECK(without_userinfo("tls://token@h1:4222/x?y=1") == "tls://h1:4222/x?y=1");
  CHECK(without_userinfo("nats://u:p@ss@h1:4222") == "nats://h1:4222");
  CHECK(without_userinfo("nats://h1:4222") == "nats://h1:4222");
  CHECK(without_userinfo("nats://h1:4222/a@b") == "nats://h1:4222/a@b");
  CHECK(without_userinfo("") == "");
}
