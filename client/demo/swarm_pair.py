#!/usr/bin/env python3
"""An orchestrator and a worker on two coordd of a swarm, talking over the
agent message bus (Python 3 standard library only).

  orchestrator  says hello on the first coordd's socket and sends the
                worker an additional_context message (task T-1).
  worker-1      says hello on the second coordd's socket, waits for that
                message, does its part (reserves a symbol in its own clone,
                then releases it, as agents.py's agents do) and answers
                with task_completed.

Each agent has its own connection and thread; they meet only through coordd,
which carries the messages between the two hosts through NATS. Both print
what they receive, with the sender's host (from_host). Exit 0 when each
received its message from the other host within the deadline, 1 otherwise.

Usage: swarm_pair.py SOCK_A SOCK_B REPO_B --hosts A,B [--short] [--deadline S]
  SOCK_A  the orchestrator's coordd;  SOCK_B, REPO_B  the worker's coordd and clone
Both coordd must report status.cluster.messages.ready first (swarm_demo.sh
waits for it).
"""

import argparse
import json
import os
import pathlib
import signal
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from agents import Agent, Coordination  # noqa: E402  (the demo's record writer)

ORCHESTRATOR, WORKER, TASK = "orchestrator", "worker-1", "T-1"


class Connection:
    """One NDJSON connection to coordd; lines are read against a deadline."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        # As coordctl does: a socket path alone proves nothing about who serves it.
        uid = struct.unpack("3i", self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
        if uid not in (os.getuid(), 0):
            raise OSError(f"{path} is served by uid {uid}, not by you")
        self.buffer = b""

    def send(self, request: dict) -> None:
        self.sock.sendall((json.dumps(request) + "\n").encode())

    def line(self, deadline: float) -> dict | None:
        """The next line, or None when the deadline passes first."""
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return None
            if not chunk:
                raise OSError("coordd closed the connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def request(self, request: dict, deadline: float, inbox: list) -> dict:
        """Sends `request` and returns its reply; message lines that arrive
        meanwhile are kept in `inbox`."""
        self.send(request)
        while True:
            reply = self.line(deadline)
            if reply is None:
                raise TimeoutError(f"no reply to {request['op']} in time")
            if reply.get("type") == "message":
                inbox.append(reply)
            else:
                return reply

    def message(self, deadline: float, inbox: list) -> dict | None:
        """The next message line (one kept in `inbox` first), or None."""
        if inbox:
            return inbox.pop(0)
        while (msg := self.line(deadline)) is not None:
            if msg.get("type") == "message":
                return msg
        return None


def hello(conn: Connection, agent: str, deadline: float) -> None:
    reply = conn.request({"op": "hello", "proto": 1, "client": "swarm_pair/1", "agent": agent},
                         deadline, [])
    if reply.get("type") != "hello":
        raise RuntimeError(f"hello as {agent} refused: {reply}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sock_a", help="the orchestrator's coordd socket")
    parser.add_argument("sock_b", help="the worker's coordd socket")
    parser.add_argument("repo_b", type=pathlib.Path, help="the worker's clone")
    parser.add_argument("--hosts", required=True, metavar="A,B", help="the two hosts, for the narration")
    parser.add_argument("--short", action="store_true", help="the --short pace of agents.py")
    parser.add_argument("--deadline", type=float, default=15.0, metavar="S",
                        help="seconds each agent waits for its message (default 15)")
    args = parser.parse_args()
    hosts = args.hosts.split(",")
    if len(hosts) != 2:
        parser.error("--hosts names two hosts")
    host_a, host_b = hosts

    scale = 0.3 if args.short else 1.25
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    lock = threading.Lock()
    orch_at, worker_at = f"{ORCHESTRATOR}@{host_a}", f"{WORKER}@{host_b}"

    def say(text: str, mark: str = "✉", style: str = "36") -> None:
        with lock:
            print(f"\033[{style}m  {mark} {text}\033[0m" if colour else f"  {mark} {text}", flush=True)

    def received(who: str, msg: dict) -> None:
        say(f"{who} received from {msg['from']}, from_host {msg.get('from_host')} (seq {msg['seq']}): "
            + json.dumps(msg["message"], ensure_ascii=False, separators=(",", ":")))

    failures: list[str] = []
    worker_ready = threading.Event()
    start = time.monotonic()
    send_at = start + 10.5 * scale  # mid-way through agents.py's timeline

    def worker() -> None:
        conn = Connection(args.sock_b)
        hello(conn, WORKER, time.monotonic() + 10)
        worker_ready.set()
        inbox: list = []
        msg = conn.message(send_at + args.deadline, inbox)
        if msg is None:
            failures.append(f"{WORKER} on {host_b} received no message within {args.deadline:.0f} s")
            return
        received(worker_at, msg)
        body = msg["message"]
        if (body.get("kind"), msg.get("from"), msg.get("from_host")) != ("additional_context", ORCHESTRATOR, host_a):
            failures.append(f"{WORKER} expected additional_context from {ORCHESTRATOR} on {host_a}, got {msg}")
            return
        # Its part of the task: a reservation in its own clone, then its release.
        me = Agent(Coordination(args.repo_b), WORKER, "feature/billing-tests",
                   say=lambda text: say(text.replace(WORKER, worker_at), "»", "2"))
        me.reserve(["tests/test_billing.py::test_round_half_even"], ttl=30 * scale)
        time.sleep(2.0 * scale)
        me.release("completed")
        say(f"{worker_at} sends {orch_at} task_completed (task {TASK})")
        reply = conn.request({"op": "send", "to": ORCHESTRATOR, "message": {
            "kind": "task_completed", "task_id": body.get("task_id", TASK),
            "summary": "test_round_half_even added and passing"}}, time.monotonic() + 10, inbox)
        if reply.get("type") != "sent":
            failures.append(f"{WORKER}'s task_completed was refused: {reply}")

    def orchestrator() -> None:
        conn = Connection(args.sock_a)
        hello(conn, ORCHESTRATOR, time.monotonic() + 10)
        time.sleep(max(0.0, send_at - time.monotonic()))
        if not worker_ready.wait(10):
            failures.append(f"{WORKER} did not say hello on {host_b}")
            return
        inbox: list = []
        request = {"op": "send", "to": WORKER, "message": {
            "kind": "additional_context", "task_id": TASK,
            "content": "compute_total now rounds half-even; add a test for it in tests/test_billing.py"}}
        say(f"{orch_at} sends {worker_at} additional_context (task {TASK})")
        # The worker's hello reaches host-a through the swarm's agent registry;
        # until it has, host-a does not know the name (not_subscribed).
        deadline = send_at + args.deadline
        while (reply := conn.request(request, deadline, inbox)).get("code") == "not_subscribed":
            time.sleep(0.1)
        if reply.get("type") != "sent":
            failures.append(f"{ORCHESTRATOR}'s additional_context was refused: {reply}")
            return
        msg = conn.message(time.monotonic() + 2.0 * scale + args.deadline, inbox)
        if msg is None:
            failures.append(f"{ORCHESTRATOR} on {host_a} received no task_completed within {args.deadline:.0f} s")
            return
        received(orch_at, msg)
        body = msg["message"]
        want = ("task_completed", TASK, WORKER, WORKER, host_b)
        have = (body.get("kind"), body.get("task_id"), body.get("agent_id"), msg.get("from"), msg.get("from_host"))
        if have != want:
            failures.append(f"{ORCHESTRATOR} expected {want} (kind, task_id, agent_id, from, from_host), got {have}")

    def run(agent) -> None:
        try:
            agent()
        except Exception as e:  # noqa: BLE001  (reported, and the exit says so)
            failures.append(f"{agent.__name__}: {type(e).__name__}: {e}")
            worker_ready.set()

    threads = [threading.Thread(target=run, args=(a,), daemon=True) for a in (worker, orchestrator)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for failure in failures:
        print(f"swarm_pair: {failure}", file=sys.stderr)
    if not failures:
        say(f"{orch_at} has its answer: one message each way between {host_a} and {host_b}")
    return 1 if failures else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
