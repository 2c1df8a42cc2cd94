// Fuzzes parse_timestamp. Whatever it accepts must survive a round trip:
// format_timestamp of the parsed time parses back to the same time, and
// formats to the same text again (coordd writes these strings into events and
// list replies, and clients parse them back).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "proto/timestamp.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::optional<coordd::WallTime> time = coordd::parse_timestamp(text);
  if (!time) return 0;
  std::string formatted = coordd::format_timestamp(*time);
  std::optional<coordd::WallTime> again = coordd::parse_timestamp(formatted);
  if (!again || *again != *time) {
    std::fprintf(stderr, "round trip: \"%s\" formats as \"%s\", which %s\n",
                 std::string(text).c_str(), formatted.c_str(),
                 again ? "parses to another time" : "does not parse");
  }
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(*again == *time);
  FUZZ_CHECK(coordd::format_timestamp(*again) == formatted);
  return 0;
}
