#!/usr/bin/env bash
# The coordd demo: starts coordd on a temporary repository, tails it with
# `coordctl watch` (text mode, on this terminal) while simulated agents
# (agents.py) reserve symbols, send heartbeats, release, and let one
# reservation expire; then shows `coordctl list`, stops everything and
# removes the temporary files. Nothing is left running, even on Ctrl-C.
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

coordd_pid="" watch_pid="" recorder_pid="" agents_pid=""

# stop PID: a process we started goes (SIGTERM, then SIGKILL if it lingers).
# shellcheck source=demo_lib.sh
source "$here/demo_lib.sh"

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop "$agents_pid"
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
stop "$watch_pid"; watch_pid=""
stop "$recorder_pid"; recorder_pid=""

echo
echo "What coordd holds now (coordctl list):"
"$coordctl" list --root "$repo" --socket "$socket"

events=$(wc -l <"$work/events.ndjson")
echo
echo "demo: done — $events events streamed; stopping coordd and removing $work"
