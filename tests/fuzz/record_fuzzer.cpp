// Fuzzes the record parser and the file-name classifier with the same bytes,
// as the engine meets them: a record file's content, and a directory entry's
// name. parse_record either fails with a reason or yields data_json (what
// events carry) that is itself a record with the same JSON value and the same
// fields; classify_name must agree with the id grammar in daemon/engine/record.hpp,
// checked here by a separate reading of it.
#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/engine/record.hpp"
#include "proto/timestamp.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using coordd::ClassifiedName;
using coordd::NameClass;
using coordd::ParsedRecord;
namespace json = boost::json;

constexpr std::string_view kSuffix = ".json";

// [A-Za-z0-9][A-Za-z0-9._:-]{0,127} without "..", read straight off the header.
bool id_matches_grammar(std::string_view id) {
  auto alnum = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  if (id.empty() || id.size() > 128 || !alnum(id[0])) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    if (!alnum(c) && c != '.' && c != '_' && c != ':' && c != '-') return false;
    if (c == '.' && i > 0 && id[i - 1] == '.') return false;
  }
  return true;
}

// Equal JSON values, except that doubles may be one ULP apart: Boost.JSON
// before 1.83 parses some long numbers to within one ULP only, so
// re-parsing a serialized double need not give back the same bits.
bool same_value(const json::value& a, const json::value& b) {
  if (a.is_double() && b.is_double()) {
    // Boost.JSON 1.81's (imprecise) parse of a long mantissa also depends on
    // what follows the number, so one spelling may come out a few ulps
    // apart: the text itself is kept exactly (the check above).
    double x = a.get_double(), y = b.get_double();
    return x == y || std::abs(x - y) <= 1e-14 * std::max(std::abs(x), std::abs(y));
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const json::array& x = a.get_array();
    const json::array& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!same_value(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const json::object& x = a.get_object();
    const json::object& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& [key, value] : x) {
      const json::value* other = y.if_contains(key);
      if (other == nullptr || !same_value(value, *other)) return false;
    }
    return true;
  }
  return a == b;
}

void check_record(std::string_view bytes) {
  coordd::Result<ParsedRecord> record = coordd::parse_record(bytes);
  if (!record.ok()) {
    FUZZ_CHECK(!record.status().message().empty());
    return;
  }
  coordd::Result<ParsedRecord> again = coordd::parse_record(record->data_json);
  FUZZ_CHECK(again.ok());
  // Numbers pass through as written, so writing back is idempotent...
  FUZZ_CHECK(again->data_json == record->data_json);
  // ...and yields the same JSON the file held.
  json::parse_options options;  // as parse_record's, which just accepted both
  options.max_depth = coordd::kMaxRecordDepth;
  json::value first = json::parse(bytes, {}, options);
  json::value second = json::parse(again->data_json, {}, options);
  FUZZ_CHECK(same_value(first, second));
  FUZZ_CHECK(again->run_id == record->run_id);
  FUZZ_CHECK(again->branch == record->branch);
  FUZZ_CHECK(again->reservation_id == record->reservation_id);
  FUZZ_CHECK(again->claim_id == record->claim_id);
  FUZZ_CHECK(again->expires_at == record->expires_at);
  FUZZ_CHECK(again->extended_expires_at == record->extended_expires_at);
  // The engine's next step with a lease record.
  if (record->expires_at) (void)coordd::parse_timestamp(*record->expires_at);
  if (record->extended_expires_at) (void)coordd::parse_timestamp(*record->extended_expires_at);
}

void check_name(std::string_view name) {
  ClassifiedName classified = coordd::classify_name(name);
  bool json_name =
      !name.empty() && name[0] != '.' && name.size() > kSuffix.size() && name.ends_with(kSuffix);
  std::string_view id = json_name ? name.substr(0, name.size() - kSuffix.size()) : "";
  switch (classified.cls) {
    case NameClass::kRecord:
      FUZZ_CHECK(json_name && id_matches_grammar(id));
      FUZZ_CHECK(classified.id == id);
      FUZZ_CHECK(coordd::is_valid_record_id(classified.id));
      break;
    case NameClass::kInvalid:
      FUZZ_CHECK(json_name && !id_matches_grammar(id));
      FUZZ_CHECK(!coordd::is_valid_record_id(id));
      break;
    case NameClass::kIgnored:
      FUZZ_CHECK(!json_name);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_record(bytes);
  check_name(bytes);
  return 0;
}
