"""The blocking client: ``Client`` (requests, subscriptions) and ``Agent`` (messages).

One ``Client`` is one connection to coordd. It is not thread-safe: use one
per thread. Replies, events and messages share the connection; whichever
call is reading files the lines it is not waiting for in the session's
backlog, where ``subscribe`` and ``Agent.recv`` find them.
"""

from __future__ import annotations

import socket as _socket
import time
from typing import Any, Callable, Dict, Generator, Iterator, List, Optional

from ._protocol import (CLIENT_NAME, DEFAULT_MAX_BACKLOG, AckLedger, Line, Session,
                        SubscriptionState, check_server_peer, check_socket_directory,
                        default_socket_path, is_mailbox_line)
from .errors import (BacklogFullError, ClosedByDaemonError, ConnectionLostError, CoorddError,
                     NoDaemonError, ReplyTimeoutError)

_NO_DAEMON_ERRNOS = {2, 111}  # ENOENT, ECONNREFUSED


def _open_socket(path: str, timeout: Optional[float]) -> _socket.socket:
    check_socket_directory(path)
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except OSError as error:
        sock.close()
        if error.errno in _NO_DAEMON_ERRNOS:
            raise NoDaemonError(path, error.strerror or str(error)) from error
        raise NoDaemonError(path, str(error)) from error
    try:
        check_server_peer(sock, path)
    except BaseException:
        sock.close()
        raise
    return sock


