// SoakLoad: the soak's whole cast against one coordd -- paced writers,
// roaming subscribers (each with its filter and habits), messaging agents --
// started together and stopped in the order the final check needs: writers
// first, so the disk is still; then agents; then the subscribers, which end
// with a sync. Its members run on their own threads between start() and
// stop(); the SoakLoad itself belongs to doctest's main thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/soak/directory_churner.hpp"
#include "tests/soak/messaging_agent.hpp"
#include "tests/soak/roaming_subscriber.hpp"
#include "tests/soak/soak_fixture.hpp"
#include "tests/soak/soak_writer.hpp"

namespace coordd::soak {

class SoakLoad {
 public:
  // The cast for `ws`, every random choice derived from `seed`.
  SoakLoad(const Workspace& ws, std::uint32_t seed);
  ~SoakLoad();  // stops whatever still runs
  SoakLoad(const SoakLoad&) = delete;
  SoakLoad& operator=(const SoakLoad&) = delete;

  // Connects every subscriber (with a snapshot) and agent, then starts every
  // thread. False (with error()) when a client could not connect.
  bool start();
  // Stops and joins writers, agents and subscribers, in that order.
  void stop();
  // Closes every client connection (after stop()).
  void disconnect();

  // What the threads reported, one line each; empty when all went well.
  std::vector<std::string> errors() const;
  // Each subscriber's stream problems and differences from `disk` (filtered
  // to what it subscribed to), prefixed with its name; empty when it all held.
  std::vector<std::string> differences_from(const RecordsByKind& disk) const;

  // What the run exercised, summed over subscribers and agents.
  struct Totals {
    std::uint64_t expired_by_ttl = 0;
    std::uint64_t expired_by_release = 0;
    std::uint64_t lag_markers = 0;
    std::uint64_t resumes = 0;
    std::uint64_t cut_off = 0;
    std::uint64_t messages = 0;     // received by agents and taps
    std::uint64_t redelivered = 0;  // to acking agents, after a reconnect without acks
    std::uint64_t directory_replacements = 0;
    std::uint64_t permission_flips = 0;
  };
  Totals totals() const;
  // A paragraph of figures: writes, and per subscriber and agent what it saw.
  std::string figures() const;
  const std::string& error() const { return error_; }

 private:
  std::vector<SoakWriter> writers_;
  std::optional<DirectoryChurner> churner_;
  std::string churner_error_;
  std::vector<std::unique_ptr<RoamingSubscriber>> subscribers_;
  std::vector<std::unique_ptr<MessagingAgent>> agents_;
  std::vector<std::string> writer_errors_, subscriber_errors_, agent_errors_;
  std::vector<std::jthread> writer_threads_, subscriber_threads_, agent_threads_;
  std::string error_;
};

}  // namespace coordd::soak
