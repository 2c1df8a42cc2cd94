// Kind: the seven kinds of coordination record and the directory each lives in
// under <root>/.muse/coordination/. Pure data; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace coordd {

enum class Kind : std::uint8_t {
  kReservation,
  kIntent,
  kRelease,
  kHeartbeat,
  kTask,
  kClaim,
  kDependency,
};

inline constexpr std::size_t kKindCount = 7;
inline constexpr std::array<Kind, kKindCount> kAllKinds = {
    Kind::kReservation, Kind::kIntent, Kind::kRelease,   Kind::kHeartbeat,
    Kind::kTask,        Kind::kClaim,  Kind::kDependency};

// "reservation", "intent", ... as events and filters name them.
std::string_view kind_name(Kind kind);
// "reservations", "intents", ... the subdirectory holding the kind's records.
std::string_view kind_dir(Kind kind);
// Accepts the singular name or the plural directory name; nullopt otherwise.
std::optional<Kind> parse_kind(std::string_view text);
// The kind whose directory is exactly `dir_name`; nullopt otherwise.
std::optional<Kind> kind_from_dir(std::string_view dir_name);

// A set of kinds as a bit mask; the empty set means "every kind".
class KindSet {
 public:
  void add(Kind kind) { bits_ |= bit(kind); }
  bool contains(Kind kind) const { return bits_ == 0 || (bits_ & bit(kind)) != 0; }
  bool is_all() const { return bits_ == 0; }

 private:
  static std::uint8_t bit(Kind kind) { return std::uint8_t(1u << static_cast<unsigned>(kind)); }
  std::uint8_t bits_ = 0;
};

}  // namespace coordd
