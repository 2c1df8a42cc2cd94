"""The coordd wire protocol without I/O: where the socket is, framing, reply matching.

``Session`` holds one connection's protocol state: it numbers requests, splits
the bytes read into NDJSON lines, matches replies to requests by their ``req``
and keeps every other line (events, messages, markers) in a bounded backlog
until a reader takes it. ``SubscriptionState`` is the resume logic of one
subscription across connections. Both are driven by ``_sync`` and ``_async``,
which own the sockets; neither is safe to share between threads.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import struct
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional, Set

from .errors import BacklogFullError, CoorddError, UntrustedServerError

Line = Dict[str, Any]

#: Lines that may wait unread while the client waits for a reply.
DEFAULT_MAX_BACKLOG = 65536

#: The ``client`` this package names itself with in ``hello``.
CLIENT_NAME = "coordd-python/0.1.0"


def default_socket_path() -> str:
    """The socket coordd and coordctl use when none is given.

    ``$COORDD_SOCKET`` if set, else ``$XDG_RUNTIME_DIR/coordd/coordd.sock``,
    else ``/tmp/coordd-<uid>/coordd.sock`` (empty variables count as unset).
    """
    named = os.environ.get("COORDD_SOCKET")
    if named:
        return named
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "coordd", "coordd.sock")
    return f"/tmp/coordd-{os.getuid()}/coordd.sock"


def trusted_server_uids() -> List[int]:
    """You, root, and ``$COORDD_SERVER_UID`` (a uid or a user name) when set."""
    uids = [os.getuid(), 0]
    named = os.environ.get("COORDD_SERVER_UID")
    if named:
        if named.isdigit():
            uids.append(int(named))
        else:
            try:
                import pwd
                uids.append(pwd.getpwnam(named).pw_uid)
            except (ImportError, KeyError):
                pass
    return uids


def _hint(uid: int) -> str:
    return f" (if uid {uid} runs your coordd, say so with COORDD_SERVER_UID={uid})"


def check_socket_directory(path: str) -> None:
    """Raises UntrustedServerError when another user could have placed the socket.

    As coordctl: the directory must belong to a trusted uid and not be
    writable by group or others. A missing directory is no trust question.
    """
    directory = os.path.dirname(path) or "."
    try:
        st = os.stat(directory)
    except FileNotFoundError:
        return
    except OSError as error:
        raise UntrustedServerError(path, f"cannot inspect {directory}: {error.strerror}") from error
    if st.st_uid not in trusted_server_uids():
        raise UntrustedServerError(
            path, f"refusing the socket in {directory}: the directory belongs to uid "
            f"{st.st_uid}, not to you (uid {os.getuid()}) or root, so whoever answers there "
            f"may not be your coordd" + _hint(st.st_uid))
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UntrustedServerError(
            path, f"refusing the socket in {directory}: the directory is writable by other "
            "users, who could have put an impostor's socket there (chmod go-w it, or use "
            "the default socket path)")


def check_server_peer(sock: Any, path: str) -> None:
    """Raises UntrustedServerError unless a trusted uid serves the connected socket.

    ``sock`` is a ``socket.socket`` or asyncio's transport socket.

    Uses ``SO_PEERCRED`` (Linux); where the platform lacks it only the
    directory check protects the client.
    """
    peercred = getattr(socket, "SO_PEERCRED", None)
    if peercred is None:
        return
    raw = sock.getsockopt(socket.SOL_SOCKET, peercred, struct.calcsize("3i"))
    uid = struct.unpack("3i", raw)[1]
    if uid not in trusted_server_uids():
        raise UntrustedServerError(
            path, f"{path} is served by uid {uid}, not by you (uid {os.getuid()}) or root: "
            "not your coordd" + _hint(uid))


def encode(request: Line) -> bytes:
    """One request as its NDJSON line."""
    return (json.dumps(request, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def is_mailbox_line(line: Line) -> bool:
    """A message delivered to this connection's agent, or its mailbox's ``lagged`` marker."""
    kind = line.get("type")
    if kind == "message":
        return "sub" not in line
    return kind == "lagged" and "mailbox" in line


class Session:
    """The protocol state of one connection: request ids, replies, the backlog.

    Replies and unasked lines (events, messages, markers) interleave on one
    connection. ``feed`` files each line: a reply under its ``req``, an error
    without ``req`` (a final one: the daemon closes next) as ``final_error``,
    anything else in the backlog, which holds at most ``max_backlog`` lines:
    one more raises BacklogFullError and the caller must drop the connection.
    """

    def __init__(self, max_backlog: int = DEFAULT_MAX_BACKLOG) -> None:
        self.max_backlog = max_backlog
        self.backlog: Deque[Line] = deque()
        self.final_error: Optional[CoorddError] = None
        self._next_req = 1
        self._outstanding: Set[int] = set()
        self._replies: Dict[int, Line] = {}
        self._partial = b""

    def request(self, op: str, fields: Dict[str, Any]) -> "tuple[int, bytes]":
        """A new request's id and its line; ``None`` fields are left out."""
        req = self._next_req
        self._next_req += 1
        body: Line = {"op": op, "req": req}
        body.update({key: value for key, value in fields.items() if value is not None})
        self._outstanding.add(req)
        return req, encode(body)

    def feed(self, data: bytes) -> None:
        """Files every complete line in ``data``; keeps a partial last line for later."""
        self._partial += data
        *lines, self._partial = self._partial.split(b"\n")
        for raw in lines:
            text = raw.strip(b" \t\r")
            if not text:
                continue
            try:
                line = json.loads(text)
            except ValueError:
                continue
            if isinstance(line, dict):
                self._accept(line)

    def _accept(self, line: Line) -> None:
        req = line.get("req")
        if isinstance(req, int) and req in self._outstanding:
            self._outstanding.discard(req)
            self._replies[req] = line
        elif line.get("type") == "error" and "req" not in line:
            self.final_error = CoorddError.from_reply(line)
        else:
            if len(self.backlog) >= self.max_backlog:
                raise BacklogFullError(self.max_backlog)
            self.backlog.append(line)

    def take_reply(self, req: int) -> Optional[Line]:
        """The reply to ``req`` if it came (raising CoorddError for an error reply)."""
        reply = self._replies.pop(req, None)
        if reply is not None and reply.get("type") == "error":
            raise CoorddError.from_reply(reply)
        return reply

    def discard(self, unwanted: Callable[[Line], bool]) -> None:
        """Drops every backlog line ``unwanted`` accepts (those of an ended subscription)."""
        self.backlog = deque(line for line in self.backlog if not unwanted(line))

    def take(self, wanted: Callable[[Line], bool]) -> Optional[Line]:
        """Removes and returns the oldest backlog line ``wanted`` accepts, if any."""
        for index, line in enumerate(self.backlog):
            if wanted(line):
                del self.backlog[index]
                return line
        return None


