// StreamChecker: checks what one subscriber received against issue 4's
// guarantees, in the manner of etcd's watch validators. It is fed every line
// of one logical subscription in arrival order -- across reconnections, each
// new connection starting with its `subscribed` reply -- and checks:
//   ordered   seqs strictly increase across snapshot events, live events and
//             the snapshot_end/synced bookmarks (a bookmark may equal the seq
//             of the event before it, never fall below it);
//   unique    no event seq is applied twice;
//   lagged    a `lagged` marker covers only seqs not delivered, and every
//             later event on that connection lies past its range;
//   reliable  applying snapshot + deltas (added/modified upsert, removed
//             erases, expired changes nothing) reproduces the directory's
//             final state; after a lag the subscriber must have resumed or
//             resynced, and the state must still match.
// One thread at a time; it never fails the test itself, it reports problems.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coordd::lossless {

namespace json = boost::json;

// Records as the checker compares them: kind directory ("reservations") ->
// record id -> the record's JSON object.
using RecordsByKind = std::map<std::string, std::map<std::string, json::object>>;

// Every record under `coordination` (<repo>/.muse/coordination), read the way
// coordd reads them: <kind dir>/<id>.json, dot files and other names skipped.
// A file that is not a JSON object is reported in `problems`.
RecordsByKind read_records(const std::filesystem::path& coordination,
                           std::vector<std::string>& problems);

// Which records a subscription's filter lets through: (kind dir, record).
using RecordFilter = std::function<bool(std::string_view kind_dir, const json::object& record)>;
RecordsByKind only_matching(const RecordsByKind& records, const RecordFilter& filter);

// The records of a `list` reply, keyed the same way.
RecordsByKind records_of_list(const json::object& list_reply);

// How `got` ("here": a reconstructed state, a list) differs from `expected`
// (the disk), one line per record, at most 20 then a count; empty when equal.
std::vector<std::string> differences(const RecordsByKind& got, const RecordsByKind& expected);

class StreamChecker {
 public:
  // One line received for this subscription: its `subscribed` reply (which
  // starts a connection), event, snapshot_end, synced and lagged lines. A
  // `subscribed` with "resumed":true is taken to resume from resume_point().
  void receive(const json::object& line);

  // Where a resume must start: the last seq vouched for, or, after a lag,
  // the seq just before the first one dropped.
  std::uint64_t resume_point() const;
  // A lag marker arrived and no resume or resync has repaired it yet.
  bool lag_pending() const { return lag_ != std::nullopt; }

  // The problems found in the stream, then, when the stream ends in a
  // bookmark with nothing owed, the differences between the reconstructed
  // state and `expected` (already filtered to what this subscription sees).
  // Empty means every guarantee held.
  std::vector<std::string> verify(const RecordsByKind& expected) const;

  // The problems found in the stream itself so far (order, uniqueness, lag
  // ranges), for a stream that never reaches a final state.
  const std::vector<std::string>& stream_problems() const { return problems_; }

  const RecordsByKind& state() const { return state_; }
  std::uint64_t events_received() const { return events_received_; }
  std::uint64_t lag_markers() const { return lag_markers_; }
  std::uint64_t resumes() const { return resumes_; }
  std::uint64_t resyncs() const { return resyncs_; }

 private:
  enum class Phase { kUnsubscribed, kSnapshot, kLive };
  struct Lag {
    std::uint64_t from_seq = 0;
    std::uint64_t to_seq = 0;
  };

  void on_subscribed(const json::object& line);
  void on_event(const json::object& line);
  void on_snapshot_end(const json::object& line);
  void on_bookmark(std::uint64_t seq, std::string_view what);
  void on_lagged(const json::object& line);
  void apply(RecordsByKind& state, const json::object& event, std::uint64_t seq);
  void problem(std::string text);

  Phase phase_ = Phase::kUnsubscribed;
  std::optional<std::uint64_t> sub_;
  bool expect_resync_ = false;  // the reply said resumed:false
  std::uint64_t subscribed_seq_ = 0;
  std::uint64_t last_seq_ = 0;         // ordering baseline of this connection
  std::uint64_t applied_through_ = 0;  // the last seq the state reflects
  bool ends_in_bookmark_ = false;
  bool has_state_ = false;
  std::optional<Lag> lag_;
  std::map<std::uint64_t, std::string> applied_;  // seq -> "kind/id", since the last resync
  RecordsByKind state_;
  RecordsByKind snapshot_;
  std::vector<std::string> problems_;
  std::uint64_t events_received_ = 0;
  std::uint64_t lag_markers_ = 0;
  std::uint64_t resumes_ = 0;
  std::uint64_t resyncs_ = 0;
};

}  // namespace coordd::lossless
