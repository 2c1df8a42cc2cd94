// DirectoryChurner: the soak's unlucky user. It owns one kind directory (the
// writers leave it alone) and, at a steady pace, either replaces it whole --
// a copy with one record added, changed or removed is built beside it and
// swapped in by two renames, the old one deleted -- or flips its permissions
// to 0000 and back. coordd must follow every replacement (re-arm, rescan,
// exact events) and notice every flip without a rescan loop; the soak then
// checks every subscriber against the disk as usual. One thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <random>
#include <stop_token>
#include <string>

namespace coordd::soak {

// The kind directory the churner owns.
inline constexpr std::string_view kChurnedKindDir = "dependencies";

struct ChurnCounts {
  std::size_t replacements = 0;
  std::size_t permission_flips = 0;
};

class DirectoryChurner {
 public:
  DirectoryChurner(std::filesystem::path coordination, std::uint32_t seed,
                   double operations_per_second = 4);

  // Churns until `stop` is requested; "" or what failed.
  std::string run(std::stop_token stop);
  const ChurnCounts& counts() const { return counts_; }

 private:
  std::string replace();
  std::string flip_permissions();

  std::filesystem::path dir_;
  std::mt19937 random_;
  double operations_per_second_;
  std::uint64_t revision_ = 0;
  ChurnCounts counts_;
};

}  // namespace coordd::soak
