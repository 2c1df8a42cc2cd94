// SwarmRoute: what the MessageBus and the request handler need of the swarm
// when coordd is clustered, as an interface the bus owns. The cluster layer
// implements it (SwarmBus) over NATS JetStream; the bus never sees NATS.
// Every callback runs on the reactor thread, never inside the call that
// takes it unless documented. Reactor thread only.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/engine/event.hpp"
#include "proto/status.hpp"
#include "proto/timestamp.hpp"

namespace coordd {

// The outcome of a send or broadcast: an error for the reply, or the seq it
// was given.
struct SendOutcome {
  Status status;
  std::uint64_t seq = 0;
  std::size_t recipients = 0;  // broadcast only
  bool lower_bound = false;    // broadcast only: other hosts' taps are not counted
};

class SwarmRoute {
 public:
  virtual ~SwarmRoute() = default;

  // This coordd's host id: every message line names its sender's.
  virtual const std::string& host() const = 0;

  // Makes this host the one holding `agent` swarm-wide (its name is unique
  // across the swarm). `done` runs once, perhaps before claim returns: ok;
  // agent_taken while the agent is connected on another live host and
  // `takeover` is false (with it, that connection gets taken_over); or
  // cluster_unavailable.
  virtual void claim(const std::string& agent, bool takeover, std::function<void(Status)> done) = 0;
  // Whether a send from `from` to `to` must go through the swarm: the
  // mailbox is not on this host, or an earlier message of the same sender
  // is still on its way to it through the swarm (it must not be overtaken).
  virtual bool routes(const std::optional<std::string>& from, const std::string& to) const = 0;
  // Stores the message in the swarm for `to`; `done` gets its seq here once
  // it is stored, or an error (not_subscribed, mailbox_full,
  // cluster_unavailable).
  virtual void send(const std::optional<std::string>& from, const std::string& to,
                    boost::json::object message, std::function<void(SendOutcome)> done) = 0;

  // --- what the bus tells the swarm ---
  // `agent`'s connection here closed: its mailbox is kept here for the TTL.
  virtual void detached(const std::string& agent) = 0;
  // `agent`'s mailbox here expired.
  virtual void forgotten(const std::string& agent) = 0;
  // A message delivered on this host without the swarm (a local send, or a
  // broadcast: `to` "*"): other hosts' taps see it too, and a broadcast
  // reaches their agents. Returns how many agents connected elsewhere a
  // broadcast reaches, as far as this coordd knows.
  virtual std::size_t delivered_here(const std::optional<std::string>& from, std::string_view to,
                                     const boost::json::object& message, WallTime sent_at) = 0;
};

}  // namespace coordd
