"""The protocol pieces without a daemon: reply matching, the backlog, resume points, acks."""

from __future__ import annotations

import json

import pytest

from coordd import BacklogFullError, CoorddError
from coordd._protocol import AckLedger, Session, SubscriptionState, is_mailbox_line


def lines(*objects: dict) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objects)


def test_a_reply_is_matched_by_req_and_events_between_wait_in_the_backlog() -> None:
    session = Session()
    req, line = session.request("list", {"kinds": None, "active_only": True})
    assert json.loads(line) == {"op": "list", "req": req, "active_only": True}
    event = {"type": "event", "sub": 1, "seq": 5}
    reply = {"type": "list", "req": req, "records": []}
    data = lines(event, reply)
    session.feed(data[:7])  # a line split across reads
    session.feed(data[7:] + b"  \r\n\n")
    assert session.take_reply(req) == reply
    assert list(session.backlog) == [event]


def test_an_error_reply_raises_with_its_code() -> None:
    session = Session()
    req, _ = session.request("send", {})
    session.feed(lines({"type": "error", "req": req, "code": "mailbox_full", "message": "full"}))
    with pytest.raises(CoorddError) as raised:
        session.take_reply(req)
    assert (raised.value.code, raised.value.message) == ("mailbox_full", "full")


def test_an_error_without_req_is_the_final_one() -> None:
    session = Session()
    session.feed(lines({"type": "error", "code": "slow_consumer", "message": "behind"}))
    assert session.final_error is not None and session.final_error.code == "slow_consumer"
    assert not session.backlog


def test_one_line_past_the_backlog_bound_raises_backlog_full() -> None:
    session = Session(max_backlog=2)
    session.feed(lines({"type": "message", "seq": 1}, {"type": "message", "seq": 2}))
    with pytest.raises(BacklogFullError) as raised:
        session.feed(lines({"type": "message", "seq": 3}))
    assert raised.value.code == "backlog_full"


def test_take_removes_the_oldest_line_wanted_and_leaves_the_others() -> None:
    session = Session()
    event = {"type": "event", "sub": 1, "seq": 1}
    message = {"type": "message", "seq": 2, "to": "w1"}
    session.feed(lines(event, message))
    assert session.take(is_mailbox_line) == message
    assert list(session.backlog) == [event]


def test_a_subscription_resumes_after_its_last_line_and_skips_what_it_had() -> None:
    state = SubscriptionState({"kinds": "reservation", "snapshot": None}, since=None)
    assert state.request_fields() == {"kinds": "reservation"}
    assert state.on_subscribed({"type": "subscribed", "sub": 1, "seq": 3}, "e1") is None
    assert state.accept({"type": "snapshot_end", "sub": 1, "seq": 3}) is not None
    assert state.accept({"type": "event", "sub": 1, "seq": 7}) is not None
    assert state.request_fields()["since"] == {"epoch": "e1", "seq": 7}
    state.on_subscribed({"type": "subscribed", "sub": 2, "seq": 9, "resumed": True}, "e1")
    assert state.accept({"type": "event", "sub": 2, "seq": 7}) is None  # had it already
    assert state.accept({"type": "event", "sub": 2, "seq": 8}) is not None


def test_a_new_epoch_is_a_resync_and_seqs_start_again() -> None:
    state = SubscriptionState({}, since={"epoch": "e1", "seq": 40})
    resync = state.on_subscribed({"type": "subscribed", "sub": 1, "seq": 2, "resumed": False,
                                  "reason": "epoch_changed"}, "e2")
    assert resync == {"type": "resync", "sub": 1, "reason": "epoch_changed", "epoch": "e2"}
    assert state.accept({"type": "event", "sub": 1, "seq": 1, "event_type": "snapshot"})


def test_a_lagged_marker_is_recovered_from_the_seq_before_its_gap() -> None:
    state = SubscriptionState({}, since=None)
    state.on_subscribed({"type": "subscribed", "sub": 1, "seq": 0}, "e1")
    state.accept({"type": "event", "sub": 1, "seq": 5})
    assert state.accept({"type": "lagged", "sub": 1, "from_seq": 9, "to_seq": 20,
                         "dropped": 3}) is None
    assert state.needs_resubscribe
    assert state.request_fields()["since"] == {"epoch": "e1", "seq": 8}
    assert not state.owns({"type": "event", "sub": 2, "seq": 21})


def test_acks_settle_exactly_the_messages_returned() -> None:
    ledger = AckLedger(acking=True)
    m = [{"type": "message", "seq": s, "to": "w1"} for s in (4, 6, 9)]
    broadcast = {"type": "message", "seq": 7, "to": "*"}
    for line in (m[0], m[1], broadcast, m[2]):
        ledger.delivered(line)
    assert ledger.acks_for([m[0], m[1], broadcast]) == [{"upto": 6}]
    ledger.acked(None, 6)
    assert ledger.unacked == [9]
    ledger.delivered({"type": "message", "seq": 3, "to": "w1", "redelivered": True})
    assert ledger.acks_for([m[2]]) == [{"seq": 9}]  # 3 lies below and was not returned
    assert AckLedger(acking=False).acks_for(m) == []
