// MessageBus: agent-to-agent messages across processes, in the shape of
// rustagent's in-process bus (a queue per agent for targeted sends, plus
// broadcast) without its silent losses. An agent's connection registers with
// hello; its Mailbox outlives a disconnect for the mailbox TTL. Messages take
// the global seq and are journaled, so taps (subscriptions with "messages")
// see them in order and get `lagged` markers rather than gaps. Messages live
// in memory only. Reactor thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "daemon/bus/mailbox.hpp"

namespace coordd {

class Connection;
class ConnectionManager;
class Engine;

struct MessageLimits {
  std::size_t mailbox_messages = kDefaultMailboxMessages;
  std::size_t mailbox_bytes = kDefaultMailboxBytes;
  std::chrono::milliseconds mailbox_ttl{300'000};
};

// The outcome of a send or broadcast: either an error (code and message for
// the reply) or the seq it was given.
struct SendOutcome {
  std::string error_code;
  std::string error_message;
  std::uint64_t seq = 0;
  std::size_t recipients = 0;  // broadcast only
};

class MessageBus {
 public:
  MessageBus(boost::asio::io_context& io, Engine& engine, ConnectionManager& manager,
             MessageLimits limits);
  MessageBus(const MessageBus&) = delete;
  MessageBus& operator=(const MessageBus&) = delete;

  // Makes `connection` the live connection of `agent`. Returns "" or an
  // error code: "agent_taken" when another connection holds the agent and
  // takeover is false (with takeover, that connection gets `taken_over` and
  // is closed). `waiting` is set to the messages that will now be delivered.
  std::string attach(Connection& connection, const std::string& agent, bool takeover,
                     std::size_t& waiting);
  // The connection closed: its agent's mailbox is kept for the TTL.
  void detach(Connection& connection);

  SendOutcome send(const std::optional<std::string>& from, const std::string& to,
                   boost::json::object message);
  SendOutcome broadcast(const std::optional<std::string>& from, boost::json::object message);

  Mailbox* mailbox_of(const std::string& agent);

  std::size_t agents_connected() const;
  std::size_t mailboxes() const { return agents_.size(); }
  std::size_t messages_waiting() const;
  const MessageLimits& limits() const { return limits_; }

 private:
  struct Agent {
    Agent(std::size_t messages, std::size_t bytes) : mailbox(messages, bytes) {}
    Mailbox mailbox;
    Connection* connection = nullptr;  // live connection, or null while retained
    std::unique_ptr<boost::asio::steady_timer> expiry;
  };
  EventPtr make_message(const std::optional<std::string>& from, std::string_view to,
                        const boost::json::object& message);

  boost::asio::io_context& io_;
  Engine& engine_;
  ConnectionManager& manager_;
  MessageLimits limits_;
  std::map<std::string, Agent> agents_;
};

}  // namespace coordd
