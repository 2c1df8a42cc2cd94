"""The asyncio client: ``AsyncClient`` and ``AsyncAgent``, the same API as ``Client`` and ``Agent``.

One ``AsyncClient`` is one connection, opened with
``asyncio.open_unix_connection``. Tasks of one event loop may share it: one
reads at a time (a lock), filing what it reads for the others as the
blocking client does. There is no background reader task: lines are read
while some call is waiting for one.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncGenerator, AsyncIterator, Callable, Dict, List, Optional

from ._protocol import (CLIENT_NAME, DEFAULT_MAX_BACKLOG, AckLedger, Line, Session,
                        SubscriptionState, check_server_peer, check_socket_directory,
                        default_socket_path, is_mailbox_line)
from .errors import (BacklogFullError, ClosedByDaemonError, ConnectionLostError, CoorddError,
                     NoDaemonError, ReplyTimeoutError)


class AsyncClient:
    """A connection to coordd for asyncio code; see ``Client`` for each method's contract."""

    def __init__(self, socket_path: str, timeout: Optional[float] = 10.0,
                 max_backlog: int = DEFAULT_MAX_BACKLOG) -> None:
        """Prefer ``await AsyncClient.connect()``."""
        self.socket_path = socket_path
        self.timeout = timeout
        self.max_backlog = max_backlog
        self.hello_reply: Line = {}
        self._hello_fields: Dict[str, Any] = {}
        #: Counts connections made; an Agent forgets its unacked seqs when it changes.
        self.generation = 0
        self._reader: Optional[asyncio.StreamReader] = None
        self._writer: Optional[asyncio.StreamWriter] = None
        self._session = Session(max_backlog)
        self._lost: Optional[CoorddError] = None
        self._reading = asyncio.Lock()

    @classmethod
    async def connect(cls, socket: Optional[str] = None, timeout: Optional[float] = 10.0, *,
                      max_backlog: int = DEFAULT_MAX_BACKLOG) -> "AsyncClient":
        """Connects to coordd (default socket as coordctl finds it) and says hello."""
        client = cls(socket or default_socket_path(), timeout, max_backlog)
        await client.reconnect()
        return client

    @property
    def epoch(self) -> Optional[str]:
        """The daemon run this connection talks to."""
        epoch = self.hello_reply.get("epoch")
        return epoch if isinstance(epoch, str) else None

    async def reconnect(self) -> None:
        """Drops the connection if any, connects again and repeats the last hello."""
        await self.close()
        self._session = Session(self.max_backlog)
        self._lost = None
        self.generation += 1
        check_socket_directory(self.socket_path)
        try:
            self._reader, self._writer = await asyncio.open_unix_connection(self.socket_path)
        except OSError as error:
            raise NoDaemonError(self.socket_path, error.strerror or str(error)) from error
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            try:
                check_server_peer(sock, self.socket_path)
            except BaseException:
                await self.close()
                raise
        fields = {"proto": 1, "client": CLIENT_NAME}
        fields.update(self._hello_fields)
        self.hello_reply = await self.request("hello", **fields)

    async def close(self) -> None:
        """Closes the connection (an agent's unacked messages go back to its mailbox)."""
        if self._writer is not None:
            writer, self._writer, self._reader = self._writer, None, None
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def request(self, op: str, **fields: Any) -> Line:
        """Sends one request (``None`` fields left out) and returns its reply line."""
        req, line = self._session.request(op, fields)
        await self._send(line)
        return await self._wait(lambda: self._session.take_reply(req))

    async def ping(self) -> None:
        """Asks for a ``pong``."""
        await self.request("ping")

    async def status(self) -> Line:
        """The daemon's ``status`` reply."""
        return await self.request("status")

    async def list(self, kinds: Any = None, *, root: Optional[str] = None,
                   run_id: Optional[str] = None, branch: Optional[str] = None,
                   active_only: Optional[bool] = None, **filters: Any) -> List[Line]:
        """The current records, in seq order (see ``Client.list``)."""
        reply = await self.request("list", kinds=kinds, root=root, run_id=run_id,
                                   branch=branch, active_only=active_only, **filters)
        records = reply.get("records")
        return records if isinstance(records, list) else []

    async def sync(self, timeout_ms: Optional[int] = None, *, scope: Optional[str] = None) -> int:
        """Waits until every change made before the call is processed; returns its seq."""
        # coordd answers within timeout_ms (default 10 s) per phase, two with "cluster".
        wait = self.timeout
        if wait is not None:
            wait = max(wait, 2 * (10000 if timeout_ms is None else timeout_ms) / 1000 + 1)
        req, line = self._session.request("sync", {"timeout_ms": timeout_ms, "scope": scope})
        await self._send(line)
        reply = await self._wait(lambda: self._session.take_reply(req), wait)
        return int(reply.get("seq", 0))

    async def watch_root(self, path: str) -> Line:
        """Adds a repository to watch at run time (see ``Client.watch_root``)."""
        return await self.request("watch_root", path=path)

    async def unwatch_root(self, path: str) -> Line:
        """Stops watching a repository (see ``Client.unwatch_root``)."""
        return await self.request("unwatch_root", path=path)

    async def hello(self, agent: str, *, ack: bool = True, credit: Optional[int] = None,
                    mailbox: bool = True, takeover: bool = False) -> "AsyncAgent":
        """Makes this connection agent ``agent`` (see ``Client.hello``)."""
        fields: Dict[str, Any] = {"agent": agent}
        if not mailbox:
            fields["mailbox"] = False
        else:
            if ack:
                fields["ack"] = True
                if credit is not None:
                    fields["credit"] = credit
            if takeover:
                fields["takeover"] = True
        reply = await self.request("hello", proto=1, client=CLIENT_NAME, **fields)
        if mailbox and ack and reply.get("ack") is not True:
            raise CoorddError("ack_unsupported", "this coordd does not offer acknowledged "
                              "delivery (its hello reply has no \"ack\":true); "
                              "say hello with ack=False", reply)
        self.hello_reply = reply
        self._hello_fields = fields
        return AsyncAgent(self, agent, acking=mailbox and ack)

    async def subscribe(self, kinds: Any = None, *, root: Optional[str] = None,
                        run_id: Optional[str] = None, branch: Optional[str] = None,
                        since: Optional[Dict[str, Any]] = None, snapshot: bool = True,
                        messages: Optional[str] = None, events: Optional[bool] = None,
                        agents: Optional[List[str]] = None,
                        reconnect_timeout: Optional[float] = 60.0,
                        **filters: Any) -> AsyncGenerator[Line, None]:
        """Subscribes and yields its lines, resuming across reconnects.

        See ``Client.subscribe``.
        """
        state = SubscriptionState(dict(kinds=kinds, root=root, run_id=run_id, branch=branch,
                                       snapshot=None if snapshot else False,
                                       messages=messages, events=events, agents=agents,
                                       **filters), since)
        try:
            while True:
                try:
                    resync = state.on_subscribed(
                        await self.request("subscribe", **state.request_fields()), self.epoch)
                    if resync is not None:
                        yield resync
                    while not state.needs_resubscribe:
                        line = await self._wait(lambda: self._session.take(state.owns), None)
                        out = state.accept(line)
                        if out is not None:
                            yield out
                    await self._end_subscription(state)
                except (ConnectionLostError, ReplyTimeoutError, BacklogFullError) as error:
                    if error.code == "taken_over":
                        raise  # another connection is this agent now: not ours to take back
                    state.sub = None
                    await self._reconnect_with_backoff(reconnect_timeout)
        finally:
            if state.sub is not None and self._writer is not None:
                try:
                    await self._end_subscription(state)
                except (CoorddError, OSError):
                    pass

    async def _end_subscription(self, state: SubscriptionState) -> None:
        # After `unsubscribed` no line of it follows; those before it go unread.
        await self.request("unsubscribe", sub=state.sub)
        self._session.discard(state.owns)
        state.sub = None

    async def _reconnect_with_backoff(self, window: Optional[float]) -> None:
        give_up = None if window is None else time.monotonic() + window
        pause = 0.025
        while True:
            try:
                await self.reconnect()
                return
            except (NoDaemonError, ConnectionLostError, ReplyTimeoutError, CoorddError) as error:
                # agent_taken: coordd may not have seen our old connection go yet.
                retry = isinstance(error, (NoDaemonError, ConnectionLostError,
                                           ReplyTimeoutError)) or error.code == "agent_taken"
                if not retry or (give_up is not None and time.monotonic() >= give_up):
                    raise
            await asyncio.sleep(pause if give_up is None else
                                max(0.0, min(pause, give_up - time.monotonic())))
            pause = min(pause * 2, 0.5)

    async def _send(self, line: bytes) -> None:
        if self._writer is None:
            raise self._lost or ConnectionLostError("not connected")
        try:
            self._writer.write(line)
            await self._writer.drain()
        except OSError as error:
            lost = ConnectionLostError(f"coordd closed the connection ({error})")
            await self._lose(lost)
            raise lost from error

    async def _lose(self, why: CoorddError) -> None:
        self._lost = why
        await self.close()

    async def _wait(self, ready: Callable[[], Optional[Line]], timeout: Any = "default") -> Line:
        wait = self.timeout if timeout == "default" else timeout
        try:
            return await asyncio.wait_for(self._read_until(ready), wait)
        except asyncio.TimeoutError:
            found = ready()
            if found is not None:
                return found
            raise ReplyTimeoutError(wait) from None

    async def _read_until(self, ready: Callable[[], Optional[Line]]) -> Line:
        while True:
            found = ready()
            if found is not None:
                return found
            async with self._reading:
                found = ready()
                if found is not None:
                    return found
                if self._session.final_error is not None and self._lost is None:
                    await self._lose(ClosedByDaemonError(self._session.final_error))
                if self._reader is None:
                    raise self._lost or ConnectionLostError("not connected")
                try:
                    data = await self._reader.read(1 << 16)
                except OSError as error:
                    await self._lose(ConnectionLostError(f"coordd closed the connection ({error})"))
                    continue
                if not data:
                    await self._lose(ConnectionLostError())
                    continue
                try:
                    self._session.feed(data)
                except CoorddError as error:
                    await self._lose(error)
                    raise


