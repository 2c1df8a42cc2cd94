#include "proto/kind.hpp"

namespace coordd {
namespace {

struct KindNames {
  std::string_view singular;
  std::string_view plural;
};

constexpr std::array<KindNames, kKindCount> kNames = {{
    {"reservation", "reservations"},
    {"intent", "intents"},
    {"release", "releases"},
    {"heartbeat", "heartbeats"},
    {"task", "tasks"},
    {"claim", "claims"},
    {"dependency", "dependencies"},
}};

}  // namespace

std::string_view kind_name(Kind kind) { return kNames[static_cast<std::size_t>(kind)].singular; }

std::string_view kind_dir(Kind kind) { return kNames[static_cast<std::size_t>(kind)].plural; }

std::optional<Kind> parse_kind(std::string_view text) {
  for (Kind kind : kAllKinds) {
    if (text == kind_name(kind) || text == kind_dir(kind)) return kind;
  }
  return std::nullopt;
}

std::optional<Kind> kind_from_dir(std::string_view dir_name) {
  for (Kind kind : kAllKinds) {
    if (dir_name == kind_dir(kind)) return kind;
  }
  return std::nullopt;
}

}  // namespace coordd
