"""The asyncio client against the real coordd: the same basics as the blocking one."""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Awaitable, Callable, TypeVar

from conftest import Daemon, reservation
from coordd import AsyncAgent, AsyncClient, CoorddError

T = TypeVar("T")


def run(test: Callable[[], Awaitable[T]]) -> T:
    """Runs one test coroutine with a deadline of its own."""
    async def bounded() -> T:
        return await asyncio.wait_for(test(), 20)
    return asyncio.run(bounded())


async def next_event(lines: Any) -> dict:
    async for line in lines:
        if line["type"] == "event":
            return line
    raise AssertionError("the subscription ended")


def test_the_async_client_pings_lists_and_raises_with_codes(daemon: Daemon) -> None:
    async def test() -> None:
        async with await AsyncClient.connect(daemon.socket) as client:
            await client.ping()
            assert (await client.status())["type"] == "status"
            daemon.write_record("reservations", "r1", reservation("r1"))
            await client.sync()
            assert [r["id"] for r in await client.list("reservation")] == ["r1"]
            try:
                await client.request("unsubscribe", sub=99)
            except CoorddError as error:
                assert error.code == "unknown_sub"
            else:
                raise AssertionError("unsubscribe of no subscription succeeded")
    run(test)


def test_an_async_subscription_sees_events_and_resumes_after_a_drop(daemon: Daemon) -> None:
    async def test() -> None:
        async with await AsyncClient.connect(daemon.socket) as client:
            lines = client.subscribe("reservation")
            assert (await lines.__anext__())["type"] == "snapshot_end"
            daemon.write_record("reservations", "r1", reservation("r1"))
            assert (await next_event(lines))["id"] == "r1"
            assert client._writer is not None
            client._writer.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
            daemon.write_record("reservations", "r2", reservation("r2"))
            event = await next_event(lines)
            assert (event["event_type"], event["id"]) == ("added", "r2")
            await lines.aclose()
    run(test)


def test_an_async_subscription_resyncs_after_a_coordd_restart(daemon: Daemon) -> None:
    async def test() -> None:
        async with await AsyncClient.connect(daemon.socket) as client:
            lines = client.subscribe("reservation")
            assert (await lines.__anext__())["type"] == "snapshot_end"
            daemon.stop()
            daemon.write_record("reservations", "r1", reservation("r1"))
            daemon.start()
            resync = await lines.__anext__()
            assert (resync["type"], resync["reason"]) == ("resync", "epoch_changed")
            snapshot = await lines.__anext__()
            assert (snapshot["event_type"], snapshot["id"]) == ("snapshot", "r1")
            end = await lines.__anext__()
            assert end["type"] == "snapshot_end" and end["resync"] is True
            await lines.aclose()
    run(test)


def test_async_agents_send_and_broadcast(daemon: Daemon) -> None:
    async def test() -> None:
        async with await AsyncAgent.connect("orch", daemon.socket, ack=False) as orch, \
                await AsyncAgent.connect("w1", daemon.socket, ack=False) as w1:
            await orch.send("w1", "additional_context", content="m1")
            [message] = await w1.recv(timeout=10)
            assert (message["from"], message["message"]["content"]) == ("orch", "m1")
            assert (await orch.broadcast("cancel", reason="stop"))["recipients"] == 2
            [message] = await w1.recv(timeout=10)
            assert message["to"] == "*"
    run(test)


def test_an_async_acking_agent_gets_an_unacked_message_again(daemon: Daemon) -> None:
    async def test() -> None:
        async with await AsyncAgent.connect("orch", daemon.socket, ack=False) as orch:
            async with await AsyncAgent.connect("w1", daemon.socket) as w1:
                sent = await orch.send("w1", "additional_context", content="m1")
                sent2 = await orch.send("w1", "additional_context", content="m2")
                [first] = await w1.recv(max=1, timeout=10)
                assert first["seq"] == sent["seq"]
            async with await AsyncAgent.connect("w1", daemon.socket, takeover=True) as w1:
                [again] = await w1.recv(max=1, timeout=10)
                assert (again["seq"], again["redelivered"]) == (sent2["seq"], True)
    run(test)


def test_two_tasks_share_one_connection_for_events_and_messages(daemon: Daemon) -> None:
    async def test() -> None:
        async with await AsyncAgent.connect("orch", daemon.socket, ack=False) as orch, \
                await AsyncClient.connect(daemon.socket) as client:
            agent = await client.hello("w1", ack=False)
            lines = client.subscribe("reservation")
            assert (await lines.__anext__())["type"] == "snapshot_end"
            watching = asyncio.create_task(next_event(lines))
            daemon.write_record("reservations", "r1", reservation("r1"))
            await orch.send("w1", "additional_context", content="m1")
            [message] = await agent.recv(timeout=10)
            event = await watching
            assert (message["message"]["content"], event["id"]) == ("m1", "r1")
            await lines.aclose()
    run(test)
