# Shared by the demo scripts (sourced, not run).

# stop PID: SIGTERM, up to 5 s for it to go, then SIGKILL; reaps it. A pid
# that is empty or already gone is fine.
stop() {
  local pid=$1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# wait_for SECONDS COMMAND...: polls COMMAND every 50 ms for up to `seconds`.
wait_for() {
  local seconds=$1; shift
  local tries=$((seconds * 20))
  for _ in $(seq "$tries"); do
    "$@" && return 0
    sleep 0.05
  done
  return 1
}
