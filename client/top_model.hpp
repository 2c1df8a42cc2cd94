// TopModel: what `coordctl top` shows, fed from coordd's replies and lines:
// agents (a status reply's agents.list), active leases by run_id (a list
// reply), the latest events and messages (a subscription's lines) and their
// rates over sliding windows. Pure: every time is passed in, so tests drive
// it on a fake clock. Values from coordd are kept as sent (the view strips
// their control characters, --json escapes them); the text composed for the
// screen (TopLine::text, TopLease::addresses) is stripped here. Main thread.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proto/timestamp.hpp"

namespace coordd {

using TopClock = std::chrono::steady_clock;

// Arrivals counted in one-second buckets over the last `window`: bounded
// whatever the rate (one bucket per second of the window).
class RateWindow {
 public:
  explicit RateWindow(std::chrono::seconds window) : window_(window) {}
  void add(TopClock::time_point at);
  // Arrivals in the window ending at `now`.
  std::uint64_t count(TopClock::time_point now) const;
  // count() per second of the window.
  double per_second(TopClock::time_point now) const;

 private:
  std::chrono::seconds window_;
  std::deque<std::pair<std::int64_t, std::uint64_t>> buckets_;  // (second, arrivals), ascending
};

struct TopAgent {
  std::string id;  // as coordd sent it
  bool connected = false;
  std::optional<std::uint64_t> waiting;  // unknown for an agent only seen in messages
};

struct TopLease {
  std::string run_id;               // "?" when the record has none
  std::string kind;                 // reservation or claim
  std::string id;                   // its file id
  std::string addresses;            // the first three (and how many more), for the screen
  boost::json::value address_list;  // data.addresses as the record has it; null when absent
  std::optional<WallTime> expires;  // its effective expiry
};

// One event or message, ready to show: its time (UTC "HH:MM:SS") and text,
// and the values they were made of, as coordd sent them (for --json).
struct TopLine {
  std::uint64_t seq = 0;
  std::string time;
  std::string text;
  boost::json::value timestamp;  // the line's, null when absent
  // Events: event_type, kind, id, and run_id when the record's data has one.
  // Messages: from, to, kind (the message's) and summary (what the text
  // shows after the kind; null when the message has nothing more).
  boost::json::object fields;
};

class TopModel {
 public:
  // The latest events and messages kept (more than any terminal shows).
  static constexpr std::size_t kKeptLines = 200;

  // coordd's name ("coordd/0.1.0") and socket, for the title.
  void set_daemon(std::string server, std::string socket);
  // Whether coordd answers; `problem` is what the view says while it does not.
  void set_connected(bool connected, std::string problem = "");
  // Agents from a status reply (agents.list; absent from an older coordd,
  // then the agents seen in messages are shown, state unknown).
  void set_status(const boost::json::object& status);
  // The leases of a list reply's records (active reservations and claims).
  void set_leases(const boost::json::array& records);
  // Lines with seq above `seq` arrived live (count in the rates); those at
  // or below it were replayed from the journal.
  void set_live_after(std::uint64_t seq) { live_after_ = seq; }
  // A line from the subscription: events and messages are kept, the rest
  // (markers, snapshots) ignored. Returns whether it may have changed leases.
  bool on_line(const boost::json::object& line, TopClock::time_point now);

  const std::string& server() const { return server_; }
  const std::string& socket() const { return socket_; }
  bool connected() const { return connected_; }
  const std::string& problem() const { return problem_; }
  const std::vector<TopAgent>& agents() const { return agents_; }
  // Sorted by run_id, then expiry.
  const std::vector<TopLease>& leases() const { return leases_; }
  // Newest first.
  const std::deque<TopLine>& events() const { return events_; }
  const std::deque<TopLine>& messages() const { return messages_; }
  std::uint64_t last_seq() const { return last_seq_; }
  const RateWindow& event_rate() const { return event_rate_; }
  const RateWindow& message_rate() const { return message_rate_; }
  const RateWindow& event_minute() const { return event_minute_; }
  const RateWindow& message_minute() const { return message_minute_; }
  // Bumped by every change the view shows (time passing aside).
  std::uint64_t version() const { return version_; }

 private:
  void note_agent(const std::string& id);
  void keep(std::deque<TopLine>& lines, TopLine line);

  std::string server_;
  std::string socket_;
  bool connected_ = false;
  std::string problem_;
  bool agents_from_status_ = false;
  std::vector<TopAgent> agents_;
  std::vector<TopLease> leases_;
  std::deque<TopLine> events_;
  std::deque<TopLine> messages_;
  std::uint64_t live_after_ = 0;
  std::uint64_t last_seq_ = 0;
  RateWindow event_rate_{std::chrono::seconds(10)};
  RateWindow message_rate_{std::chrono::seconds(10)};
  RateWindow event_minute_{std::chrono::seconds(60)};
  RateWindow message_minute_{std::chrono::seconds(60)};
  std::uint64_t version_ = 0;
};

// The text of a message for one line: its kind, then its summary, content,
// reason or text field (else the rest of it as JSON), stripped of controls.
std::string message_summary(const boost::json::object& message);

}  // namespace coordd
