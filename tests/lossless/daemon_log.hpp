// Waiting on what coordd logs. The fixture's daemon writes its log under the
// workspace's scratch directory; an inotify watch on that directory wakes the
// wait whenever the log grows, so nothing polls or sleeps. Main thread: a
// broken watch fails the test.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "tests/integration/daemon_fixture.hpp"

namespace coordd::lossless {

// How many times `what` occurs in `text`.
std::size_t occurrences(std::string_view text, std::string_view what);

// Waits until the daemon's log holds `what` at least `times` times; false
// when `timeout` passes first.
bool wait_for_log(const integration::Workspace& ws, const integration::DaemonProcess& daemon,
                  std::string_view what, std::size_t times, std::chrono::milliseconds timeout);

}  // namespace coordd::lossless
