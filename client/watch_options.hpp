// The flags of `coordctl watch` (those of `muse coord watch`, plus --socket,
// --root and --require-daemon) and their validation, which happens before any
// I/O and fails with Muse's exact messages, numbers printed as Python prints
// them. Pure; main thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "proto/kind.hpp"

namespace coordd {

// The flags as typed. Numbers stay text until validation so a malformed one
// is reported like any other bad argument (in JSON when --json is given).
struct WatchArgs {
  bool once = false;
  std::optional<std::string> timeout;
  std::optional<std::string> max_events;
  std::string poll_interval = "1.0";
  std::optional<std::string> run_id;
  std::optional<std::string> branch;
  std::optional<std::string> kind;
  bool json = false;
  std::string format = "text";
  bool require_daemon = false;
  bool coordd_events = false;
  std::optional<std::string> root;
  std::string socket;
};

inline constexpr std::size_t kMaxRunIdChars = 256;
inline constexpr double kMinPollInterval = 0.01;
inline constexpr double kMaxPollInterval = 3600.0;

struct WatchOptions {
  bool json = false;
  bool once = false;  // also set by --timeout 0
  // How long to watch after the snapshot (as in Muse); nullopt: until stopped.
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<std::int64_t> max_events;
  double poll_interval = 1.0;  // seconds; for the polling backend in standalone mode
  std::optional<Kind> kind;
  std::optional<std::string> run_id;  // nullopt also when given empty, as in Muse
  std::optional<std::string> branch;
  bool require_daemon = false;
  bool coordd_events = false;  // also coordd's own events (expired for claims)
  std::optional<std::string> root;
  std::string socket;
};

struct ValidatedWatch {
  WatchOptions options;
  std::string error;  // the message to report, without the "❌ " prefix; empty if valid
};

// Whether errors must be reported as a JSON line (--json or --format json).
bool wants_json(const WatchArgs& args);

ValidatedWatch validate_watch_args(const WatchArgs& args);

// "claim, dependency, heartbeat, intent, release, reservation, task".
std::string valid_kind_names();

}  // namespace coordd
