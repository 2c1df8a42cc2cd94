#!/usr/bin/env python3
"""Tails one coordd's events and shows each one's origin: the host whose disk
the record was read from (Python 3 standard library only).

`coordctl watch` prints Muse's line, which has no origin; this prints what
the socket says, one line per event, and can also record every line it
receives as NDJSON (the swarm demo checks itself with that file).

Usage: swarm_watch.py SOCKET [--record FILE] [--kinds KIND,...]
"""

import argparse
import json
import os
import signal
import socket
import struct
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("socket", help="the coordd socket to subscribe on")
    parser.add_argument("--record", metavar="FILE", help="also append every line received here")
    parser.add_argument("--kinds", metavar="KIND,...", help="only these kinds (default: all)")
    args = parser.parse_args()

    sock = socket.socket(socket.AF_UNIX)
    sock.connect(args.socket)
    # As coordctl does: a socket path alone proves nothing about who serves it.
    uid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
    if uid not in (os.getuid(), 0):
        sys.exit(f"swarm_watch: {args.socket} is served by uid {uid}, not by you")
    request = {"op": "subscribe", "snapshot": False}
    if args.kinds:
        request["kinds"] = args.kinds.split(",")
    sock.sendall((json.dumps(request) + "\n").encode())

    record = open(args.record, "a", encoding="utf-8") if args.record else None
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    for line in sock.makefile("r", encoding="utf-8"):
        if record:
            record.write(line)
            record.flush()
        msg = json.loads(line)
        if msg["type"] == "error":
            sys.exit(f"swarm_watch: coordd: {msg['code']}: {msg['message']}")
        if msg["type"] != "event":
            continue
        data = msg.get("data", {})
        what = f"{msg['event_type']:<8} {msg['kind']:<11} {msg['id'][:12]}"
        who = data.get("run_id", "")
        extra = f" cause={msg['cause']}" if "cause" in msg else ""
        origin = msg.get("origin", "(no origin: not in a swarm)")
        text = f"  [{origin:>6}] seq {msg['seq']:<4} {what}  {who}{extra}"
        print(f"\033[1m{text}\033[0m" if colour else text, flush=True)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
    except OSError as e:
        sys.exit(f"swarm_watch: {e}")
