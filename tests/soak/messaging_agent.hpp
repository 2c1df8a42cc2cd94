// MessagingAgent: one agent of the soak's message bus. It says hello as its
// agent id, then at a paced rate sends targeted messages to its peers and
// broadcasts, reads what it is sent, and now and then reconnects (hello with
// takeover). It checks what the bus promises one connection: messages in
// strictly increasing seq, never twice, mailbox lag markers only over seqs not
// delivered; an acking agent also that a message comes again (marked) only
// while it was not acked, and never once it was. It never fails the test itself: run() returns what
// went wrong. connect() on the main thread (so every agent exists before anyone sends), then run()
// on its own thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <random>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "client/coord_client.hpp"

namespace coordd::soak {

struct AgentPlan {
  std::string agent;
  std::vector<std::string> peers;  // agents it sends to
  std::uint32_t seed = 1;
  double sends_per_second = 20;
  unsigned broadcast_percent = 15;
  unsigned reconnect_percent = 2;
  // Acknowledged delivery: it acks what it read before each send, and so
  // its reconnects (without acking first) must bring the unacked again.
  bool ack = false;
};

struct AgentCounts {
  std::uint64_t sent = 0;
  std::uint64_t broadcasts = 0;
  std::uint64_t received = 0;
  std::uint64_t mailbox_full = 0;  // back-pressure: the peer's mailbox was full
  std::uint64_t lag_markers = 0;   // broadcasts owed to a full mailbox
  std::uint64_t reconnects = 0;
  std::uint64_t redelivered = 0;  // acking agents: messages that came again, as promised
};

class MessagingAgent {
 public:
  MessagingAgent(std::filesystem::path socket, AgentPlan plan);

  // Connects and says hello as the agent. False (with error()) on failure.
  bool connect();
  // Sends and reads until `stop`. Returns "" or what failed.
  std::string run(std::stop_token stop);
  void disconnect() { client_.close(); }

  const AgentPlan& plan() const { return plan_; }
  const AgentCounts& counts() const { return counts_; }
  const std::string& error() const { return error_; }

 private:
  // Sends `request` and reads every line up to its reply.
  std::optional<boost::json::object> request(boost::json::object request);
  bool send_one();
  // Reads what arrives until `until`.
  bool read_until(std::chrono::steady_clock::time_point until);
  bool take(const std::string& text, boost::json::object& line);
  bool fail(std::string why);

  std::filesystem::path socket_;
  AgentPlan plan_;
  CoordClient client_;
  std::mt19937 random_;
  // Acks every targeted message read so far (acking agents).
  bool ack_read();

  std::uint64_t last_seq_ = 0;  // of this connection
  // Acking agents: targeted messages read on this connection and not acked
  // yet; those read on an earlier one and never acked (they must come
  // again, marked); and the seq every message up to which was acked.
  std::set<std::uint64_t> unacked_;
  std::set<std::uint64_t> owed_;
  std::uint64_t acked_upto_ = 0;
  std::uint64_t next_req_ = 1;
  std::uint64_t next_message_ = 1;
  AgentCounts counts_;
  std::string error_;
};

}  // namespace coordd::soak
