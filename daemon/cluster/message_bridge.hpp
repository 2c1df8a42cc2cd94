// MessageBridge: the calls the SwarmBus makes of the swarm's connection for
// agent messages, as an interface: NatsBridge implements it over nats.c, and
// tests put a fake in its place to drive the SwarmBus on a fake clock. Each
// call only queues work; its answer comes back as a BridgeEvent
// (nats_bridge.hpp) on the reactor thread. Reactor thread only.
#pragma once

#include <cstdint>
#include <string>

namespace coordd {

class MessageBridge {
 public:
  virtual ~MessageBridge() = default;

  // Creates `key` in the agents bucket (expected_revision 0) or updates it
  // at that revision; answered by a BridgeAgentWritten carrying `token`.
  virtual void write_agent(std::uint64_t token, std::string key, std::string value,
                           std::uint64_t expected_revision) = 0;
  virtual void delete_agent(std::string key) = 0;
  // Reads `key`'s latest entry from the bucket's leader, so that it shows
  // every acked write; answered by a BridgeAgentRead carrying `token`.
  virtual void read_agent(std::uint64_t token, std::string key) = 0;
  // Stores a targeted message in the stream (deduplicated on `msg_id`);
  // answered by a BridgeMessageAck carrying `token`.
  virtual void publish_message(std::uint64_t token, std::string subject, std::string body,
                               std::string msg_id) = 0;
  // Core NATS, not stored (broadcasts, tap copies).
  virtual void publish_core(std::string subject, std::string body) = 0;
  // Starts (or resumes) pulling agent `agent`'s mailbox (its encoded name);
  // `fresh` first re-makes its consumer, so that every message still in the
  // stream for it comes again, in order. Answered by BridgeMailboxOpened,
  // then BridgeMessages.
  virtual void open_mailbox(std::string agent, bool fresh) = 0;
  // Stops pulling (what is on its way still comes); `remove` also deletes
  // the consumer.
  virtual void close_mailbox(std::string agent, bool remove) = 0;
  // A pulled message is done with: it leaves the stream.
  virtual void ack(std::string ack_subject) = 0;
};

}  // namespace coordd