class SubscriptionState:
    """One subscription's resume point across connections and daemon runs.

    As ``coordctl watch``: a new connection to the same daemon run resumes
    with ``since`` after the last line handed out; to a new run (or when the
    journal no longer covers that point) the daemon answers ``resumed:false``
    and streams a full snapshot, which this hands out after a ``resync``
    line of the client's own. A ``lagged`` marker is recovered the same way
    on the same connection (``since`` its ``from_seq - 1``), so the consumer
    sees every matching event once, in order, or a resync.
    """

    def __init__(self, filters: Dict[str, Any], since: Optional[Dict[str, Any]]) -> None:
        self.filters = {key: value for key, value in filters.items() if value is not None}
        self.epoch: Optional[str] = None
        self.last_seq = 0
        if since is not None:
            self.epoch = str(since["epoch"])
            self.last_seq = int(since["seq"])
        self.sub: Any = None
        self.needs_resubscribe = False

    def request_fields(self) -> Dict[str, Any]:
        """The fields of the next ``subscribe``: with ``since`` once there is a point."""
        fields = dict(self.filters)
        if self.epoch is not None:
            fields["since"] = {"epoch": self.epoch, "seq": self.last_seq}
            fields.pop("snapshot", None)
        return fields

    def on_subscribed(self, reply: Line, connection_epoch: Optional[str]) -> Optional[Line]:
        """Takes the ``subscribed`` reply; returns the ``resync`` line to hand out, if any."""
        self.sub = reply.get("sub")
        self.needs_resubscribe = False
        resync: Optional[Line] = None
        if self.epoch is not None and reply.get("resumed") is False:
            resync = {"type": "resync", "sub": self.sub, "reason": reply.get("reason"),
                      "epoch": connection_epoch}
            self.last_seq = 0  # a new run's seqs start again; the snapshot follows
        self.epoch = connection_epoch
        return resync

    def owns(self, line: Line) -> bool:
        """True for the lines of this subscription."""
        return self.sub is not None and "sub" in line and line["sub"] == self.sub

    def accept(self, line: Line) -> Optional[Line]:
        """The line to hand out for one of this subscription's lines, or None to skip it."""
        kind = line.get("type")
        seq = line.get("seq")
        if kind == "lagged":
            from_seq = line.get("from_seq")
            if isinstance(from_seq, int):
                self.last_seq = max(self.last_seq, from_seq - 1)
            self.needs_resubscribe = True
            return None
        if kind in ("event", "message") and isinstance(seq, int):
            if seq <= self.last_seq:
                return None
            self.last_seq = seq
            return line
        if kind == "snapshot_end" and isinstance(seq, int):
            self.last_seq = max(self.last_seq, seq)
        return line


class AckLedger:
    """The targeted messages an acking agent's connection was given and has not acked.

    Broadcasts and lagged markers are never acked. ``acks_for`` says how to
    ack exactly some of them: one ``upto`` when no other unacked message lies
    below their highest seq, else one ``seq`` each.
    """

    def __init__(self, acking: bool) -> None:
        self.acking = acking
        self.unacked: List[int] = []

    @staticmethod
    def _ackable_seq(line: Line) -> Optional[int]:
        seq = line.get("seq")
        if line.get("type") == "message" and line.get("to") != "*" and isinstance(seq, int):
            return seq
        return None

    def delivered(self, line: Line) -> None:
        """Notes a mailbox line handed to this connection."""
        seq = self._ackable_seq(line)
        if self.acking and seq is not None:
            self.unacked.append(seq)

    def acks_for(self, lines: List[Line]) -> List[Dict[str, int]]:
        """The ``ack`` requests' fields that settle exactly the messages among ``lines``."""
        if not self.acking:
            return []
        seqs = [seq for seq in map(self._ackable_seq, lines) if seq is not None]
        if not seqs:
            return []
        top = max(seqs)
        if all(seq in seqs for seq in self.unacked if seq <= top):
            return [{"upto": top}]
        return [{"seq": seq} for seq in seqs]

    def acked(self, seq: Optional[int], upto: Optional[int]) -> None:
        """Forgets what an ``ack`` with these fields settled."""
        if upto is not None:
            self.unacked = [s for s in self.unacked if s > upto]
        elif seq in self.unacked:
            self.unacked.remove(seq)
