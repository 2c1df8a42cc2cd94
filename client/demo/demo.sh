#!/usr/bin/env bash
# The coordd demo: starts coordd on a temporary repository, tails it with
# `coordctl watch` (text mode, on this terminal) while simulated agents
# (agents.py) reserve symbols, send heartbeats, release, and let one
# reservation expire; then an orchestrator hands work to two agents written
# in shell (shell_agent.sh: coordctl recv, reserve, send, release) while
# `coordctl tap --all` shows the messages; then shows `coordctl list`, stops
# everything and removes the temporary files. Nothing is left running, even on Ctrl-C.
#
# Usage: client/demo/demo.sh BUILD_DIR [--short]
#   BUILD_DIR  a meson build directory holding daemon/coordd and client/coordctl
#   --short    run the agents in ~7 s instead of ~25 s (used by `meson test`)
set -euo pipefail

usage() { echo "usage: $0 BUILD_DIR [--short]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
build_dir=$1
short=""
case "${2:-}" in
  "") ;;
  --short) short=--short ;;
  *) usage ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
coordd=$(realpath -e "$build_dir/daemon/coordd" 2>/dev/null) || {
  echo "demo: no coordd in $build_dir/daemon/; build first (ninja -C $build_dir)" >&2; exit 1; }
coordctl=$(realpath -e "$build_dir/client/coordctl" 2>/dev/null) || {
  echo "demo: no coordctl in $build_dir/client/; build first (ninja -C $build_dir)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "demo: python3 is required (apt-get install python3)" >&2; exit 1; }

# Under /tmp, not $TMPDIR: a Unix socket path must stay short.
work=$(mktemp -d /tmp/coordd-demo.XXXXXX)
repo=$work/repo
socket=$work/run/coordd.sock
mkdir -p "$repo/.muse/coordination"

coordd_pid="" watch_pid="" recorder_pid="" agents_pid="" tap_pid="" worker_pids=""

# stop PID: a process we started goes (SIGTERM, then SIGKILL if it lingers).
# shellcheck source=demo_lib.sh
source "$here/demo_lib.sh"

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop "$agents_pid"
  for pid in $worker_pids; do stop "$pid"; done
  stop "$tap_pid"
  stop "$watch_pid"
  stop "$recorder_pid"
  stop "$coordd_pid"
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted; cleaning up"; exit 130' INT
trap 'exit 143' TERM


daemon_alive() {
  kill -0 "$coordd_pid" 2>/dev/null || { echo "demo: coordd exited:" >&2; cat "$work/coordd.log" >&2; exit 1; }
}
daemon_ready() { daemon_alive && "$coordctl" ping --socket "$socket" >/dev/null 2>&1; }
subscribers() {
  "$coordctl" status --json --socket "$socket" 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["subscriptions"])' 2>/dev/null
}
watchers_subscribed() { [[ $(subscribers) -ge 2 ]]; }
expiries_seen() { [[ $(grep -c '"event_type": "expired"' "$work/events.ndjson" || true) -ge 3 ]]; }
bus_expiries_seen() { [[ $(grep -c '"event_type": "expired"' "$work/events.ndjson" || true) -ge 5 ]]; }
taps_subscribed() { [[ $(subscribers) -ge 3 ]]; }
workers_waiting() {
  "$coordctl" status --json --socket "$socket" 2>/dev/null |
    python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["agents"]["connected"] < 2)' 2>/dev/null
}

echo "coordd demo: a temporary repository at $repo"
echo "  coordd     $coordd --root $repo --socket $socket"
echo "  coordctl   watch (below) shows each coordination event as agents write records"

"$coordd" --root "$repo" --socket "$socket" --state-dir "$work/state" --log-level warn 2>"$work/coordd.log" &
coordd_pid=$!
wait_for 10 daemon_ready || { echo "demo: coordd did not come up" >&2; cat "$work/coordd.log" >&2; exit 1; }

# The watch people see, and a JSON recorder the demo checks itself with.
"$coordctl" watch --require-daemon --root "$repo" --socket "$socket" &
watch_pid=$!
"$coordctl" watch --json --require-daemon --root "$repo" --socket "$socket" >"$work/events.ndjson" &
recorder_pid=$!
wait_for 10 watchers_subscribed || { echo "demo: coordctl watch did not subscribe" >&2; exit 1; }

python3 "$here/agents.py" "$repo" $short &
agents_pid=$!
wait "$agents_pid"
agents_pid=""

# Two releases and one ttl expiry: wait until the watchers have them all.
wait_for 15 expiries_seen || { echo "demo: the expiries never arrived" >&2; exit 1; }

# Act 2: the message bus from the shell. An orchestrator (this script, with
# coordctl send and recv) hands a task to each of two shell agents
# (shell_agent.sh: recv, reserve, progress_report, release, task_completed);
# the watch above shows their reservations, a tap shows every message.
echo
echo "Act 2: an orchestrator hands work to two agents written in shell (client/demo/shell_agent.sh);"
echo "       coordctl tap --all prints every message (seq  from -> to  kind  fields)"
export PATH="$(dirname "$coordctl"):$PATH" COORDD_SOCKET=$socket MUSE_REPO_ROOT=$repo
[[ -n $short ]] && export SHELL_AGENT_WORK_SECONDS=0.3
"$coordctl" tap --all &
tap_pid=$!
wait_for 10 taps_subscribed || { echo "demo: coordctl tap did not subscribe" >&2; exit 1; }
"$coordctl" recv --agent orchestrator >/dev/null || [[ $? -eq 3 ]]   # opens its mailbox
bash "$here/shell_agent.sh" worker-1 orchestrator &
worker_pids=$!
bash "$here/shell_agent.sh" worker-2 orchestrator &
worker_pids="$worker_pids $!"
wait_for 10 workers_waiting || { echo "demo: the shell agents did not say hello" >&2; exit 1; }
for n in 1 2; do
  "$coordctl" send --as orchestrator --to "worker-$n" --kind x-task --field task_id="t$n" \
    --field address="src/billing.py::part$n" >/dev/null
done
completed=0
for _ in $(seq 20); do
  while reply=$("$coordctl" recv --agent orchestrator --max 1 --wait 1 --json); do
    [[ $reply == *'"task_completed"'* ]] && completed=$((completed + 1))
  done
  [[ $completed -ge 2 ]] && break
done
[[ $completed -ge 2 ]] || { echo "demo: the shell agents did not complete their tasks" >&2; exit 1; }
for n in 1 2; do
  "$coordctl" send --as orchestrator --to "worker-$n" --kind cancel --field reason="all done" >/dev/null
done
for pid in $worker_pids; do wait "$pid"; done
worker_pids=""
wait_for 10 bus_expiries_seen || { echo "demo: the shell agents' releases never arrived" >&2; exit 1; }
stop "$tap_pid"; tap_pid=""
stop "$watch_pid"; watch_pid=""
stop "$recorder_pid"; recorder_pid=""

echo
echo "What coordd holds now (coordctl list):"
"$coordctl" list --root "$repo" --socket "$socket"

events=$(wc -l <"$work/events.ndjson")
echo
echo "demo: done — $events events streamed; stopping coordd and removing $work"
