// SwarmBus: the agent message bus across the swarm (CLUSTER.md, "Names";
// PROTOCOL.md, "Across hosts"). It keeps the swarm's registry of agent
// names (KV bucket coord_C_agents, written by compare-and-set, so two hosts
// racing for one name cannot both win), routes a send for an agent held by
// another host through the message stream (a work queue: `sent` means
// stored by the stream's quorum), pulls the mailboxes of the agents this
// host holds from their consumers into the local MessageBus (a message is
// acked, and so leaves the stream, once handed to the agent's connection),
// and shows every host's traffic to local taps. It implements the bus's
// SwarmRoute; all NATS I/O is the NatsBridge's. Reactor thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "daemon/bus/log_throttle.hpp"
#include "daemon/bus/message_bus.hpp"
#include "daemon/bus/swarm_route.hpp"
#include "daemon/cluster/message_bridge.hpp"
#include "daemon/cluster/nats_bridge.hpp"
#include "proto/cluster_value.hpp"

namespace coordd {

struct SwarmBusOptions {
  std::string cluster_name;
  std::string host_id;
  std::string epoch;
};

struct SwarmBusCounters {
  std::uint64_t sent = 0;        // targeted messages stored in the swarm for other hosts
  std::uint64_t received = 0;    // messages from other hosts delivered here
  std::uint64_t refused = 0;     // from the swarm, refused: forged sender, malformed
  std::uint64_t duplicates = 0;  // from the swarm, delivered before
  std::uint64_t forwarded = 0;   // left here for an agent that moved, sent on to it
  std::uint64_t send_failures = 0;
};

class SwarmBus final : public SwarmRoute {
 public:
  // `gone(host, epoch)`: whether that run of that host's coordd has ended
  // (the host is stale, or holds its id under another run now): what its
  // registry entries say of connections is no longer so.
  SwarmBus(boost::asio::io_context& io, const Clock& clock, MessageBus& bus, MessageBridge& bridge,
           SwarmBusOptions options,
           std::function<bool(const std::string&, const std::string&)> gone);
  ~SwarmBus() override;
  SwarmBus(const SwarmBus&) = delete;
  SwarmBus& operator=(const SwarmBus&) = delete;

  // Whether this coordd is connected and joined (its host id held).
  void set_joined(bool joined);
  // The bridge's message events (other events are ignored).
  void on_event(BridgeEvent& event);

  boost::json::object status() const;

  // SwarmRoute
  const std::string& host() const override { return options_.host_id; }
  void claim(const std::string& agent, bool takeover, std::function<void(Status)> done) override;
  bool routes(const std::optional<std::string>& from, const std::string& to) const override;
  void send(const std::optional<std::string>& from, const std::string& to,
            boost::json::object message, std::function<void(SendOutcome)> done) override;
  void detached(const std::string& agent) override;
  void forgotten(const std::string& agent) override;
  std::size_t delivered_here(const std::optional<std::string>& from, std::string_view to,
                             const boost::json::object& message, WallTime sent_at) override;

 private:
  // A registry entry as last seen.
  struct Registered {
    AgentValue value;
    std::uint64_t revision = 0;
  };
  struct Waiter {
    bool takeover = false;
    std::function<void(Status)> done;
  };
  // A message pulled for an agent held here, waiting for its sender's
  // registry entry (a hello on another host may reach us after its first
  // message): kept in order, behind any earlier one.
  struct Pulled {
    MessageValue value;
    std::string sender_host;  // from the subject
    std::string ack_subject;
    std::uint64_t stream_seq = 0;
    SteadyTime arrived{};
  };
  // An agent this host holds in the registry (or means to).
  struct Mine {
    bool want_connected = true;
    bool written_connected = false;
    std::uint64_t revision = 0;  // of our last write (0: none that stands)
    bool writing = false;
    bool writing_connected = false;  // what the write in flight says
    int conflicts = 0;               // compare-and-set failures in a row
    std::vector<Waiter> waiters;
    bool consumer_made = false;  // this run re-made its consumer
    bool pulling = false;
    bool opening = false;                // its consumer is being (re)made: not yet answered
    std::set<std::uint64_t> in_mailbox;  // stream seqs taken, not yet acked
    // Stream seqs handed over lately (their acks may be lost): bounded.
    std::set<std::uint64_t> handed;
    std::deque<std::uint64_t> handed_order;

