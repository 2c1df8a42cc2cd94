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

#include "daemon/engine/clock.hpp"
#include "daemon/engine/engine.hpp"
#include "daemon/engine/file_system.hpp"

namespace coordd {

// Cookie names start with this; they are dot files, so never records.
inline constexpr std::string_view kCookiePrefix = ".coordd-cookie-";

class SyncBarrier {
 public:
  using Done = std::function<void(bool in_time)>;

  SyncBarrier(boost::asio::io_context& io, Engine& engine, FileSystem& fs);
  // Whether a root's backend orders cookies (Watcher::orders_cookies()).
  void set_cookie_ordering(std::function<bool(RootId)> ordered) {
    cookies_ordered_ = std::move(ordered);
  }
  SyncBarrier(const SyncBarrier&) = delete;
  SyncBarrier& operator=(const SyncBarrier&) = delete;

  // Starts a barrier; `done` runs exactly once: true when every root is
  // current, false when `timeout` passed first.
  void start(std::chrono::milliseconds timeout, Done done);
  // From the watcher (via the engine's cookie listener).
  void on_cookie(RootId root, std::string_view name);
  // Removes cookies left by crashed runs (their pid is gone).
  void remove_stray_cookies();
  void cancel_all();

  std::size_t pending() const { return barriers_.size(); }

 private:
  struct Barrier {
    std::set<std::string> waiting;  // cookie paths not yet seen
    std::unique_ptr<Alarm> timer;
    Done done;
  };
  void finish(std::uint64_t id, bool in_time);

  boost::asio::io_context& io_;
  Engine& engine_;
  FileSystem& fs_;
  std::function<bool(RootId)> cookies_ordered_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Barrier> barriers_;
  std::map<std::string, std::uint64_t> cookie_owner_;  // cookie path -> barrier
};

}  // namespace coordd
