// MessageBus: agent-to-agent messages across processes, in the shape of
// rustagent's in-process bus (a queue per agent for targeted sends, plus
// broadcast) without its silent losses. An agent's connection registers with
// hello; its Mailbox outlives a disconnect for the mailbox TTL. Messages take
// the global seq and are journaled, so taps (subscriptions with "messages")
// see them in order and get `lagged` markers rather than gaps. All mailboxes
// together hold at most mailbox_total_bytes. With a MessageStore, every
// targeted send is recorded before `sent` and the messages of the last run
// come back at start (recover()); broadcasts stay in memory. Subscribers are
// reached only through AgentSession and MessageFanout (agent_session.hpp).
// Reactor thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/bus/agent_session.hpp"
#include "daemon/bus/log_throttle.hpp"
#include "daemon/bus/mailbox.hpp"
#include "daemon/bus/message_store.hpp"
#include "daemon/bus/swarm_route.hpp"
#include "daemon/engine/clock.hpp"
#include "proto/status.hpp"

namespace coordd {

class Engine;

struct MessageLimits {
  std::size_t mailbox_messages = kDefaultMailboxMessages;
  std::size_t mailbox_bytes = kDefaultMailboxBytes;
  std::size_t mailbox_total_bytes = kDefaultMailboxTotalBytes;  // every mailbox together
  std::chrono::milliseconds mailbox_ttl{300'000};
};

// A message from another host of the swarm, for MessageBus::deliver_remote.
struct RemoteMessage {
  std::optional<std::string> from;
  std::string from_host;
  std::string to;  // an agent id, or "*" for a broadcast
  WallTime sent_at{};
  boost::json::object message;
  // Into `to`'s mailbox here (it holds the agent); otherwise only the
  // journal and taps see it (or, for a broadcast, every agent here too).
  bool to_mailbox = false;
  MessageStore* settle_in = nullptr;  // settled there when handed over or dropped
  std::uint64_t settle_id = 0;
};

class MessageBus {
 public:
  MessageBus(boost::asio::io_context& io, Engine& engine, MessageFanout& fanout,
             MessageLimits limits);
  MessageBus(const MessageBus&) = delete;
  MessageBus& operator=(const MessageBus&) = delete;

  // Records targeted sends in `store` from now on (it must outlive the bus)
  // and puts back what it recovered: each message in a retained mailbox of
  // its agent, with a new seq and its original timestamp, unless its TTL,
  // counted on wall time from its send, has passed. Call once, before any
  // client connects.
  void recover(MessageStore& store);

  // Makes `session` the live session of `agent`. Fails with agent_taken
  // when another live session holds the agent and takeover is false (with
  // takeover, that session gets `taken_over` and is closed). `waiting` is set
  // to the messages that will now be delivered.
  Status attach(const std::shared_ptr<AgentSession>& session, const std::string& agent,
                bool takeover, std::size_t& waiting);
  // `session`, the live session of `agent`, closed: the mailbox is kept for
  // the TTL.
  void detach(const AgentSession& session, const std::string& agent);

  SendOutcome send(const std::optional<std::string>& from, const std::string& to,
                   boost::json::object message);
  SendOutcome broadcast(const std::optional<std::string>& from, boost::json::object message);

  Mailbox* mailbox_of(const std::string& agent);

  // --- in a swarm ---
  // From now on `route` (it must outlive the bus) hears of local deliveries
  // and mailboxes, and every message carries its sender's host.
  void set_route(SwarmRoute* route) { route_ = route; }
  SwarmRoute* route() const { return route_; }
  // Delivers a message from another host (or one this host stored in the
  // swarm, for the journal and taps); returns the seq it was given here.
  std::uint64_t deliver_remote(RemoteMessage remote);
  // `agent` is held by another host now: its connection here (if any) gets
  // taken_over (`why`) and closes, and its mailbox goes. Returns what was
  // in it, unsettled, oldest first.
  std::vector<Mailbox::Taken> evict(const std::string& agent, const std::string& why);
  // Whether `agent` has a mailbox here (connected or retained).
  bool holds(const std::string& agent) const { return agents_.contains(agent); }
  // Whether `agent` is connected here.
  bool connected(const std::string& agent) const;

  std::size_t agents_connected() const;
  std::size_t mailboxes() const { return agents_.size(); }
  std::size_t messages_waiting() const;
  // Each agent with a mailbox here, by id: connected now or retained, and
  // how many messages wait in its mailbox (for status and `coordctl top`).
  struct AgentState {
    std::string agent;
    bool connected = false;
    std::size_t waiting = 0;
  };
  std::vector<AgentState> agent_states() const;
  std::size_t mailbox_bytes() const { return budget_.bytes; }
  const MessageStore* store() const { return store_; }
  const MessageLimits& limits() const { return limits_; }

 private:
  struct Agent {
    Agent(std::size_t messages, std::size_t bytes, MailboxBudget* budget, MessageStore* store)
        : mailbox(messages, bytes, budget, store) {}
    Mailbox mailbox;
    std::weak_ptr<AgentSession> session;  // expired while retained
    std::unique_ptr<Alarm> expiry;        // armed while retained
  };
  EventPtr make_message(const std::optional<std::string>& from, std::string_view to,
                        const boost::json::object& message, WallTime sent_at,
                        std::string_view from_host);
  std::string_view own_host() const;
  Agent& agent_entry(const std::string& agent);
  // Keeps `agent`'s mailbox, with nobody connected, for `ttl`.
  void retain(const std::string& agent, SteadyDuration ttl);

  boost::asio::io_context& io_;
  Engine& engine_;
  MessageFanout& fanout_;
  MessageLimits limits_;
  MessageStore* store_ = nullptr;
  SwarmRoute* route_ = nullptr;
  MailboxBudget budget_;  // before agents_: their mailboxes give bytes back to it
  std::map<std::string, Agent> agents_;
  LogThrottle expired_log_;  // a mailbox dropped at its TTL, once per interval
};

}  // namespace coordd
