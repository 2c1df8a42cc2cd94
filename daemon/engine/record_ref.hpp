// RecordRef: names one record file: which watched root, which kind, which id.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

#include "proto/kind.hpp"

namespace coordd {

// Index of a watched repository root; stable for the daemon's life, never reused.
using RootId = std::uint32_t;

struct RecordRef {
  RootId root = 0;
  Kind kind = Kind::kReservation;
  std::string id;
  auto operator<=>(const RecordRef&) const = default;
};

}  // namespace coordd
