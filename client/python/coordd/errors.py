"""The exceptions of the coordd client: every one is a CoorddError with a ``code``.

A request the daemon refuses raises ``CoorddError`` with the daemon's own
``code`` (``not_subscribed``, ``bad_field``, ... as listed in proto/PROTOCOL.md);
the client's own failures use the codes below, which the daemon never sends.
"""

from __future__ import annotations

from typing import Any, Dict, Optional


class CoorddError(Exception):
    """An error reply of coordd, or a failure of the client talking to it.

    ``code`` is the daemon's error code (or one of the client's: ``no_daemon``,
    ``connection_lost``, ``timeout``, ``untrusted_server``, ``backlog_full``);
    ``message`` its text; ``reply`` the whole error line when the daemon sent one.
    """

    def __init__(self, code: str, message: str, reply: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.reply = reply

    @classmethod
    def from_reply(cls, reply: Dict[str, Any]) -> "CoorddError":
        """The exception for an error line of the daemon."""
        code = reply.get("code")
        message = reply.get("message")
        return cls(code if isinstance(code, str) else "unknown",
                   message if isinstance(message, str) else "", reply)


class NoDaemonError(CoorddError, ConnectionError):
    """Nothing answers at the socket (missing, or refusing): no coordd runs there.

    ``socket_path`` is the path that was tried.
    """

    def __init__(self, socket_path: str, why: str) -> None:
        super().__init__("no_daemon", f"no coordd answers at {socket_path} ({why}); "
                         f"start one with `coordd --root DIR &`")
        self.socket_path = socket_path


class UntrustedServerError(CoorddError, ConnectionError):
    """The socket is served, or could have been placed, by another user: not your coordd."""

    def __init__(self, socket_path: str, why: str) -> None:
        super().__init__("untrusted_server", why)
        self.socket_path = socket_path


class ConnectionLostError(CoorddError, ConnectionError):
    """The daemon closed the connection (it stopped, restarted, or sent a final error)."""

    def __init__(self, message: str = "coordd closed the connection") -> None:
        super().__init__("connection_lost", message)


class ClosedByDaemonError(ConnectionLostError):
    """The daemon sent a final error (``slow_consumer``, ``taken_over``, ...) and closed.

    ``code`` is the daemon's code, ``reply`` its error line.
    """

    def __init__(self, error: CoorddError) -> None:
        super().__init__(f"coordd closed the connection after a final error: {error}")
        self.code = error.code
        self.reply = error.reply


class ReplyTimeoutError(CoorddError, TimeoutError):
    """No reply came within the client's timeout (coordd stopped or overloaded)."""

    def __init__(self, timeout: float) -> None:
        super().__init__("timeout", f"no reply within {timeout:g} s "
                         "(is coordd stopped or overloaded? pass a longer timeout)")


class BacklogFullError(CoorddError):
    """Too many events and messages arrived, unread, while waiting for a reply.

    The client closes the connection rather than drop a line: a subscription
    resumes without loss, and unacked messages are delivered again.
    """

    def __init__(self, bound: int) -> None:
        super().__init__("backlog_full", f"more than {bound} unread events and messages "
                         "arrived while waiting for a reply; read them (recv, subscribe) "
                         "or raise max_backlog")
