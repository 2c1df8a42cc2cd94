// Coordination records: which file names are records, and what a record's
// bytes must hold. Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "proto/cluster_value.hpp"
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

// How deep a record may nest (the top-level object is level 1): as deep as
// Python 3.11's json.loads reads at the top of a program under the default
// recursion limit of 1000 (measured: 995; each caller frame costs one).
inline constexpr std::size_t kMaxRecordDepth = 995;
// Python 3.11's int() refuses longer decimal integers (sys.int_info.default_max_str_digits).
inline constexpr std::size_t kMaxRecordIntegerDigits = 4300;

// The fields of a record the engine acts on, extracted once at ingest.
struct ParsedRecord {
  // The object written back compactly, each number exactly as the file
  // spells it (123456789012345678901234567890 stays that, 1.0 stays 1.0):
  // what events carry.
  std::string data_json;
  std::string run_id;  // "" when absent or not a string
  std::string branch;
  // Lease bookkeeping (absent or non-string fields are nullopt).
  std::optional<std::string> reservation_id;
  std::optional<std::string> claim_id;
  std::optional<std::string> expires_at;
  std::optional<std::string> extended_expires_at;
  // The host id named by a top-level kMirrorMarkerField string: the file is
  // a mirror copy of that host's record (written by coordd --mirror), not a
  // record of this host.
  std::optional<std::string> mirror_of;
};

// Parses a record file's bytes; a JSON object is required. A failure is a
// bad_record Status whose message is a short reason ("invalid JSON: ...",
// "not a JSON object", "nested deeper than ..."). Where a top-level key
// repeats, the last one wins (as in Python's json). Never recurses beyond
// kMaxRecordDepth, whatever the input.
Result<ParsedRecord> parse_record(std::string_view bytes);

}  // namespace coordd
