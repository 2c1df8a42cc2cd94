// MessageStore: where the MessageBus keeps targeted messages so they survive
// a coordd restart. A message is recorded before its sender hears `sent` and
// settled once it is handed to its agent (or expires); what was recorded and
// not settled is handed back, in send order, when the next run starts. The
// one implementation today is MessageLog (a local log in the state
// directory); a replicated store could stand behind the same calls.
// Reactor thread only.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proto/status.hpp"
#include "proto/timestamp.hpp"

namespace coordd {

struct StoredMessage {
  std::uint64_t id = 0;  // the store's; increases in send order, across runs
  std::string to;
  std::optional<std::string> from;  // nullopt: an anonymous sender
  WallTime sent_at{};               // wall time: steady time does not survive a restart
  boost::json::object message;
};

class MessageStore {
 public:
  virtual ~MessageStore() = default;

  // The messages recorded in earlier runs and never settled, in send order.
  // Called once, before the first record().
  virtual std::vector<StoredMessage> take_recovered() = 0;
  // Makes `message` survive a restart and returns its id (message.id is
  // ignored). An error (log_full, log_failed) means nothing was recorded:
  // the send must be refused.
  virtual Result<std::uint64_t> record(const StoredMessage& message) = 0;
  // Message `id` was handed to its agent's connection, or expired: it must
  // not come back after a restart. Unknown ids are ignored.
  virtual void settle(std::uint64_t id) = 0;
  // What `status` shows under "message_log".
  virtual boost::json::object describe() const = 0;
};

}  // namespace coordd
