// TopFeed: coordd's side of `coordctl top`. One connection that taps every
// event and message (resuming with `since` after a reconnection to the same
// daemon run, and replaying the journal's latest lines at first), and asks
// `status` (agents) and `list` (active leases) when refresh() is called;
// everything goes into a TopModel. Failures are values: "" or what went
// wrong, after which the caller closes and connects again. Main thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "client/daemon_connection.hpp"
#include "client/top_model.hpp"

namespace coordd {

class TopFeed {
 public:
  // Lines of the journal replayed at the first connection.
  static constexpr std::uint64_t kReplayed = 100;

  TopFeed(std::string socket_path, TopModel& model, std::chrono::milliseconds timeout);

  // Connects, says hello, subscribes and reads status and leases.
  std::string connect(TopClock::time_point now);
  bool connected() const { return daemon_.client.connected(); }
  int fd() const { return daemon_.client.fd(); }
  void close();

  // Reads every line already arrived, without waiting. Sets `leases_changed`
  // when one may have changed the leases.
  std::string drain(TopClock::time_point now, bool& leases_changed);
  // Asks for status (agents), and for the leases when `leases` is set.
  std::string refresh(bool leases);
  // Waits until every event before now has been delivered (sync), then drains.
  std::string settle(TopClock::time_point now);

 private:
  std::string socket_path_;
  TopModel& model_;
  std::chrono::milliseconds timeout_;
  DaemonConnection daemon_;
  std::string epoch_;           // the daemon run streamed from ("" before the first)
  std::uint64_t last_seq_ = 0;  // the last seq of that run handled
};

}  // namespace coordd