    std::deque<Pulled> waiting;  // held back (see Pulled)
  };
  // The MessageStore that pulled messages are settled in: an ack.
  class StreamAcks final : public MessageStore {
   public:
    explicit StreamAcks(SwarmBus& owner) : owner_(owner) {}
    std::vector<StoredMessage> take_recovered() override { return {}; }
    Result<std::uint64_t> record(const StoredMessage&) override {
      return Status::error("log_failed", "not a log");
    }
    void settle(std::uint64_t id) override { owner_.settle(id); }
    boost::json::object describe() const override { return {}; }

   private:
    SwarmBus& owner_;
  };
  struct PendingAck {
    std::string agent;
    std::string ack_subject;
    std::uint64_t stream_seq = 0;
  };
  struct PendingSend {
    std::function<void(SendOutcome)> done;  // null: a forwarded message
    std::string id;
    std::optional<std::string> from;
    std::string to;
    boost::json::object message;
    WallTime sent_at{};
    MessageStore* settle_in = nullptr;  // forwarded: where it was kept here
    std::uint64_t settle_id = 0;
  };

  // A send waiting for the registry's leader to say whether its recipient
  // is subscribed (not in our copy of the registry).
  struct QueuedSend {
    std::optional<std::string> from;
    std::string to;
    boost::json::object message;
    std::function<void(SendOutcome)> done;
  };

  bool ready() const { return joined_ && messages_ready_; }
  // Whether `agent`'s registry entry (as seen here) says it has a mailbox
  // in the swarm: connected on a live host, or away for less than the TTL.
  bool subscribed(const std::string& agent) const;
  void publish(QueuedSend send);
  void on_read(BridgeAgentRead& read);
  void kick(const std::string& agent);
  void on_written(BridgeAgentWritten& written);
  void on_agent(const BridgeAgent& entry);
  void on_pulled(BridgeMessage& message);
  void on_seen(BridgeMessage& message);
  void drain_waiting(const std::string& agent);
  // Why a message from the swarm must be refused (empty: it may pass).
  // nullopt: its sender is not in the registry yet.
  std::optional<std::string> check_sender(const MessageValue& value,
                                          const std::string& subject_host) const;
  void refuse(const std::string& why);
  void lose(const std::string& agent, const std::string& why);
  void settle(std::uint64_t id);
  std::string next_id();
  bool live_elsewhere(const Registered& entry) const;
  void arm_retry();
  // Answers every hello still waiting for the registry: served locally.
  void release_waiters();

  const Clock& clock_;
  MessageBus& bus_;
  MessageBridge& bridge_;
  SwarmBusOptions options_;
  std::function<bool(const std::string&, const std::string&)> gone_;
  std::string prefix_;  // message_subject_prefix
  StreamAcks acks_;
  LogThrottle refused_log_;
  LogThrottle errors_log_;
  std::unique_ptr<Alarm> retry_;
  bool retry_armed_ = false;
  std::unique_ptr<Alarm> registry_wait_;
  bool registry_wait_armed_ = false;

  bool joined_ = false;
  bool messages_ready_ = false;
  std::string messages_error_;
  bool registry_caught_up_ = false;
  std::map<std::string, Registered> registry_;  // by agent name
  std::map<std::string, Mine> mine_;
  std::map<std::uint64_t, std::string> writes_;  // token -> agent
  std::map<std::uint64_t, PendingSend> sends_;   // token -> send
  std::map<std::uint64_t, std::string> reads_;   // token -> recipient looked up
  // Recipient -> the sends waiting for its lookup, in order.
  std::map<std::string, std::deque<QueuedSend>> lookups_;
  std::map<std::uint64_t, PendingAck> unacked_;  // settle id -> ack
  std::uint64_t next_token_ = 1;
  std::uint64_t next_message_ = 1;
  // Ids of messages delivered here lately (a sender's retry the stream did
  // not catch): bounded.
  std::unordered_set<std::string> recent_ids_;
  // (sender, recipient) -> the id of the sender's latest message stored in
  // the swarm for it and not yet pulled here: while the recipient's mailbox
  // is here, the sender's next messages follow it through the swarm.
  std::map<std::pair<std::string, std::string>, std::string> in_transit_;
  std::deque<std::string> recent_order_;
  SwarmBusCounters counters_;
};

}  // namespace coordd
