// Record files as agents write them, for the writers of the benchmarks:
// reservation JSON padded to an exact size, written directly (setup), staged
// under a dot-temp name, or renamed into place (the measured step). One
// RecordDir per kind directory; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace coordd::bench {

// A reservation whose expires_at is far in the future (never due during a
// run), padded with a "note" field to exactly `target_bytes` when the fields
// fit (smaller targets get a two-field record, padded as far as it goes).
std::string reservation_json(std::string_view id, std::size_t target_bytes);

// Ids are `prefix` and a zero-padded index, so a reader can recover the
// index without a lookup table.
std::string indexed_id(std::string_view prefix, std::size_t index);
// The index of an id made by indexed_id with this prefix, or -1.
long long index_of_id(std::string_view id, std::string_view prefix);

class RecordDir {
 public:
  explicit RecordDir(std::filesystem::path dir);

  // Writes <dir>/<id>.json in place (setup, unmeasured). Throws on failure.
  void write_direct(std::string_view id, std::string_view content);
  // Writes <dir>/.<id>.tmp, the first half of the atomic-rename pattern.
  void stage(std::string_view id, std::string_view content);
  // Renames <dir>/.<id>.tmp to <dir>/<id>.json; returns CLOCK_MONOTONIC
  // read just before rename(). Throws on failure.
  std::int64_t publish(std::string_view id);
  // stage() then publish().
  std::int64_t write_atomic(std::string_view id, std::string_view content);
  void remove(std::string_view id);

 private:
  std::string final_path(std::string_view id) const;
  std::string temp_path(std::string_view id) const;

  std::string dir_;
};

}  // namespace coordd::bench
