// SoakWriter: one writer thread of the soak, changing records the way agents
// and editors do, at a steady paced rate, until asked to stop: adds (temp file
// + rename), modifies (in place or by rename) and deletes across every kind,
// from its own pool of ids (so writers never race on one file). Reservations
// and claims get short expires_at so many expire by ttl; heartbeats extend
// and releases end some of them. Choices come from a seeded generator. It
// never fails the test itself: run() says whether every write worked.
// One thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <random>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace coordd::soak {

struct SoakWriterOptions {
  std::string id_prefix;  // distinct per writer: "w0"
  std::uint32_t seed = 1;
  std::size_t ids_per_kind = 60;  // bounds the records on disk, so memory can settle
  double operations_per_second = 250;
  std::string_view leave_alone;  // a kind directory someone else owns (DirectoryChurner)
};

struct SoakWriteCounts {
  std::size_t added = 0;
  std::size_t modified_in_place = 0;
  std::size_t modified_by_rename = 0;
  std::size_t removed = 0;
  std::size_t leases_written = 0;  // reservations and claims carrying expires_at
  std::size_t heartbeats_written = 0;
  std::size_t releases_written = 0;
  std::size_t total() const { return added + modified_in_place + modified_by_rename + removed; }
  SoakWriteCounts& operator+=(const SoakWriteCounts& more);
};

class SoakWriter {
 public:
  SoakWriter(std::filesystem::path coordination, SoakWriterOptions options);

  // Writes until `stop` is requested; false (with error()) when a write failed.
  bool run(std::stop_token stop);

  // The run_id a record of the pool carries: "run-a" for even indexes, else "run-b".
  static std::string run_id_of(std::size_t index);

  const SoakWriteCounts& counts() const { return counts_; }
  const std::string& error() const { return error_; }

 private:
  bool step();
  std::string record_json(std::string_view kind_dir, std::size_t index);
  std::string id_of(std::string_view kind_dir, std::size_t index) const;
  std::string in_seconds(double low, double high);

  std::filesystem::path coordination_;
  SoakWriterOptions options_;
  std::mt19937 random_;
  std::vector<std::vector<bool>> exists_;  // per kind, per index: whether the file is there
  std::uint64_t revision_ = 0;
  SoakWriteCounts counts_;
  std::string error_;
};

}  // namespace coordd::soak
