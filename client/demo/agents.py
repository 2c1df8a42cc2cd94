#!/usr/bin/env python3
"""Simulated agents for the coordd demo (Python 3 standard library only).

Three agents share a repository through Muse's coordination records under
<repo>/.muse/coordination/, written the way Muse writes them: a temp file in
the same directory, then an atomic rename.

  agent-ada  reserves four billing symbols, announces an edit, sends
             heartbeats that extend her reservation, then releases it.
  agent-bob  reserves auth.py::verify_token and then goes silent: no
             heartbeat, so his reservation expires by ttl.
  agent-cyd  reserves two search symbols, announces a refactor, withdraws the
             announcement, then releases.

Usage: agents.py REPO [REPO REPO] [--short]    (~25 s, or ~7 s with --short)

With three repositories (clones of one repository on different hosts of a
swarm: client/demo/swarm_demo.sh), agent-ada writes in the first, agent-bob
in the second and agent-cyd in the third.
"""

import argparse
import datetime
import hashlib
import json
import os
import pathlib
import signal
import sys
import tempfile
import time


class Coordination:
    """Writes coordination records under <repo>/.muse/coordination/."""

    def __init__(self, repo: pathlib.Path) -> None:
        self.base = repo / ".muse" / "coordination"

    def write(self, kind_dir: str, record_id: str, data: dict) -> None:
        directory = self.base / kind_dir
        directory.mkdir(parents=True, exist_ok=True)
        # Temp file + rename: a watcher never sees a half-written record.
        fd, temp = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(data, out)
            os.replace(temp, directory / f"{record_id}.json")
        except BaseException:
            pathlib.Path(temp).unlink(missing_ok=True)
            raise

    def remove(self, kind_dir: str, record_id: str) -> None:
        (self.base / kind_dir / f"{record_id}.json").unlink(missing_ok=True)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def content_id(*parts: str) -> str:
    """A full content-addressed id, as Muse's ids are (64 hex digits)."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class Agent:
    def __init__(self, coord: Coordination, run_id: str, branch: str, say) -> None:
        self.coord, self.run_id, self.branch, self.say = coord, run_id, branch, say
        self.reservation_id = ""
        self.intent_id = ""
        self.addresses: list[str] = []

    def reserve(self, addresses: list[str], ttl: float) -> None:
        created = now()
        self.addresses = addresses
        self.reservation_id = content_id("reservation", self.run_id, *addresses, created.isoformat())
        self.say(f"{self.run_id} reserves {', '.join(addresses)} for {ttl:.0f}s")
        self.coord.write("reservations", self.reservation_id, {
            "reservation_id": self.reservation_id,
            "run_id": self.run_id,
            "branch": self.branch,
            "addresses": addresses,
            "created_at": created.isoformat(),
            "expires_at": (created + datetime.timedelta(seconds=ttl)).isoformat(),
            "operation": "edit",
        })

    def intend(self, operation: str, detail: str) -> None:
        created = now()
        self.intent_id = content_id("intent", self.reservation_id, operation, created.isoformat())
        self.say(f"{self.run_id} announces: {operation} {self.addresses[0]}")
        self.coord.write("intents", self.intent_id, {
            "intent_id": self.intent_id,
            "reservation_id": self.reservation_id,
            "run_id": self.run_id,
            "branch": self.branch,
            "addresses": self.addresses[:1],
            "operation": operation,
            "created_at": created.isoformat(),
            "detail": detail,
        })

    def withdraw_intent(self) -> None:
        self.say(f"{self.run_id} withdraws its announcement")
        self.coord.remove("intents", self.intent_id)

    def heartbeat(self, extend: float) -> None:
        # One heartbeat file per reservation, rewritten: added, then modified.
        until = (now() + datetime.timedelta(seconds=extend)).isoformat()
        self.say(f"{self.run_id} is still working: heartbeat")
        self.coord.write("heartbeats", content_id("heartbeat", self.reservation_id), {
            "reservation_id": self.reservation_id,
            "run_id": self.run_id,
            "extended_expires_at": until,
        })

    def release(self, reason: str) -> None:
        self.say(f"{self.run_id} is done: releases its reservation ({reason})")
        self.coord.write("releases", content_id("release", self.reservation_id), {
            "reservation_id": self.reservation_id,
            "run_id": self.run_id,
            "reason": reason,
        })


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repos", type=pathlib.Path, nargs="+", metavar="REPO",
                        help="repository holding .muse/; or three, one per agent")
    parser.add_argument("--short", action="store_true", help="run in ~7 s instead of ~25 s")
    parser.add_argument("--hosts", metavar="H1,H2,H3",
                        help="with three repositories: the hosts they are on, for the narration")
    args = parser.parse_args()
    if len(args.repos) not in (1, 3):
        parser.error("give one repository, or three (one per agent)")

    scale = 0.3 if args.short else 1.25
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")

    def say(text: str) -> None:
        for agent, host in zip(("agent-ada", "agent-bob", "agent-cyd"), hosts):
            text = text.replace(agent, f"{agent}@{host}")
        print(f"\033[2m  » {text}\033[0m" if colour else f"  » {text}", flush=True)

    repos = args.repos * 3 if len(args.repos) == 1 else args.repos
    hosts = args.hosts.split(",") if args.hosts else []
    if hosts and (len(hosts) != 3 or len(args.repos) != 3):
        parser.error("--hosts names three hosts, one per repository, and needs three repositories")
    ada = Agent(Coordination(repos[0]), "agent-ada", "feature/billing", say)
    bob = Agent(Coordination(repos[1]), "agent-bob", "main", say)
    cyd = Agent(Coordination(repos[2]), "agent-cyd", "feature/search", say)

    # (seconds from start at full length, action)
    timeline = [
        (0.0, lambda: ada.reserve(["billing.py::compute_total", "billing.py::apply_discount",
                                   "billing.py::Invoice", "billing.py::Invoice.total"], ttl=30 * scale)),
        (1.5, lambda: ada.intend("edit", "round totals half-even")),
        (3.0, lambda: bob.reserve(["auth.py::verify_token"], ttl=7 * scale)),
        (4.0, lambda: bob.intend("refactor", "split token parsing")),
        (5.5, lambda: cyd.reserve(["search.py::rank", "search.py::Index"], ttl=30 * scale)),
        (6.5, lambda: cyd.intend("rename", "rank -> score")),
        (8.0, lambda: ada.heartbeat(extend=30 * scale)),
        (9.5, lambda: say("agent-bob has gone silent: with no heartbeat, its reservation runs out")),
        (12.0, lambda: cyd.withdraw_intent()),
        (13.5, lambda: ada.heartbeat(extend=30 * scale)),
        (16.0, lambda: cyd.release("completed")),
        (19.0, lambda: ada.release("completed")),
    ]
    start = time.monotonic()
    for at, action in timeline:
        delay = start + at * scale - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        action()
    time.sleep(0.5 * scale)  # let the watch print the last release before we say so
    say("all agents are done")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
