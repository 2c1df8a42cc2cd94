#!/usr/bin/env bash
# The swarm demo, on one machine: a 3-node NATS JetStream cluster on loopback,
# three coordd instances as if on three hosts (host-a, host-b, host-c), each
# watching its own clone of one repository, and simulated agents (agents.py)
# spread over the hosts: agent-ada writes on host-a, agent-bob on host-b,
# agent-cyd on host-c. One watcher (swarm_watch.py) subscribes to host-a's
# coordd only and shows every event with its origin: the swarm's records
# reach it through NATS. Meanwhile an orchestrator agent on host-a and a
# worker on host-b (swarm_pair.py) talk over the agent message bus: the
# orchestrator sends additional_context, the worker reserves and releases a
# symbol in its clone and answers task_completed; each must receive its
# message, with the other's host as from_host, within 15 s. At the end every
# coordd's `list` must equal the union of the three clones' records.
# Everything it started is stopped, and its temporary files removed, on every
# exit (Ctrl-C too).
#
# Usage: client/demo/swarm_demo.sh BUILD_DIR [--short]
#   BUILD_DIR  a meson build directory holding daemon/coordd
#   --short    run the agents in ~7 s instead of ~25 s (used by `meson test`)
# Needs nats-server (Debian 12: apt-get install nats-server; .ci/bootstrap.sh
# installs it) and python3. Exit 0 on success, 1 when something is missing or
# fails, 2 for a bad command line.
set -euo pipefail

usage() { echo "usage: $0 BUILD_DIR [--short]   (--help: what it does)" >&2; exit 2; }
help() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0; }
[[ $# -ge 1 ]] || usage
[[ $1 == -h || $1 == --help ]] && help
build_dir=$1
short=""
case "${2:-}" in
  "") ;;
  --short) short=--short ;;
  -h|--help) help ;;
  *) usage ;;