class Client:
    """A connection to coordd.

    Make one with ``Client.connect()``; it says ``hello`` at once, so
    ``epoch`` and ``hello_reply`` describe the daemon run it talks to. Every
    request raises ``CoorddError`` (with the daemon's ``code``) on an error
    reply, ``ReplyTimeoutError`` after ``timeout`` seconds without one, and
    ``ConnectionLostError`` if the daemon goes away.
    """

    def __init__(self, socket_path: str, timeout: Optional[float] = 10.0,
                 max_backlog: int = DEFAULT_MAX_BACKLOG) -> None:
        """Prefer ``Client.connect``; this makes a client that is not connected yet."""
        self.socket_path = socket_path
        self.timeout = timeout
        self.max_backlog = max_backlog
        self.hello_reply: Line = {}
        self._hello_fields: Dict[str, Any] = {}
        #: Counts connections made; an Agent forgets its unacked seqs when it changes.
        self.generation = 0
        self._sock: Optional[_socket.socket] = None
        self._session = Session(max_backlog)
        self._lost: Optional[CoorddError] = None

    @classmethod
    def connect(cls, socket: Optional[str] = None, timeout: Optional[float] = 10.0, *,
                max_backlog: int = DEFAULT_MAX_BACKLOG) -> "Client":
        """Connects to the coordd at ``socket`` (default: as coordctl finds it) and says hello.

        ``timeout`` bounds each wait for a reply (``None``: wait forever).
        Raises NoDaemonError when nothing answers there, UntrustedServerError
        when another user serves the socket.
        """
        client = cls(socket or default_socket_path(), timeout, max_backlog)
        client.reconnect()
        return client

    @property
    def epoch(self) -> Optional[str]:
        """The daemon run this connection talks to (changes on every coordd start)."""
        epoch = self.hello_reply.get("epoch")
        return epoch if isinstance(epoch, str) else None

    def reconnect(self) -> None:
        """Drops the connection if any, connects again and repeats the last hello."""
        self.close()
        self._session = Session(self.max_backlog)
        self._lost = None
        self.generation += 1
        self._sock = _open_socket(self.socket_path, self.timeout)
        fields = {"proto": 1, "client": CLIENT_NAME}
        fields.update(self._hello_fields)
        self.hello_reply = self.request("hello", **fields)

    def close(self) -> None:
        """Closes the connection (an agent's unacked messages go back to its mailbox)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests ---------------------------------------------------------

    def request(self, op: str, **fields: Any) -> Line:
        """Sends one request (``None`` fields left out) and returns its reply line."""
        req, line = self._session.request(op, fields)
        self._send(line)
        return self._wait(lambda: self._session.take_reply(req))

    def ping(self) -> None:
        """Asks for a ``pong``: the daemon is there and answering."""
        self.request("ping")

    def status(self) -> Line:
        """The daemon's ``status`` reply: counters, limits, roots, agents."""
        return self.request("status")

    def list(self, kinds: Any = None, *, root: Optional[str] = None,
             run_id: Optional[str] = None, branch: Optional[str] = None,
             active_only: Optional[bool] = None, **filters: Any) -> List[Line]:
        """The current records (``kind``, ``id``, ``root``, ``seq``, ``data``, ...) in seq order.

        Takes the subscription filters (``kinds`` a name or a list) plus ``active_only``.
        """
        reply = self.request("list", kinds=kinds, root=root, run_id=run_id, branch=branch,
                             active_only=active_only, **filters)
        records = reply.get("records")
        return records if isinstance(records, list) else []

    def sync(self, timeout_ms: Optional[int] = None, *, scope: Optional[str] = None) -> int:
        """Waits until every change made before the call is processed; returns its seq.

        After it, ``list`` shows everything written before; events up to the
        seq are already on this connection. Raises CoorddError ``sync_timeout``.
        """
        # coordd answers within timeout_ms (default 10 s) per phase, two with "cluster".
        wait = self.timeout
        if wait is not None:
            wait = max(wait, 2 * (10000 if timeout_ms is None else timeout_ms) / 1000 + 1)
        req, line = self._session.request("sync", {"timeout_ms": timeout_ms, "scope": scope})
        self._send(line)
        reply = self._wait(lambda: self._session.take_reply(req), wait)
        return int(reply.get("seq", 0))

    def watch_root(self, path: str) -> Line:
        """Adds a repository to watch at run time; the reply names its canonical path.

        Raises CoorddError ``bad_root`` (the text says why).
        """
        return self.request("watch_root", path=path)

    def unwatch_root(self, path: str) -> Line:
        """Stops watching a repository; raises CoorddError ``unknown_root`` if it was not."""
        return self.request("unwatch_root", path=path)

    def hello(self, agent: str, *, ack: bool = True, credit: Optional[int] = None,
              mailbox: bool = True, takeover: bool = False) -> "Agent":
        """Makes this connection agent ``agent`` and returns it as an ``Agent``.

        ``ack``: acknowledged delivery (messages stay in the mailbox until
        ``recv`` hands them out and acks them); ``credit`` bounds the messages
        delivered and not yet acked. ``mailbox=False`` only sends as the agent.
        A reconnect repeats this hello. Raises CoorddError ``agent_taken``.
        """
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
        reply = self.request("hello", proto=1, client=CLIENT_NAME, **fields)
        if mailbox and ack and reply.get("ack") is not True:
            raise CoorddError("ack_unsupported", "this coordd does not offer acknowledged "
                              "delivery (its hello reply has no \"ack\":true); "
                              "say hello with ack=False", reply)
        self.hello_reply = reply
        self._hello_fields = fields
        return Agent(self, agent, acking=mailbox and ack)

    # -- subscriptions ----------------------------------------------------

    def subscribe(self, kinds: Any = None, *, root: Optional[str] = None,
                  run_id: Optional[str] = None, branch: Optional[str] = None,
                  since: Optional[Dict[str, Any]] = None, snapshot: bool = True,
                  messages: Optional[str] = None, events: Optional[bool] = None,
                  agents: Optional[List[str]] = None,
                  reconnect_timeout: Optional[float] = 60.0,
                  **filters: Any) -> Generator[Line, None, None]:
        """Subscribes and yields its lines: events, ``snapshot_end``, tapped messages.

        Every matching event comes once, in seq order. When the connection
        drops (coordd restarted, a final error), the client reconnects, with
        backoff for up to ``reconnect_timeout`` seconds (``None``: forever),
        and resumes with ``since``; if the daemon cannot resume (a new run, a
        compacted journal) the iterator yields ``{"type":"resync",...}`` (the
        client's own line), then a fresh snapshot ending in ``snapshot_end``
        with ``resync:true``: drop your state and rebuild it from that
        snapshot. ``lagged`` markers are recovered the same way. ``since``
        (``{"epoch":E,"seq":N}``) starts from a resume point of your own.

        The subscription starts at the first ``next()``. The iterator owns
        this client's connection while it reconnects: give
        a subscription that must survive restarts a client of its own.
        """
        state = SubscriptionState(dict(kinds=kinds, root=root, run_id=run_id, branch=branch,
                                       snapshot=None if snapshot else False,
                                       messages=messages, events=events, agents=agents,
                                       **filters), since)
        try:
            while True:
                try:
                    resync = state.on_subscribed(
                        self.request("subscribe", **state.request_fields()), self.epoch)
                    if resync is not None:
                        yield resync
                    while not state.needs_resubscribe:
                        line = self._wait(lambda: self._session.take(state.owns), None)
                        out = state.accept(line)
                        if out is not None:
                            yield out
                    self._end_subscription(state)
                except (ConnectionLostError, ReplyTimeoutError, BacklogFullError) as error:
                    if error.code == "taken_over":
                        raise  # another connection is this agent now: not ours to take back
                    state.sub = None
                    self._reconnect_with_backoff(reconnect_timeout)
        finally:
            if state.sub is not None and self._sock is not None:
                try:
                    self._end_subscription(state)
                except (CoorddError, OSError):
                    pass

    def _end_subscription(self, state: SubscriptionState) -> None:
        # After `unsubscribed` no line of it follows; those before it go unread.
        self.request("unsubscribe", sub=state.sub)
        self._session.discard(state.owns)
        state.sub = None

    def _reconnect_with_backoff(self, window: Optional[float]) -> None:
        give_up = None if window is None else time.monotonic() + window
        pause = 0.025
        while True:
            try:
                self.reconnect()
                return
            except (NoDaemonError, ConnectionLostError, ReplyTimeoutError, CoorddError) as error:
                # agent_taken: coordd may not have seen our old connection go yet.
                retry = isinstance(error, (NoDaemonError, ConnectionLostError,
                                           ReplyTimeoutError)) or error.code == "agent_taken"
                if not retry or (give_up is not None and time.monotonic() >= give_up):
                    raise
            time.sleep(pause if give_up is None else
                       max(0.0, min(pause, give_up - time.monotonic())))
            pause = min(pause * 2, 0.5)

    # -- I/O --------------------------------------------------------------

    def _send(self, line: bytes) -> None:
        if self._sock is None:
            raise self._lost or ConnectionLostError("not connected")
        try:
            self._sock.sendall(line)
        except OSError as error:
            self._lose(ConnectionLostError(f"coordd closed the connection ({error})"))
            raise self._lost from error  # type: ignore[misc]

    def _lose(self, why: CoorddError) -> None:
        self._lost = why
        self.close()

    def _wait(self, ready: Callable[[], Optional[Line]], timeout: Any = "default") -> Line:
        """Reads until ``ready`` returns a line; ``timeout`` seconds, None forever."""
        wait = self.timeout if timeout == "default" else timeout
        deadline = None if wait is None else time.monotonic() + wait
        read_once = False
        while True:
            found = ready()
            if found is not None:
                return found
            if self._session.final_error is not None and self._lost is None:
                self._lose(ClosedByDaemonError(self._session.final_error))
            if self._sock is None:
                raise self._lost or ConnectionLostError("not connected")
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                if read_once:
                    raise ReplyTimeoutError(wait)
                remaining = 0.0  # a timeout of 0 still takes what has arrived
            read_once = True
            self._read_some(remaining)

    def _read_some(self, timeout: Optional[float]) -> None:
        assert self._sock is not None
        self._sock.settimeout(timeout)
        try:
            data = self._sock.recv(1 << 16)
        except (_socket.timeout, BlockingIOError):
            return
        except OSError as error:
            self._lose(ConnectionLostError(f"coordd closed the connection ({error})"))
            return
        if not data:
            self._lose(ConnectionLostError())
            return
        try:
            self._session.feed(data)
        except CoorddError as error:
            self._lose(error)
            raise


