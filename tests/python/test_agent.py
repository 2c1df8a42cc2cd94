"""Agents against the real coordd: send, broadcast, recv, and acknowledged delivery."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest

from conftest import Daemon
from coordd import Agent, ClosedByDaemonError, CoorddError


def contents(messages: List[dict]) -> List[str]:
    return [m["message"]["content"] for m in messages]


def recv_n(agent: Agent, count: int) -> List[dict]:
    """Exactly ``count`` messages, however many recv calls they take (each acks its own)."""
    out: List[dict] = []
    while len(out) < count:
        out += agent.recv(max=count - len(out), timeout=10)
    return out


def test_one_agent_sends_to_another(daemon: Daemon) -> None:
    with Agent.connect("orch", daemon.socket, ack=False) as orch, \
            Agent.connect("w1", daemon.socket, ack=False) as w1:
        sent = orch.send("w1", "additional_context", content="rerun the billing tests")
        [message] = w1.recv(timeout=10)
        assert (message["from"], message["to"], message["seq"]) == ("orch", "w1", sent["seq"])
        assert message["message"] == {"kind": "additional_context",
                                      "content": "rerun the billing tests"}


def test_a_broadcast_reaches_every_connected_agent_the_sender_too(daemon: Daemon) -> None:
    with Agent.connect("orch", daemon.socket, ack=False) as orch, \
            Agent.connect("w1", daemon.socket, ack=False) as w1:
        sent = orch.broadcast("cancel", reason="release freeze")
        assert sent["recipients"] == 2
        for agent in (orch, w1):
            [message] = agent.recv(timeout=10)
            assert (message["to"], message["message"]["reason"]) == ("*", "release freeze")


def test_a_bad_message_raises_with_its_code_and_the_agent_goes_on(daemon: Daemon) -> None:
    with Agent.connect("orch", daemon.socket, ack=False) as orch:
        with pytest.raises(CoorddError) as raised:
            orch.send("orch", "no-such-kind")
        assert raised.value.code == "bad_message"
        with pytest.raises(CoorddError) as raised:
            orch.send("nobody", "cancel", reason="x")
        assert raised.value.code == "not_subscribed"
        orch.client.ping()


def test_a_second_hello_as_a_connected_agent_is_agent_taken(daemon: Daemon) -> None:
    with Agent.connect("w1", daemon.socket, ack=False):
        with pytest.raises(CoorddError) as raised:
            Agent.connect("w1", daemon.socket, ack=False)
        assert raised.value.code == "agent_taken"


def test_a_takeover_ends_the_old_connection_with_taken_over(daemon: Daemon) -> None:
    with Agent.connect("w1", daemon.socket, ack=False) as old, \
            Agent.connect("w1", daemon.socket, ack=False, takeover=True):
        with pytest.raises(ClosedByDaemonError) as raised:
            old.recv(timeout=10)
        assert raised.value.code == "taken_over"


# -- acknowledged delivery (PROTOCOL.md "Acknowledged delivery") --------------
# The agent's next connection says takeover: coordd may not have read the EOF
# of the one just closed, and a taken-over connection's unacked messages go
# back to the mailbox the same way.

def test_a_message_taken_but_not_acked_comes_again_marked_redelivered(daemon: Daemon) -> None:
    with Agent.connect("orch", daemon.socket, ack=False) as orch:
        with Agent.connect("w1", daemon.socket) as w1:
            sent = orch.send("w1", "additional_context", content="m1")
            first = next(iter(w1))  # iteration acks a message only when the next is asked for
            assert first["seq"] == sent["seq"] and "redelivered" not in first
        with Agent.connect("w1", daemon.socket, takeover=True) as w1:
            [again] = w1.recv(timeout=10)
            assert (again["seq"], again["redelivered"]) == (sent["seq"], True)
            assert contents([again]) == ["m1"]


def test_recv_max_1_returns_one_and_leaves_the_rest_unacked(daemon: Daemon) -> None:
    with Agent.connect("orch", daemon.socket, ack=False) as orch:
        with Agent.connect("w1", daemon.socket) as w1:
            for text in ("m1", "m2", "m3"):
                orch.send("w1", "additional_context", content=text)
            assert contents(w1.recv(max=1, timeout=10)) == ["m1"]
        with Agent.connect("w1", daemon.socket, takeover=True) as w1:
            assert w1.waiting == 2
            again = recv_n(w1, 2)
            assert contents(again) == ["m2", "m3"]
            assert all(m.get("redelivered") is True for m in again)


def test_an_acked_message_never_comes_again(daemon: Daemon) -> None:
    with Agent.connect("orch", daemon.socket, ack=False) as orch:
        with Agent.connect("w1", daemon.socket) as w1:
            orch.send("w1", "additional_context", content="m1")
            assert contents(w1.recv(timeout=10)) == ["m1"]
        with Agent.connect("w1", daemon.socket, takeover=True) as w1:
            assert w1.waiting == 0
            orch.send("w1", "additional_context", content="m2")
            [message] = w1.recv(timeout=10)  # m1 would come first, were it redelivered
            assert contents([message]) == ["m2"] and "redelivered" not in message


def test_an_unacked_message_survives_a_coordd_restart_with_a_message_log(
        daemon: Daemon, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    daemon.stop()
    daemon.start(state_dir=str(state))
    with Agent.connect("orch", daemon.socket, ack=False) as orch, \
            Agent.connect("w1", daemon.socket) as w1:
        orch.send("w1", "additional_context", content="m1")
        assert next(iter(w1))["message"]["content"] == "m1"  # taken, not acked
    daemon.stop()
    daemon.start(state_dir=str(state))
    with Agent.connect("w1", daemon.socket) as w1:
        assert w1.waiting == 1
        assert contents(w1.recv(timeout=10)) == ["m1"]


def test_with_credit_1_the_next_message_comes_after_the_ack(daemon: Daemon) -> None:
    with Agent.connect("orch", daemon.socket, ack=False) as orch, \
            Agent.connect("w1", daemon.socket, credit=1) as w1:
        for text in ("m1", "m2"):
            orch.send("w1", "additional_context", content=text)
        w1.client.ping()  # m1 came before the pong; m2 waits for m1's ack
        assert contents(w1.recv(timeout=10)) == ["m1"]
        assert contents(w1.recv(timeout=10)) == ["m2"]


def test_an_explicit_ack_reports_what_it_settled(daemon: Daemon) -> None:
    with Agent.connect("orch", daemon.socket, ack=False) as orch, \
            Agent.connect("w1", daemon.socket) as w1:
        sent = orch.send("w1", "additional_context", content="m1")
        first = next(iter(w1))
        assert first["seq"] == sent["seq"]
        reply = w1.ack(first["seq"])
        assert (reply["type"], reply["acked"], reply["unacked"]) == ("acked", 1, 0)
        assert w1.ack(first["seq"])["acked"] == 0  # acks are idempotent


def test_an_agent_without_its_mailbox_sends_as_itself_beside_the_mailbox(
        daemon: Daemon) -> None:
    with Agent.connect("orch", daemon.socket, ack=False) as orch, \
            Agent.connect("w1", daemon.socket, ack=False), \
            Agent.connect("w1", daemon.socket, mailbox=False) as w1_sender:
        assert w1_sender.client.hello_reply["mailbox"] is False
        w1_sender.send("orch", "progress_report", turn=1, summary="half done")
        [message] = orch.recv(timeout=10)
        assert (message["from"], message["message"]["agent_id"]) == ("w1", "w1")
