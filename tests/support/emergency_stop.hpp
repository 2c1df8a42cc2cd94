// The emergency stop: every live ChildProcess is tracked here, so that on
// SIGINT, SIGTERM or SIGHUP the handler install_emergency_stop() sets up can
// SIGKILL them all (each one's process group, when it has one) and then die of
// the same signal. Any thread: the tracking is lock-free.
#pragma once

#include <sys/types.h>

namespace coordd::support {

// Installs the SIGINT/SIGTERM/SIGHUP handlers. Once, from main().
void install_emergency_stop();

// Used by ChildProcess: `target` is what kill(2) gets (a pid, or -pgid).
void track_child(pid_t target);
void untrack_child(pid_t target);

}  // namespace coordd::support
