// What the MessageBus needs of the subscribers it serves, as interfaces it
// owns: an AgentSession is the live connection of one agent (the server's
// Connection implements it); a MessageFanout takes each message to the
// journal and to every tap (the server's ConnectionManager). The bus holds
// sessions by weak_ptr, so it never keeps a closed client alive.
// Reactor thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/engine/event.hpp"

namespace coordd {

class Mailbox;

class AgentSession {
 public:
  virtual ~AgentSession() = default;

  // For logs.
  virtual std::uint64_t session_id() const = 0;
  // The bus makes this session the live one of `agent` (with its mailbox),
  // or, with nullopt and null, no longer any agent's.
  virtual void set_agent(std::optional<std::string> agent, Mailbox* mailbox) = 0;
  // New messages wait in the mailbox: move what fits to the client.
  virtual void mailbox_ready() = 0;
  // Sends a final line (an error line such as taken_over), then closes.
  virtual void close_with(std::string final_line) = 0;
};

class MessageFanout {
 public:
  virtual ~MessageFanout() = default;
  // Journals `message` and offers it to every tap; the sessions whose tap
  // took it are appended to `tapped` when it is given.
  virtual void publish_message(const EventPtr& message,
                               std::vector<const AgentSession*>* tapped) = 0;
};

}  // namespace coordd
