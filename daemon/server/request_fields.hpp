// Reading the structured fields of requests: the filter shared by subscribe
// and list (kinds, run_id, branch, root), subscribe's tap ("messages",
// "agents") and resume point ("since"), and the checks on a watch_root path.
// Each records its first problem in the Request. Reactor thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/engine/event_filter.hpp"
#include "daemon/server/peer_policy.hpp"
#include "daemon/server/subscription_stream.hpp"

namespace coordd {

class Engine;
class EventJournal;
class Request;

// The filter, or nothing with the problem recorded in `request`.
std::optional<EventFilter> read_filter(const Engine& engine, Request& request);

// Sets tap.messages and tap.agents from the request.
void read_tap(Request& request, Subscription& tap);

// How a subscribe asked to start: from a snapshot, from the journal after
// `since`, or (a refused resume) from a snapshot marked resync.
struct StartPoint {
  std::optional<std::uint64_t> since;
  std::string_view not_resumed;  // "epoch_changed" or "compacted"
};
StartPoint read_since(Request& request, std::string_view epoch_now, std::uint64_t last_seq,
                      const EventJournal& journal);

// Why `path` may not become a root (missing, a symlink, not a directory),
// or "". Who may watch it is root_authority's question.
std::string root_problem(const std::string& path);

}  // namespace coordd
