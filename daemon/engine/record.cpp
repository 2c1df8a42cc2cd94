#include "daemon/engine/record.hpp"

#include <boost/json.hpp>

#include "daemon/engine/finite_json.hpp"

namespace coordd {
namespace {

bool is_id_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

bool is_alnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

std::optional<std::string> string_field(const boost::json::object& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->value().is_string()) return std::nullopt;
  return std::string(it->value().get_string());
}

}  // namespace

bool is_valid_record_id(std::string_view id) {
  if (id.empty() || id.size() > 128 || !is_alnum(id.front())) return false;
  for (char c : id) {
    if (!is_id_char(c)) return false;
  }
  return id.find("..") == std::string_view::npos;
}

ClassifiedName classify_name(std::string_view file_name) {
  constexpr std::string_view kSuffix = ".json";
  if (file_name.empty() || file_name.front() == '.') return {NameClass::kIgnored, {}};
  if (file_name.size() <= kSuffix.size() || !file_name.ends_with(kSuffix)) {
    return {NameClass::kIgnored, {}};
  }
  std::string_view id = file_name.substr(0, file_name.size() - kSuffix.size());
  if (!is_valid_record_id(id)) return {NameClass::kInvalid, {}};
  return {NameClass::kRecord, id};
}

Result<ParsedRecord> parse_record(std::string_view bytes) {
  boost::json::parse_options options;
  options.max_depth = 64;
  // The parsed tree lives only for this call: a stack-backed arena keeps
  // its nodes off the heap (records are small; bigger ones spill over).
  unsigned char arena[8192];
  boost::json::monotonic_resource resource(arena, sizeof arena);
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(bytes, ec, &resource, options);
  if (ec) {
    return Status::error("bad_record", "invalid JSON: " + ec.message());
  }
  if (!value.is_object()) {
    return Status::error("bad_record", "not a JSON object");
  }
  if (!all_numbers_finite(value)) {
    return Status::error("bad_record", "a number is beyond the range of a double (about 1.8e308)");
  }
  const boost::json::object& obj = value.get_object();
  ParsedRecord record;
  record.data_json = boost::json::serialize(obj);
  record.run_id = string_field(obj, "run_id").value_or("");
  record.branch = string_field(obj, "branch").value_or("");
  record.reservation_id = string_field(obj, "reservation_id");
  record.claim_id = string_field(obj, "claim_id");
  record.expires_at = string_field(obj, "expires_at");
  record.extended_expires_at = string_field(obj, "extended_expires_at");
  return record;
}

}  // namespace coordd
