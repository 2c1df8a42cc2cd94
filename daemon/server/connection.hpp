// Connection: one client on the Unix socket, the socket side. Reads NDJSON
// requests (handed to a FrameHandler one at a time), writes replies and the
// lines of its SubscriptionStreams from a bounded OutboundQueue with one
// gathered write in flight, and disconnects a client that stays behind past
// the grace period (`slow_consumer`).
// Kept alive by its own handlers (shared_from_this) and by the
// ConnectionManager; reactor thread only.
#pragma once

#include <boost/asio/local/stream_protocol.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "daemon/bus/agent_session.hpp"
#include "daemon/engine/clock.hpp"
#include "daemon/engine/event.hpp"
#include "daemon/server/outbound_queue.hpp"
#include "daemon/server/peer_policy.hpp"
#include "daemon/server/subscription_stream.hpp"
#include "proto/ndjson_framer.hpp"

namespace coordd {

class Connection;
class Engine;
class LingeringCloses;
class LogThrottle;
class EventJournal;
class Mailbox;
class MessageBus;

// What a Connection hands each request line to (the RequestHandler).
class FrameHandler {
 public:
  virtual ~FrameHandler() = default;
  virtual void handle(Connection& connection, std::string_view frame) = 0;
};

// What owns the open connections and is told when one closes (the
// ConnectionManager).
class ConnectionRegistry {
 public:
  virtual ~ConnectionRegistry() = default;
  virtual void forget(Connection* connection) = 0;
};

struct ConnectionLimits {
  std::size_t max_frame_bytes = 1 << 20;
  std::size_t queue_max_lines = kDefaultQueueEvents;
  std::size_t queue_max_bytes = kDefaultQueueBytes;
  std::chrono::milliseconds slow_consumer_grace{30'000};
};

// What every connection shares; outlives all connections.
struct ConnectionContext {
  Engine& engine;
  EventJournal& journal;
  FrameHandler& handler;
  ConnectionRegistry& registry;
  MessageBus& bus;
  ConnectionLimits limits;
  // Every connection reads into this one buffer and keeps only what its
  // framer has not yet returned, so an idle connection holds no read buffer.
  std::span<char> read_buffer;
  LingeringCloses& lingering;  // where a connection ends after a final line
  LogThrottle& slow_consumer_log;
};

class Connection final : public AgentSession, public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::local::stream_protocol::socket socket, ConnectionContext& context,
             std::uint64_t id, PeerCredentials peer, Access access);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();
  // Closes at once (shutdown, or the client went away).
  void stop();

  // A published event or message: queued for every live subscription it
  // matches. Returns whether any subscription matched.
  bool deliver(const EventPtr& event);

  // AgentSession, for the MessageBus: set when this connection becomes (or
  // stops being) an agent's live connection; its mailbox is drained in seq
  // order.
  std::uint64_t session_id() const override { return id_; }
  void set_agent(std::optional<std::string> agent, Mailbox* mailbox) override;
  void mailbox_ready() override { pump(); }
  std::shared_ptr<AgentSession> session() { return shared_from_this(); }
  // The agent whose mailbox this connection holds.
  const std::optional<std::string>& agent() const { return agent_; }
  // Whom its messages are from: its agent, else the agent it named for
  // sending only (hello with "mailbox":false).
  const std::optional<std::string>& sender() const { return agent_ ? agent_ : sender_; }
  void set_sender(std::string agent) { sender_ = std::move(agent); }
  // How the mailbox it is given next hands messages over.
  void set_delivery(Delivery delivery) { delivery_ = delivery; }
  Mailbox* acking_mailbox() const { return streams_.acking_mailbox(); }

  // Queues a reply line (ending in '\n'); replies are never dropped.
  void reply(std::string line);
  // Queues a final line, stops reading, and once it is written hands the
  // socket to LingeringCloses, so a client still sending can read it (or
  // closes after a short timeout if the client does not read).
  void close_with(std::string final_line) override;
  // Holds the requests after the current one until its reply is queued by
  // finish_deferred_reply(), so replies keep request order even when one must
  // wait (sync). `cancel` runs if the connection closes first. At most one
  // reply is deferred at a time.
  void defer_reply(std::function<void()> cancel);
  // Queues the line `make_line` returns once every subscription is live with
  // no lag marker owed -- it is called then, so a bookmark (synced{seq})
  // reads the seq after every event it vouches for has been queued -- and
  // then resumes reading the held requests.
  void finish_deferred_reply(std::function<std::string()> make_line);

  Subscription& add_subscription(EventFilter filter) { return streams_.add(std::move(filter)); }
  bool remove_subscription(std::uint64_t id);
  const std::map<std::uint64_t, Subscription>& subscriptions() const {
    return streams_.subscriptions();
  }
  // Produces queued snapshot/replay lines and starts writing.
  void pump();

  std::uint64_t id() const { return id_; }
  const PeerCredentials& peer() const { return peer_; }
  Access access() const { return access_; }
  bool closed() const { return closed_; }
  const OutboundQueue& queue() const { return queue_; }
  std::uint64_t dropped_events() const { return streams_.dropped_events(); }

 private:
  void read();
  // One non-blocking read into the shared buffer; waits for readiness only
  // when nothing is there.
  void receive();
  void handle_frames();
  void write();
  // write() at the end of this reactor turn, so that the events published
  // in it go out in one batch.
  void schedule_write();
  // Starts the slow-consumer clock when the streams fell behind (after a
  // delivery); track_lag() also stops it once they and the queue have
  // caught up (after a pump, as the client drains).
  void start_lag_clock();
  void track_lag();
  void arm_slow_timer(SteadyDuration after);
  void check_slow_consumer();
  void maybe_resume_reading();
  // After EOF: stops the connection once the peer has closed, not merely
  // shut down its write side.
  void watch_for_hang_up();
  // True once a half-closed client has nothing more coming: every request
  // answered and every line written.
  bool done_after_eof() const;

  boost::asio::local::stream_protocol::socket socket_;
  ConnectionContext& context_;
  std::uint64_t id_;
  PeerCredentials peer_;
  Access access_;
  NdjsonFramer framer_;
  OutboundQueue queue_;
  SubscriptionStreams streams_;
  std::unique_ptr<Alarm> slow_timer_;  // slow-consumer grace, then the close timeout
  std::optional<SteadyTime> lagging_since_;
  std::vector<std::function<std::string()>> parked_replies_;
  std::function<void()> cancel_deferred_;  // while a reply is deferred
  bool deferred_ = false;
  bool deferred_parked_ = false;  // the deferred reply is among parked_replies_
  std::optional<std::string> agent_;
  std::optional<std::string> sender_;
  Delivery delivery_;
  bool reading_ = false;
  bool read_eof_ = false;
  bool write_scheduled_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool closed_ = false;
};

}  // namespace coordd
