// ChurnWriter: changes records the way agents and editors do, as fast as it
// can: each step adds, modifies (temp file + rename, or an in-place rewrite)
// or removes one record from a pool of ids spread over several kinds, chosen
// by a seeded generator so a failing run can be replayed. It runs on a writer
// thread, so it never fails the test itself: run() says whether it worked.
// Also the file writes it uses, reporting failure as text for the same reason.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace coordd::lossless {

// Each returns "" on success, else what failed.
std::string try_write_atomic(const std::filesystem::path& path, std::string_view bytes);
std::string try_write_in_place(const std::filesystem::path& path, std::string_view bytes);
std::string try_remove(const std::filesystem::path& path);

struct ChurnOptions {
  std::size_t operations = 20'000;
  std::size_t ids_per_kind = 150;
  std::uint32_t seed = 1;
  // Kind directories written to; releases and heartbeats are left out so no
  // lease ends in the middle (an `expired` event changes no state anyway).
  std::vector<std::string> kinds = {"reservations", "intents", "tasks", "claims", "dependencies"};
};

struct ChurnCounts {
  std::size_t added = 0;
  std::size_t modified_by_rename = 0;
  std::size_t modified_in_place = 0;
  std::size_t removed = 0;
  std::size_t total() const { return added + modified_by_rename + modified_in_place + removed; }
  ChurnCounts& operator+=(const ChurnCounts& more);
};

class ChurnWriter {
 public:
  ChurnWriter(std::filesystem::path coordination, ChurnOptions options);

  // Performs every operation; false (with error()) when a write failed.
  bool run();

  // The run_id a record of the pool carries: "run-a" for even ids, else "run-b".
  static std::string run_id_of(std::size_t index);

  const ChurnCounts& counts() const { return counts_; }
  const std::string& error() const { return error_; }

 private:
  std::string record_json(std::string_view kind, std::size_t index, std::uint64_t revision) const;

  std::filesystem::path coordination_;
  ChurnOptions options_;
  ChurnCounts counts_;
  std::string error_;
};

}  // namespace coordd::lossless
