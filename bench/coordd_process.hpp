// CoorddProcess: the coordd under test, started on a Workspace with every
// path as a flag and $NOTIFY_SOCKET pointing at a datagram socket of ours, so
// that start-to-ready is measured from fork+exec to its READY=1 datagram
// (sent once the initial scan is done and the socket accepts). Stopped (and
// reaped) on destruction. Start and stop from the main thread only; clients
// from any thread, one per thread.
#pragma once

#include <sys/types.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/child_options.hpp"
#include "client/coord_client.hpp"
#include "tests/support/workspace.hpp"

namespace coordd::bench {

using support::Workspace;

class CoorddProcess {
 public:
  // Throws std::runtime_error (with the tail of its log) when coordd exits or
  // has not said READY=1 within `ready_timeout`.
  CoorddProcess(const std::string& binary, const Workspace& workspace,
                std::vector<std::string> extra_flags = {},
                std::chrono::seconds ready_timeout = std::chrono::seconds(120));
  ~CoorddProcess();
  CoorddProcess(const CoorddProcess&) = delete;
  CoorddProcess& operator=(const CoorddProcess&) = delete;

  pid_t pid() const { return child_->pid(); }
  // From just before fork to the READY=1 datagram, in ns.
  std::int64_t start_to_ready_ns() const {
    return std::chrono::nanoseconds(ready_at_ - child_->started_at()).count();
  }
  const std::string& socket() const { return socket_; }
  std::string log_tail() const;

  // A new connection; throws std::runtime_error when it cannot connect.
  CoordClient connect() const;
  // A new connection holding one subscription with these filters, read
  // through its snapshot_end (its snapshot events are counted, not kept).
  CoordClient subscribe(boost::json::object filters, std::size_t* snapshot_events = nullptr) const;

 private:
  std::string socket_;
  std::string log_path_;
  int notify_fd_ = -1;
  ChildProcess::Clock::time_point ready_at_;
  std::unique_ptr<ChildProcess> child_;
};

// Sends `request` and returns its reply; throws std::runtime_error on an
// error reply or when none comes within `timeout`.
boost::json::object call_or_throw(CoordClient& client, boost::json::object request,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace coordd::bench
