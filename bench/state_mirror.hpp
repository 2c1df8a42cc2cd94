// StateMirror: a coordd subscriber that rebuilds the record state the way a
// client should: applies snapshot/added/modified/expired (set) and removed
// (erase), and recovers from a `lagged` marker by resubscribing with
// "since" (dropping its state if the daemon answers with a full snapshot).
// It reads on its own thread; request_sync() may be called from any thread;
// state() and the counters are for after stop().
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "bench/coordd_process.hpp"
#include "bench/latency.hpp"
#include "bench/line_reader.hpp"

namespace coordd::bench {

class StateMirror {
 public:
  // Subscribes to every kind on a new connection. When `arrivals` is given,
  // the first "added" (or, after a resync, "snapshot") event of each id
  // `id_prefix`+index is logged there as receiver `receiver`.
  StateMirror(const CoorddProcess& coordd, std::string epoch, LatencyLog* arrivals,
              std::size_t receiver, std::string id_prefix);
  ~StateMirror();
  StateMirror(const StateMirror&) = delete;
  StateMirror& operator=(const StateMirror&) = delete;

  // Sends {"op":"sync"}; synced() turns true when its reply has been read,
  // so every change made before this call has been applied.
  void request_sync();
  bool synced() const { return synced_.load(std::memory_order_acquire); }
  void stop();

  // "kind/id" → data, after stop().
  const std::map<std::string, boost::json::value>& state() const { return state_; }
  std::size_t lagged_markers() const { return lagged_; }
  std::size_t resyncs() const { return resyncs_; }
  std::size_t malformed_lines() const { return malformed_; }

 private:
  void on_line(std::string_view line, std::int64_t read_ns);
  void handle_line(std::string_view line, std::int64_t read_ns);
  void apply_event(const boost::json::object& event, std::int64_t read_ns);
  void resubscribe(std::uint64_t from_seq);
  void send(boost::json::object request);

  CoordClient client_;
  std::string epoch_;
  LatencyLog* arrivals_;
  std::size_t receiver_;
  std::string id_prefix_;
  std::mutex send_mutex_;
  std::atomic<std::uint64_t> next_req_{1'000'000};  // above CoordClient's own
  std::atomic<std::uint64_t> sync_req_{0};
  std::atomic<bool> synced_{false};
  // Reader thread only:
  std::map<std::string, boost::json::value> state_;
  std::uint64_t current_sub_ = 0;   // 0: the first subscription, any sub accepted
  std::uint64_t awaiting_req_ = 0;  // the resubscribe whose reply we wait for
  bool ignoring_events_ = false;    // between a lagged marker and the new reply
  std::size_t lagged_ = 0;
  std::size_t resyncs_ = 0;
  std::size_t malformed_ = 0;
  std::unique_ptr<LineReader> reader_;  // last: stops before the rest goes
};

// Every record file under `repo`'s coordination directory, parsed, keyed
// like StateMirror::state(). Unparsable files are keyed with a null value.
std::map<std::string, boost::json::value> read_disk_state(const std::string& repo);

}  // namespace coordd::bench
