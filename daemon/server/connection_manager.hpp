// ConnectionManager: owns every open Connection so shutdown can stop them
// all, and hands each published event to each of them. After a burst of
// connections closes it gives the freed heap back to the system (glibc keeps
// it otherwise). Reactor thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "daemon/engine/engine.hpp"
#include "daemon/server/connection.hpp"

namespace coordd {

// Once the open connections have numbered kTrimAfterPeak or more, the heap is
// trimmed when they drop to kTrimLowWater: a quiet moment, after the burst.
inline constexpr std::size_t kTrimAfterPeak = 256;
inline constexpr std::size_t kTrimLowWater = 16;

class ConnectionManager final : public EventSink, public MessageFanout, public ConnectionRegistry {
 public:
  explicit ConnectionManager(EventJournal& journal) : journal_(journal) {}

  void start(std::shared_ptr<Connection> connection);
  // Called by a Connection as it closes.
  void forget(Connection* connection) override;
  void stop_all();

  // EventSink: journal the event, then offer it to every connection.
  void publish(const EventPtr& event) override { publish_to_all(event, nullptr); }
  // MessageFanout: the same for a message; the connections with a
  // subscription that matched are appended to `tapped` when it is given.
  void publish_message(const EventPtr& message, std::vector<const AgentSession*>* tapped) override {
    publish_to_all(message, tapped);
  }

  std::size_t size() const { return connections_.size(); }
  std::size_t subscription_count() const;
  std::uint64_t next_id() { return ++last_id_; }
  std::uint64_t accepted() const { return last_id_; }

 private:
  void publish_to_all(const EventPtr& event, std::vector<const AgentSession*>* matched);

  EventJournal& journal_;
  std::map<Connection*, std::shared_ptr<Connection>> connections_;
  std::uint64_t last_id_ = 0;
  std::size_t peak_ = 0;  // the most connections open at once since the last trim
};

}  // namespace coordd
