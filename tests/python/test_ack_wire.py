"""What an acking Agent sends, against a scripted stand-in for coordd on a socket pair.

The real daemon's side of acknowledged delivery is tested in test_agent.py;
this pins the client's own half: which ``ack`` requests, and when.
"""

from __future__ import annotations

import json
import socket
import threading
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from coordd import Agent, Client


class ScriptedDaemon:
    """Answers every ``ack`` with ``acked`` and records the requests it was sent."""

    def __init__(self, end: socket.socket) -> None:
        self.end = end
        self.requests: List[Dict[str, Any]] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def deliver(self, *seqs: int) -> None:
        for seq in seqs:
            self._write({"type": "message", "seq": seq, "from": "orch", "to": "w1",
                         "message": {"kind": "x-task", "n": seq}})

    def _write(self, line: Dict[str, Any]) -> None:
        self.end.sendall(json.dumps(line).encode() + b"\n")

    def _serve(self) -> None:
        for raw in self.end.makefile("rb"):
            request = json.loads(raw)
            self.requests.append(request)
            self._write({"type": "acked", "req": request["req"], "acked": 1, "unacked": 0})

    def acks(self) -> List[Dict[str, Any]]:
        return [{k: v for k, v in r.items() if k != "req"} for r in self.requests]


@pytest.fixture
def agent_and_daemon() -> Iterator[Tuple[Agent, ScriptedDaemon]]:
    ours, theirs = socket.socketpair()
    client = Client("scripted")
    client._sock = ours
    yield Agent(client, "w1", acking=True), ScriptedDaemon(theirs)
    ours.close()
    theirs.close()


def test_recv_acks_exactly_what_it_returns_with_one_upto(
        agent_and_daemon: Tuple[Agent, ScriptedDaemon]) -> None:
    agent, daemon = agent_and_daemon
    daemon.deliver(5, 6, 7)
    assert [m["seq"] for m in agent.recv(max=1, timeout=5)] == [5]
    assert daemon.acks() == [{"op": "ack", "upto": 5}]
    assert [m["seq"] for m in agent.recv(max=2, timeout=5)] == [6, 7]
    assert daemon.acks()[1:] == [{"op": "ack", "upto": 7}]


def test_iterating_acks_a_message_when_the_next_is_asked_for(
        agent_and_daemon: Tuple[Agent, ScriptedDaemon]) -> None:
    agent, daemon = agent_and_daemon
    daemon.deliver(5, 6)
    messages = iter(agent)
    assert next(messages)["seq"] == 5
    assert daemon.acks() == []
    assert next(messages)["seq"] == 6
    assert daemon.acks() == [{"op": "ack", "upto": 5}]


def test_a_broadcast_is_returned_but_never_acked(
        agent_and_daemon: Tuple[Agent, ScriptedDaemon]) -> None:
    agent, daemon = agent_and_daemon
    daemon._write({"type": "message", "seq": 4, "from": "orch", "to": "*",
                   "message": {"kind": "cancel", "reason": "stop"}})
    assert [m["to"] for m in agent.recv(timeout=5)] == ["*"]
    assert agent.recv(timeout=0) == []
    assert daemon.acks() == []
