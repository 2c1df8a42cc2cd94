// RoamingSubscriber: one subscriber thread of the soak, behaving the way real
// clients misbehave: it reads for a while, stalls (stops reading, so its
// queue fills and it lags or is cut off as a slow consumer), drops its
// connection and resumes with since, or drops its state and subscribes
// afresh -- at random, from a seed. Every line goes through the lossless
// suite's StreamChecker; a lag marker is answered by resuming from it. When
// asked to stop, it syncs until its stream ends in a bookmark with nothing
// owed, so the checker can compare its state with the disk. It never fails
// the test itself: run() returns what went wrong. One thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <random>
#include <stop_token>
#include <string>

#include "tests/lossless/subscriber.hpp"

namespace coordd::soak {

// How often (per turn, in percent) the subscriber misbehaves, and how long.
struct RoamingHabits {
  unsigned stall_percent = 10;
  unsigned resume_percent = 8;       // drop the connection, resume with since
  unsigned resubscribe_percent = 2;  // drop connection and state, subscribe afresh
  std::chrono::milliseconds read_min{200}, read_max{1500};
  std::chrono::milliseconds stall_min{300}, stall_max{2000};
};

struct RoamingPlan {
  std::string name;
  boost::json::object filters;     // subscribe's fields
  lossless::RecordFilter matches;  // the same filter, over records on disk
  RoamingHabits habits;
  std::uint32_t seed = 1;
};

struct RoamingCounts {
  std::uint64_t lines = 0;
  std::uint64_t expired_by_ttl = 0;
  std::uint64_t expired_by_release = 0;
  std::uint64_t messages = 0;  // tap lines, for plans that ask for messages
  std::uint64_t stalls = 0;
  std::uint64_t planned_resumes = 0;
  std::uint64_t lag_resumes = 0;  // resumes answering a lagged marker
  std::uint64_t cut_off = 0;      // connections coordd closed (slow_consumer)
  std::uint64_t fresh_subscriptions = 0;
};

class RoamingSubscriber {
 public:
  RoamingSubscriber(std::filesystem::path socket, RoamingPlan plan);

  // Connects and subscribes (with a snapshot). False (with error()) on failure.
  bool start();
  // Roams until `stop`, then syncs until the stream ends in a bookmark with
  // nothing owed (within `sync_deadline`). Returns "" or what failed.
  std::string run(std::stop_token stop, std::chrono::seconds sync_deadline);
  // Closes the connection (for the descriptor count at the end).
  void disconnect() { subscriber_.disconnect(); }

  const RoamingPlan& plan() const { return plan_; }
  const lossless::StreamChecker& checker() const { return subscriber_.checker(); }
  const RoamingCounts& counts() const { return counts_; }
  const std::string& error() const { return error_; }

 private:
  // Reads until `until`; false when the connection failed in a way a
  // resume cannot repair.
  bool read_until(std::chrono::steady_clock::time_point until, std::stop_token stop);
  bool resume();
  bool resubscribe();
  std::string finish(std::chrono::seconds sync_deadline);
  void count(const boost::json::object& line);
  bool fail(std::string why);

  std::filesystem::path socket_;
  RoamingPlan plan_;
  lossless::Subscriber subscriber_;
  bool stalled_since_connecting_ = false;  // coordd may have cut us off meanwhile
  std::mt19937 random_;
  RoamingCounts counts_;
  std::string error_;
};

}  // namespace coordd::soak
