// WatchView: what one `coordctl watch` has printed so far (each record shown,
// and whether its lease was active) and the rule that keeps the printed
// stream continuous when its source changes: coordd restarted, its journal
// was compacted, this watch fell behind, or the watch went standalone.
// rebase() compares a fresh Baseline with what was shown and prints only what
// one continuous watch would have printed meanwhile; live() prints the events
// after it. Everything printed goes through the one handler, in Muse's
// order: kinds as .muse/coordination/ lists them, ids by code point. Main
// thread.
#pragma once

#include <boost/json/object.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "client/watch_plan.hpp"

namespace coordd {

class WatchView {
 public:
  // `print` receives each event to show; `plan` supplies the filters.
  WatchView(const WatchPlan& plan, EventHandler print);

  // The first call prints one `snapshot` per matching record; later calls
  // print the `added`, `removed`, `modified` and `expired` events that turn
  // what was shown into `baseline`. False: the handler said stop.
  bool rebase(const Baseline& baseline);
  // A live event from the source (already filtered by it): remembered, and
  // printed unless it is one Muse never prints (see WatchPlan::coordd_events).
  // False: the handler said stop.
  bool live(const boost::json::object& event);

  // Whether the first baseline was printed (the snapshot is over).
  bool started() const { return started_; }

 private:
  struct Shown {
    boost::json::object data;
    bool lease = false;
    bool active = false;
    // The record changed so that it no longer matches the filters: a
    // continuous watch hears nothing more of it (not even its removal)
    // until a change makes it match again.
    bool hidden = false;
  };
  using Key = std::pair<Kind, std::string>;  // ordered as Muse prints: kind, then id bytes

  bool matches(Kind kind, const boost::json::object& data) const;
  bool prints_expiry(Kind kind) const;
  bool print(std::string_view event_type, const Key& key, std::uint64_t seq,
             const boost::json::object& data, std::optional<std::string_view> cause = {});

  const WatchPlan& plan_;
  EventHandler print_;
  std::map<Key, Shown> shown_;
  bool started_ = false;
};

// Whether a record of `kind` with `data` is a lease as coordd counts them
// (a reservation, or a claim carrying expires_at), and, if so, whether its
// own expires_at is still ahead of `now`.
bool is_lease(Kind kind, const boost::json::object& data);
bool expires_after(const boost::json::object& data, WallTime now);

}  // namespace coordd