class Agent:
    """An agent on the message bus: its mailbox (unless ``mailbox=False``), send, broadcast.

    Made by ``Client.hello`` or ``Agent.connect``. With acknowledged delivery
    (the default) ``recv`` acks exactly the messages it returns, once it has
    them, and iteration acks each message when the next one is asked for: a
    message the program did not get, or (iterating) did not finish, comes
    again, marked ``"redelivered":true``, on the agent's next connection.

    An Agent does not reconnect by itself: when coordd goes away ``recv``
    raises ConnectionLostError (ClosedByDaemonError ``taken_over`` when
    another connection took the agent over); ``agent.client.reconnect()``
    says the same hello again, and the unacked messages come again.
    """

    def __init__(self, client: Client, name: str, acking: bool) -> None:
        """Prefer ``Client.hello``."""
        self.client = client
        self.name = name
        self.acking = acking
        self._ledger = AckLedger(acking)
        self._generation = client.generation

    @classmethod
    def connect(cls, name: str, socket: Optional[str] = None, timeout: Optional[float] = 10.0,
                **hello: Any) -> "Agent":
        """Connects (as ``Client.connect``) and says hello as ``name`` (as ``Client.hello``)."""
        client = Client.connect(socket, timeout)
        try:
            return client.hello(name, **hello)
        except BaseException:
            client.close()
            raise

    @property
    def waiting(self) -> int:
        """How many messages waited in the mailbox at hello."""
        waiting = self.client.hello_reply.get("waiting")
        return waiting if isinstance(waiting, int) else 0

    def close(self) -> None:
        """Closes the agent's connection; unacked messages go back to its mailbox."""
        self.client.close()

    def __enter__(self) -> "Agent":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, to: str, kind: str, **fields: Any) -> Line:
        """Sends ``{"kind": kind, **fields}`` to agent ``to``; returns the ``sent`` reply.

        Raises CoorddError ``not_subscribed``, ``mailbox_full``, ``bad_message``, ...
        """
        return self.client.request("send", to=to, message={"kind": kind, **fields})

    def broadcast(self, kind: str, **fields: Any) -> Line:
        """Sends ``{"kind": kind, **fields}`` to every connected agent and tap.

        Returns the ``sent`` reply (``recipients`` counts them).
        """
        return self.client.request("broadcast", message={"kind": kind, **fields})

    def recv(self, max: Optional[int] = None, timeout: Optional[float] = None) -> List[Line]:
        """Waits up to ``timeout`` s (None: forever) for messages; returns up to ``max``.

        Each item is a ``message`` line (``seq``, ``from``, ``to``, ``message``,
        ``redelivered`` when it comes again), or the mailbox's ``lagged`` marker
        for broadcasts that did not fit. Returns [] on timeout. With
        acknowledged delivery the targeted messages returned are acked before
        this returns; the rest stay unacked, for the next call.
        """
        out: List[Line] = []
        deadline = None if timeout is None else time.monotonic() + timeout
        while max is None or len(out) < max:
            line = self.client._session.take(is_mailbox_line)
            if line is None:
                if out:
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                try:
                    line = self.client._wait(
                        lambda: self.client._session.take(is_mailbox_line), remaining)
                except ReplyTimeoutError:
                    break
            self._ledger_now().delivered(line)
            out.append(line)
        self._ack_returned(out)
        return out

    def __iter__(self) -> Iterator[Line]:
        """Yields messages forever; each is acked when the next one is asked for."""
        while True:
            got = self._recv_unacked()
            yield got
            self._ack_returned([got])

    def _recv_unacked(self) -> Line:
        line = self.client._wait(lambda: self.client._session.take(is_mailbox_line), None)
        self._ledger_now().delivered(line)
        return line

    def ack(self, seq: Optional[int] = None, *, upto: Optional[int] = None) -> Line:
        """Acks message ``seq``, or every delivered message up to ``upto``; returns ``acked``.

        Only for messages you took without acking (``recv`` and iteration ack
        theirs); the reply says how many were settled and how many stay unacked.
        """
        reply = self.client.request("ack", seq=seq, upto=upto)
        self._ledger_now().acked(seq, upto)
        return reply

    def _ack_returned(self, lines: List[Line]) -> None:
        for fields in self._ledger_now().acks_for(lines):
            self.ack(**fields)

    def _ledger_now(self) -> AckLedger:
        # What a lost connection was given is back in the mailbox: not ours to ack.
        if self._generation != self.client.generation:
            self._ledger = AckLedger(self.acking)
            self._generation = self.client.generation
        return self._ledger
