// SyncBarrier: lets a client wait until every change made to the watched
// directories before its request has been processed (watchman's cookie
// technique). It writes a uniquely named cookie file into each root's
// coordination directory and completes once the watcher has reported all of
// them: the kernel queue is ordered, so every earlier change was handled
// first. Roots without a coordination directory, and backends that cannot
// order cookies, are brought current by an immediate rescan instead.
// Reactor thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "daemon/engine/clock.hpp"
#include "daemon/engine/engine.hpp"
#include "daemon/engine/file_system.hpp"

namespace coordd {

// Cookie names start with this; they are dot files, so never records.
inline constexpr std::string_view kCookiePrefix = ".coordd-cookie-";

// How a barrier ended.
struct SyncOutcome {
  bool in_time = true;
  // When !in_time: the roots whose cookie never came back.
  std::vector<std::string> late_roots;
  // Roots that cannot be watched right now (Monitor::degraded_reason): read
  // once by a rescan, without any promise about what happens next in them.
  std::vector<std::pair<std::string, std::string>> degraded;  // root, reason
};

class SyncBarrier {
 public:
  using Done = std::function<void(SyncOutcome)>;

  SyncBarrier(boost::asio::io_context& io, Engine& engine, FileSystem& fs);
  // Whether a root's backend orders cookies (Watcher::orders_cookies()).
  void set_cookie_ordering(std::function<bool(RootId)> ordered) {
    cookies_ordered_ = std::move(ordered);
  }
  // Why a root cannot be watched right now ("" when it is healthy).
  void set_root_health(std::function<std::string(RootId)> degraded_reason) {
    degraded_reason_ = std::move(degraded_reason);
  }
  SyncBarrier(const SyncBarrier&) = delete;
  SyncBarrier& operator=(const SyncBarrier&) = delete;

  // Starts a barrier and returns its id; unless cancelled, `done` runs
  // exactly once (possibly before start returns): in time when every root is
  // current, else when `timeout` passed first. With `may_write_cookies`
  // false (a read-only client) no file is created: every root is rescanned.
  std::uint64_t start(std::chrono::milliseconds timeout, bool may_write_cookies, Done done);
  // Drops a barrier without running its `done` (its client went away) and
  // removes its cookies. Unknown or finished ids are ignored.
  void cancel(std::uint64_t id);
  // From the watcher (via the engine's cookie listener).
  void on_cookie(RootId root, std::string_view name);
  // Removes cookies left by crashed runs (their pid is gone).
  void remove_stray_cookies();
  void cancel_all();

  std::size_t pending() const { return barriers_.size(); }

 private:
  struct Barrier {
    std::map<std::string, RootId> waiting;  // cookie paths not yet seen
    std::unique_ptr<Alarm> timer;
    std::vector<std::pair<std::string, std::string>> degraded;
    Done done;
  };
  void finish(std::uint64_t id, bool in_time);
  void drop_cookies(const Barrier& barrier);

  boost::asio::io_context& io_;
  Engine& engine_;
  FileSystem& fs_;
  std::function<bool(RootId)> cookies_ordered_;
  std::function<std::string(RootId)> degraded_reason_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Barrier> barriers_;
  std::map<std::string, std::uint64_t> cookie_owner_;  // cookie path -> barrier
};

}  // namespace coordd
