"""The blocking Client against the real coordd: requests, subscriptions, resume, errors."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, Dict, List

import pytest

from conftest import Daemon, events_until, reservation
from coordd import Client, CoorddError, NoDaemonError, UntrustedServerError
from coordd._protocol import SubscriptionState


def test_a_client_connects_pings_and_reads_status(daemon: Daemon) -> None:
    with Client.connect(daemon.socket) as client:
        client.ping()
        status = client.status()
        assert status["type"] == "status"
        assert client.epoch and client.hello_reply["roots"] == [str(daemon.root.resolve())]


def test_the_socket_comes_from_coordd_socket_when_none_is_given(
        daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COORDD_SOCKET", daemon.socket)
    with Client.connect() as client:
        client.ping()


def test_list_shows_a_record_written_before_a_sync(daemon: Daemon) -> None:
    with Client.connect(daemon.socket) as client:
        daemon.write_record("reservations", "r1", reservation("r1"))
        client.sync()
        records = client.list("reservation")
        assert [(r["kind"], r["id"], r["active"]) for r in records] == [("reservation", "r1", True)]


def test_subscribe_sees_a_record_added_modified_and_removed(daemon: Daemon) -> None:
    with Client.connect(daemon.socket) as client:
        lines = client.subscribe("reservation")
        assert next(lines)["type"] == "snapshot_end"
        seen = []
        # One change at a time: changes faster than coordd reads them may coalesce.
        for change in (lambda: daemon.write_record("reservations", "r1", reservation("r1")),
                       lambda: daemon.write_record("reservations", "r1",
                                                   reservation("r1", branch="dev")),
                       lambda: daemon.remove_record("reservations", "r1")):
            change()
            [event] = events_until(lines, 1)
            seen.append((event["event_type"], event["id"], event["data"]["branch"]))
        assert seen == [("added", "r1", "main"), ("modified", "r1", "dev"),
                        ("removed", "r1", "dev")]


def test_a_dropped_connection_resumes_with_since_and_misses_nothing(daemon: Daemon) -> None:
    with Client.connect(daemon.socket) as client:
        lines = client.subscribe("reservation")
        assert next(lines)["type"] == "snapshot_end"
        daemon.write_record("reservations", "r1", reservation("r1"))
        assert events_until(lines, 1)[0]["id"] == "r1"
        epoch = client.epoch
        assert client._sock is not None
        client._sock.shutdown(socket.SHUT_RDWR)  # the connection drops; coordd keeps running
        daemon.write_record("reservations", "r2", reservation("r2"))
        line = next(lines)
        assert (line["type"], line["event_type"], line["id"]) == ("event", "added", "r2")
        assert client.epoch == epoch


def test_after_a_coordd_restart_the_subscription_resyncs_from_a_snapshot(daemon: Daemon) -> None:
    with Client.connect(daemon.socket) as client:
        lines = client.subscribe("reservation")
        assert next(lines)["type"] == "snapshot_end"
        daemon.write_record("reservations", "r1", reservation("r1"))
        assert events_until(lines, 1)[0]["id"] == "r1"
        old_epoch = client.epoch
        daemon.stop()
        daemon.write_record("reservations", "r2", reservation("r2"))
        daemon.start()
        resync = next(lines)
        assert (resync["type"], resync["reason"]) == ("resync", "epoch_changed")
        snapshot = events_until(lines, 2)
        assert sorted((e["event_type"], e["id"]) for e in snapshot) == [
            ("snapshot", "r1"), ("snapshot", "r2")]
        end = next(lines)
        assert end["type"] == "snapshot_end" and end["resync"] is True
        assert client.epoch != old_epoch
        daemon.write_record("reservations", "r3", reservation("r3"))
        assert events_until(lines, 1)[0]["id"] == "r3"


def test_an_error_reply_raises_with_the_daemons_code(daemon: Daemon) -> None:
    with Client.connect(daemon.socket) as client:
        with pytest.raises(CoorddError) as raised:
            client.request("send", to="nobody", message={"kind": "cancel", "reason": "x"})
        assert raised.value.code == "not_subscribed"
        with pytest.raises(CoorddError) as raised:
            client.list(kinds=5)
        assert raised.value.code == "bad_field"
        client.ping()  # the connection stays usable


def test_no_daemon_names_the_socket_it_tried(tmp_path: Path) -> None:
    path = str(tmp_path / "absent.sock")
    with pytest.raises(NoDaemonError) as raised:
        Client.connect(path)
    assert raised.value.code == "no_daemon" and raised.value.socket_path == path


def test_a_socket_in_a_directory_others_can_write_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    with pytest.raises(UntrustedServerError) as raised:
        Client.connect(str(shared / "coordd.sock"))
    assert raised.value.code == "untrusted_server"


def test_a_subscription_that_falls_behind_recovers_every_event_once(
        daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    markers: List[Dict[str, Any]] = []
    accept = SubscriptionState.accept

    def noting_lagged(state: SubscriptionState, line: Dict[str, Any]) -> Any:
        if line.get("type") == "lagged":
            markers.append(line)
        return accept(state, line)
    monkeypatch.setattr(SubscriptionState, "accept", noting_lagged)
    daemon.stop()
    daemon.start("--queue-max-events", "16")
    with Client.connect(daemon.socket) as client:
        lines = client.subscribe("reservation")
        assert next(lines)["type"] == "snapshot_end"
        # Not read while written: the socket buffer fills, then coordd's queue of
        # 16 lines, and coordd drops events for this subscription (a lagged marker).
        ids = [f"r{n:04}" for n in range(1500)]
        for record_id in ids:
            daemon.write_record("reservations", record_id, reservation(record_id))
        events = events_until(lines, len(ids))
        assert markers, "coordd never dropped an event: the test did not test recovery"
        assert [e["id"] for e in events] == ids
        seqs = [e["seq"] for e in events]
        assert seqs == sorted(set(seqs))


def test_closing_a_subscription_unsubscribes_it(daemon: Daemon) -> None:
    with Client.connect(daemon.socket) as client:
        lines = client.subscribe("reservation")
        assert next(lines)["type"] == "snapshot_end"
        assert client.status()["subscriptions"] == 1
        lines.close()
        assert client.status()["subscriptions"] == 0


def test_a_root_is_watched_and_unwatched_at_run_time(daemon: Daemon, tmp_path: Path) -> None:
    other = tmp_path / "other"
    (other / ".muse" / "coordination" / "reservations").mkdir(parents=True)
    (other / ".muse" / "coordination" / "reservations" / "o1.json").write_text(
        '{"reservation_id": "o1"}')
    with Client.connect(daemon.socket) as client:
        assert client.watch_root(str(other))["path"] == str(other.resolve())
        assert [r["id"] for r in client.list("reservation", root=str(other.resolve()))] == ["o1"]
        client.unwatch_root(str(other))
        with pytest.raises(CoorddError) as raised:
            client.unwatch_root(str(other))
        assert raised.value.code == "unknown_root"
