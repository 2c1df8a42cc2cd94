"""A client for coordd: records, events and agent messages over its Unix socket.

Standard library only. The blocking API::

    from coordd import Client
    with Client.connect() as client:           # the socket coordctl would use
        for event in client.subscribe(kinds="reservation"):
            print(event)

``Client`` makes requests (``list``, ``status``, ``sync``, ``ping``) and
``subscribe``s, resuming across coordd restarts. ``Client.hello`` (or
``Agent.connect``) makes an ``Agent``: ``send``, ``broadcast``, and ``recv``
with acknowledged delivery. ``AsyncClient`` and ``AsyncAgent`` are the same
for asyncio. Every error is a ``CoorddError`` carrying a ``code``. The
protocol is proto/PROTOCOL.md of the coordd sources.
"""

from ._async import AsyncAgent, AsyncClient
from ._protocol import default_socket_path
from ._sync import Agent, Client
from .errors import (BacklogFullError, ClosedByDaemonError, ConnectionLostError, CoorddError,
                     NoDaemonError, ReplyTimeoutError, UntrustedServerError)

__all__ = [
    "Agent",
    "AsyncAgent",
    "AsyncClient",
    "BacklogFullError",
    "Client",
    "ClosedByDaemonError",
    "ConnectionLostError",
    "CoorddError",
    "NoDaemonError",
    "ReplyTimeoutError",
    "UntrustedServerError",
    "default_socket_path",
]

__version__ = "0.1.0"