class AsyncAgent:
    """An agent on the message bus for asyncio code; see ``Agent``."""

    def __init__(self, client: AsyncClient, name: str, acking: bool) -> None:
        """Prefer ``AsyncClient.hello``."""
        self.client = client
        self.name = name
        self.acking = acking
        self._ledger = AckLedger(acking)
        self._generation = client.generation

    @classmethod
    async def connect(cls, name: str, socket: Optional[str] = None,
                      timeout: Optional[float] = 10.0, **hello: Any) -> "AsyncAgent":
        """Connects and says hello as ``name``."""
        client = await AsyncClient.connect(socket, timeout)
        try:
            return await client.hello(name, **hello)
        except BaseException:
            await client.close()
            raise

    @property
    def waiting(self) -> int:
        """How many messages waited in the mailbox at hello."""
        waiting = self.client.hello_reply.get("waiting")
        return waiting if isinstance(waiting, int) else 0

    async def close(self) -> None:
        """Closes the agent's connection; unacked messages go back to its mailbox."""
        await self.client.close()

    async def __aenter__(self) -> "AsyncAgent":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def send(self, to: str, kind: str, **fields: Any) -> Line:
        """Sends ``{"kind": kind, **fields}`` to agent ``to``; returns the ``sent`` reply."""
        return await self.client.request("send", to=to, message={"kind": kind, **fields})

    async def broadcast(self, kind: str, **fields: Any) -> Line:
        """Sends ``{"kind": kind, **fields}`` to every connected agent and tap."""
        return await self.client.request("broadcast", message={"kind": kind, **fields})

    async def recv(self, max: Optional[int] = None,
                   timeout: Optional[float] = None) -> List[Line]:
        """Waits up to ``timeout`` s for messages; returns up to ``max`` and acks them.

        See ``Agent.recv``.
        """
        out: List[Line] = []
        session = self.client._session
        deadline = None if timeout is None else time.monotonic() + timeout
        while max is None or len(out) < max:
            line = session.take(is_mailbox_line)
            if line is None:
                if out:
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                try:
                    line = await self.client._wait(
                        lambda: self.client._session.take(is_mailbox_line), remaining)
                except ReplyTimeoutError:
                    break
            self._ledger_now().delivered(line)
            out.append(line)
        await self._ack_returned(out)
        return out

    def __aiter__(self) -> AsyncIterator[Line]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[Line]:
        """Yields messages forever; each is acked when the next one is asked for."""
        while True:
            line = await self.client._wait(
                lambda: self.client._session.take(is_mailbox_line), None)
            self._ledger_now().delivered(line)
            yield line
            await self._ack_returned([line])

    async def ack(self, seq: Optional[int] = None, *, upto: Optional[int] = None) -> Line:
        """Acks message ``seq``, or every delivered message up to ``upto``."""
        reply = await self.client.request("ack", seq=seq, upto=upto)
        self._ledger_now().acked(seq, upto)
        return reply

    async def _ack_returned(self, lines: List[Line]) -> None:
        for fields in self._ledger_now().acks_for(lines):
            await self.ack(**fields)

    def _ledger_now(self) -> AckLedger:
        # What a lost connection was given is back in the mailbox: not ours to ack.
        if self._generation != self.client.generation:
            self._ledger = AckLedger(self.acking)
            self._generation = self.client.generation
        return self._ledger
