// Coordination records: which file names are records, and what a record's
// bytes must hold. Pure functions; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proto/status.hpp"

namespace coordd {

// What a directory entry's name means to the watcher.
enum class NameClass {
  kRecord,   // "<id>.json" with a valid id
  kIgnored,  // not a record and not worth a warning: dot files, *.tmp, editor droppings
  kInvalid,  // looks like a record ("*.json") but the id is not acceptable: warn and count
};

struct ClassifiedName {
  NameClass cls;
  std::string_view id;  // the record id when cls == kRecord
};

// Ids match [A-Za-z0-9][A-Za-z0-9._:-]{0,127} and, stricter than the pattern,
// never contain "..". Names starting with '.' are ignored (temp and cookie files).
ClassifiedName classify_name(std::string_view file_name);
bool is_valid_record_id(std::string_view id);

// The fields of a record the engine acts on, extracted once at ingest.
struct ParsedRecord {
  std::string data_json;  // the object re-serialized compactly: what events carry
  std::string run_id;     // "" when absent or not a string
  std::string branch;
  // Lease bookkeeping (absent or non-string fields are nullopt).
  std::optional<std::string> reservation_id;
  std::optional<std::string> claim_id;
  std::optional<std::string> expires_at;
  std::optional<std::string> extended_expires_at;
};

// Parses a record file's bytes; a JSON object is required. A failure is a
// bad_record Status whose message is a short reason ("invalid JSON: ...",
// "not a JSON object").
Result<ParsedRecord> parse_record(std::string_view bytes);

}  // namespace coordd