esac
[[ $# -le 2 ]] || usage

fail() { echo "swarm demo: $*" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
coordd=$(realpath -e "$build_dir/daemon/coordd" 2>/dev/null) ||
  fail "no coordd in $build_dir/daemon/; build first (ninja -C $build_dir)"
command -v python3 >/dev/null || fail "python3 is required (apt-get install python3)"
nats_server=$(command -v nats-server) ||
  fail "nats-server is required (apt-get install nats-server, or run .ci/bootstrap.sh)"

hosts=(host-a host-b host-c)
# One repository, three clones, three spellings of its origin URL: coordd
# derives the same repo id from each, so the clones share their records.
origin_urls=(git@git.example.com:demo/shop.git https://git.example.com/demo/shop
             ssh://git@git.example.com/demo/shop.git)

# Under /tmp, not $TMPDIR: a Unix socket path must stay short.
work=$(mktemp -d /tmp/coordd-swarm.XXXXXX)
nats_pids=() coordd_pids=() watch_pid="" agents_pid="" pair_pid=""

# stop PID: a process we started goes (SIGTERM, then SIGKILL if it lingers).
# shellcheck source=demo_lib.sh
source "$here/demo_lib.sh"

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop "$agents_pid"
  stop "$pair_pid"
  stop "$watch_pid"
  local pid
  for pid in "${coordd_pids[@]}"; do stop "$pid"; done
  for pid in "${nats_pids[@]}"; do stop "$pid"; done
  if [[ $status -ne 0 && -n ${SWARM_DEMO_KEEP:-} ]]; then
    echo "swarm demo: kept $work (SWARM_DEMO_KEEP is set)" >&2
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'echo; echo "swarm demo: interrupted; cleaning up"; exit 130' INT
trap 'exit 143' TERM


show_log() { echo "--- last lines of $1:" >&2; tail -n 30 "$1" >&2 || true; }

# --- a 3-node NATS cluster on free loopback ports ----------------------------
# Nine distinct ports the kernel found free (all held until the last is
# chosen); nats-server binds them moments later.
read -r -a ports < <(python3 -c '
import socket
held = [socket.socket() for _ in range(9)]
for s in held: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))')
[[ ${#ports[@]} -eq 9 ]] || fail "could not pick free ports on 127.0.0.1"
client_port=("${ports[0]}" "${ports[1]}" "${ports[2]}")
monitor_port=("${ports[3]}" "${ports[4]}" "${ports[5]}")
route_port=("${ports[6]}" "${ports[7]}" "${ports[8]}")

for i in 0 1 2; do
  name=n$((i + 1))
  {
    echo "server_name: $name"
    echo "listen: 127.0.0.1:${client_port[i]}"
    echo "http: 127.0.0.1:${monitor_port[i]}"
    echo 'ping_interval: "1s"'
    echo "ping_max: 2"
    echo "jetstream { store_dir: \"$work/nats/$name\", max_memory_store: 64MB, max_file_store: 512MB }"
    echo "cluster {"
    echo "  name: coordd-demo"
    echo "  listen: 127.0.0.1:${route_port[i]}"
    echo "  routes: ["
    for peer in 0 1 2; do
      [[ $peer == "$i" ]] || echo "    nats-route://127.0.0.1:${route_port[peer]}"
    done
    echo "  ]"
    echo "}"
  } >"$work/$name.conf"
done
mkdir -p "$work/nats"
echo "swarm demo: everything lives in $work and is removed at the end"
echo "  NATS       3 JetStream nodes: nats://127.0.0.1:${client_port[0]}, :${client_port[1]}, :${client_port[2]}"
# All start before any is awaited: the meta leader needs a quorum.
for i in 0 1 2; do
  "$nats_server" -c "$work/n$((i + 1)).conf" >"$work/n$((i + 1)).log" 2>&1 &
  nats_pids+=($!)
done

# Healthy (GET /healthz) and agreeing on a JetStream meta leader (GET /jsz).
nats_ready() {
  local i=$1
  kill -0 "${nats_pids[i]}" 2>/dev/null || { show_log "$work/n$((i + 1)).log"; fail "nats-server n$((i + 1)) exited"; }
  python3 - "${monitor_port[i]}" <<'EOF'
import json, sys, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
try:
    with urllib.request.urlopen(base + "/healthz", timeout=1) as reply:
        if reply.status != 200:
            sys.exit(1)
    with urllib.request.urlopen(base + "/jsz", timeout=1) as reply:
        sys.exit(0 if json.load(reply).get("meta_cluster", {}).get("leader") else 1)
except OSError:
    sys.exit(1)
EOF
}
for i in 0 1 2; do
  wait_for 20 nats_ready "$i" || { show_log "$work/n$((i + 1)).log"; fail "nats-server n$((i + 1)) was not ready within 20 s"; }
done

# --- three coordd, one clone each --------------------------------------------
# One request on a socket, its one reply line on stdout.
ask() {
  python3 - "$1" "$2" <<'EOF'
import socket, sys
sock = socket.socket(socket.AF_UNIX)
sock.settimeout(20)
sock.connect(sys.argv[1])
sock.sendall(sys.argv[2].encode() + b"\n")
print(sock.makefile("r", encoding="utf-8").readline(), end="")
EOF
}
# Reads a status line on stdin; exit 0 when `test` (a Python expression over
# `c`, its cluster object, and `s`, the whole status) holds.
status_holds() {
  python3 -c '
import json, sys
try:
    s = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
c = s.get("cluster") or {}
sys.exit(0 if eval(sys.argv[1]) else 1)' "$1"
}
sock() { echo "$work/run-${hosts[$1]}/coordd.sock"; }
clone() { echo "$work/clone-${hosts[$1]}"; }

for i in 0 1 2; do
  repo=$(clone "$i")
  mkdir -p "$repo/.muse/coordination"
  if command -v git >/dev/null; then
    git init -q "$repo"
    git -C "$repo" remote add origin "${origin_urls[i]}"
  else  # all coordd reads of a clone is .git/config
    mkdir -p "$repo/.git"
    printf '[remote "origin"]\n\turl = %s\n' "${origin_urls[i]}" >"$repo/.git/config"
  fi
done

for i in 0 1 2; do
  # Its own NATS node first, then the others (the first listed is preferred).
  servers="nats://127.0.0.1:${client_port[i]}"
  for peer in 0 1 2; do
    [[ $peer == "$i" ]] || servers+=",nats://127.0.0.1:${client_port[peer]}"
  done
  "$coordd" --root "$(clone "$i")" --socket "$(sock "$i")" --state-dir none \
    --cluster "$servers" --cluster-name demo --host-id "${hosts[i]}" \
    --log-level info 2>"$work/coordd-${hosts[i]}.log" &
  coordd_pids+=($!)
  echo "  ${hosts[i]}     coordd --root $(clone "$i") --cluster $servers --host-id ${hosts[i]}"
  echo "             (its clone's origin is ${origin_urls[i]})"
done

coordd_alive() {
  kill -0 "${coordd_pids[$1]}" 2>/dev/null ||
    { show_log "$work/coordd-${hosts[$1]}.log"; fail "coordd on ${hosts[$1]} exited"; }
}
# Connected, its bucket found or made, and its first read of the swarm done.
joined() {
  coordd_alive "$1"
  ask "$(sock "$1")" '{"op":"status"}' 2>/dev/null |
    status_holds 'c.get("connected") and c.get("joined") and c["repos"] and all(r["caught_up"] for r in c["repos"])'
}
for i in 0 1 2; do
  wait_for 20 joined "$i" || { show_log "$work/coordd-${hosts[i]}.log"; fail "coordd on ${hosts[i]} did not join the swarm within 20 s"; }
done
repo_ids=$(for i in 0 1 2; do
  ask "$(sock "$i")" '{"op":"status"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["cluster"]["repos"][0]["repo_id"])'
done | sort -u)
[[ $(wc -l <<<"$repo_ids") == 1 ]] || fail "the clones did not agree on a repo id: $(echo $repo_ids)"
echo "  repo id    $repo_ids (derived by each coordd from its clone's origin URL)"
# The message layer (the agent registry and the message stream) set up.
messages_ready() {
  coordd_alive "$1"
  ask "$(sock "$1")" '{"op":"status"}' | status_holds '(c.get("messages") or {}).get("ready")'
}
for i in 0 1; do
  wait_for 20 messages_ready "$i" || { show_log "$work/coordd-${hosts[i]}.log"; fail "coordd on ${hosts[i]} did not get its agent messages ready within 20 s"; }
done

# --- the watcher on host-a, then the agents -----------------------------------
echo "  watcher    swarm_watch.py on host-a's socket: [origin] is the host that wrote the record"
echo "  messages   swarm_pair.py: orchestrator on host-a, worker-1 on host-b (✉ lines: what each sends and receives)"
echo
python3 "$here/swarm_watch.py" "$(sock 0)" --record "$work/events.ndjson" &
watch_pid=$!
subscribed() {
  kill -0 "$watch_pid" 2>/dev/null || fail "the watcher exited"
  ask "$(sock 0)" '{"op":"status"}' | status_holds 's["subscriptions"] >= 1'
}
wait_for 10 subscribed || fail "the watcher did not subscribe on host-a"

python3 "$here/agents.py" "$(clone 0)" "$(clone 1)" "$(clone 2)" --hosts "$(IFS=,; echo "${hosts[*]}")" $short &
agents_pid=$!
python3 "$here/swarm_pair.py" "$(sock 0)" "$(sock 1)" "$(clone 1)" --hosts "${hosts[0]},${hosts[1]}" \
  --deadline 15 $short &
pair_pid=$!
wait "$agents_pid" || fail "the agents failed"
agents_pid=""
wait "$pair_pid" || fail "the orchestrator and the worker did not exchange their messages (see swarm_pair above)"
pair_pid=""

# Two releases and bob's ttl expiry, each seen on host-a with its origin.
expiries_seen() {
  python3 - "$work/events.ndjson" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
expired = {(e["origin"], e.get("cause")) for e in lines if e.get("event_type") == "expired"}
want = {("host-a", "released"), ("host-b", "ttl"), ("host-c", "released")}
sys.exit(0 if want <= expired else 1)
EOF
}
wait_for 15 expiries_seen ||
  fail "host-a did not see the three expiries (host-a released, host-b ttl, host-c released); got:
$(grep '"expired"' "$work/events.ndjson" || true)"
stop "$watch_pid"; watch_pid=""

# --- every host holds the union of every clone's records ----------------------
# Each coordd's own changes published (none waiting), then on each a
# sync {"scope":"cluster"} and a list, compared with the three disks.
published() {
  coordd_alive "$1"
  ask "$(sock "$1")" '{"op":"status"}' | status_holds 'c["connected"] and c["backlog"] == 0 and c["in_flight"] == 0'
}
for i in 0 1 2; do
  wait_for 10 published "$i" || fail "coordd on ${hosts[i]} did not publish its changes within 10 s"
done
echo
echo "What each host's coordd holds after sync {\"scope\":\"cluster\"} (records by origin):"
python3 - "$work" "${hosts[@]}" <<'EOF' || fail "the hosts did not converge"
import json, os, pathlib, socket, sys
work, hosts = pathlib.Path(sys.argv[1]), sys.argv[2:]

def call(sock_path, request):
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(20)
    sock.connect(str(sock_path))
    sock.sendall((json.dumps(request) + "\n").encode())
    return json.loads(sock.makefile("r", encoding="utf-8").readline())

disks = set()
for host in hosts:
    base = work / f"clone-{host}" / ".muse" / "coordination"
    for path in base.glob("*/*.json"):
        data = json.loads(path.read_text())
        disks.add((host, path.parent.name, path.stem, json.dumps(data, sort_keys=True)))
ok = True
for host in hosts:
    sock_path = work / f"run-{host}" / "coordd.sock"
    synced = call(sock_path, {"op": "sync", "scope": "cluster", "timeout_ms": 10000})
    if synced["type"] != "synced":
        print(f"  {host}: sync failed: {synced}", file=sys.stderr)
        ok = False
        continue
    listed = call(sock_path, {"op": "list"})["records"]
    kind_dirs = {"reservation": "reservations", "intent": "intents", "release": "releases",
                 "heartbeat": "heartbeats", "task": "tasks", "claim": "claims",
                 "dependency": "dependencies"}
    have = {(r["origin"], kind_dirs[r["kind"]], r["id"], json.dumps(r["data"], sort_keys=True))
            for r in listed}
    by_origin = {h: sum(1 for r in listed if r["origin"] == h) for h in hosts}
    cluster = call(sock_path, {"op": "status"})["cluster"]
    print(f"  {host}: " + ", ".join(f"{n} from {h}" for h, n in by_origin.items()) +
          f"  (published {cluster['published']}, applied from others {cluster['remote_applied']},"
          f" rejected {cluster['remote_rejected']})")
    messages = cluster["messages"]
    print(f"  {' ' * len(host)}  agent messages through NATS: sent {messages['sent']},"
          f" received {messages['received']}, refused {messages['refused']}")
    if have != disks:
        ok = False
        print(f"  {host} differs from the clones: missing {sorted(disks - have)[:5]},"
              f" extra {sorted(have - disks)[:5]}", file=sys.stderr)
print(f"  the clones hold {len(disks)} records in all")
sys.exit(0 if ok else 1)
EOF

events=$(wc -l <"$work/events.ndjson")
echo
echo "swarm demo: done — host-a streamed $events lines from three origins; stopping 3 coordd and 3 nats-server"
