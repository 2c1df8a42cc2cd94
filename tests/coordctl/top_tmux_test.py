#!/usr/bin/env python3
"""coordctl top in a real terminal: tmux (on its own server socket) runs a
shell at 80x24 that runs `coordctl top` against a real coordd on a temporary
socket and repository. The test writes a reservation, sends agent messages,
and asserts on what the pane shows, as a person would see it; then resizes
the window to 120x40, restarts coordd, quits with q, and again with Ctrl-C. Every wait polls
the pane against a deadline. Everything it started (tmux server, coordd,
agent connections) is stopped on the way out, pass or fail.

Usage: top_tmux_test.py   (COORDD_BIN and COORDCTL_BIN name the programs;
TOP_TMUX_SHOW=1 prints each pane it waited for)
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

COORDD = os.environ["COORDD_BIN"]
COORDCTL = os.environ["COORDCTL_BIN"]
TMUX_SERVER = f"coordd-top-test-{os.getpid()}"
DEADLINE = float(os.environ.get("TOP_TMUX_DEADLINE", "15"))  # seconds for anything to show


class Failure(Exception):
    pass


def tmux(*args, check=True):
    return subprocess.run(["tmux", "-L", TMUX_SERVER, "-f", "/dev/null", *args],
                          check=check, capture_output=True, text=True)


def pane(join=False):
    """The visible pane; with join, wrapped lines joined (and trailing spaces kept)."""
    return tmux("capture-pane", "-p", *(["-J"] if join else []), "-t", "top").stdout


SHOW = os.environ.get("TOP_TMUX_SHOW") == "1"  # print each pane waited for


def wait_for(what, predicate, timeout=DEADLINE):
    """Polls the pane until predicate(text) holds; fails with the pane shown."""
    end = time.monotonic() + timeout
    while True:
        text = pane()
        if predicate(text):
            if SHOW:
                print(f"--- {what}:\n{text}", file=sys.stderr)
            return text
        if time.monotonic() > end:
            raise Failure(f"the pane never showed {what}; it shows:\n{text}")
        time.sleep(0.05)


def shows(*needles):
    return lambda text: all(n in text for n in needles)


class Agent:
    """A connection to coordd that says hello as an agent (holding its mailbox)."""

    def __init__(self, path, name):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(DEADLINE)
        self.sock.connect(path)
        self.buffer = b""
        self.call({"op": "hello", "proto": 1, "agent": name}, "hello")

    def call(self, request, reply_type):
        self.sock.sendall((json.dumps(request) + "\n").encode())
        while True:
            while b"\n" not in self.buffer:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise Failure(f"coordd closed the connection before {reply_type}")
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\n", 1)
            reply = json.loads(line)
            if reply.get("type") == "error":
                raise Failure(f"coordd refused {request}: {reply}")
            if reply.get("type") == reply_type:
                return reply

    def send(self, to, message):
        return self.call({"op": "send", "to": to, "message": message}, "sent")

    def close(self):
        self.sock.close()


class Daemon:
    def __init__(self, repo, path, log):
        self.repo, self.path, self.log = repo, path, log
        self.proc = None

    def start(self):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [COORDD, "--root", self.repo, "--socket", self.path, "--state-dir", "none",
                 "--log-level", "warn"], stdout=subprocess.DEVNULL, stderr=log)
        end = time.monotonic() + DEADLINE
        while subprocess.run([COORDCTL, "ping", "--socket", self.path],
                             capture_output=True).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > end:
                raise Failure("coordd did not start: " + open(self.log).read())
            time.sleep(0.05)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def write_reservation(repo, rid, run_id, address, minutes):
    folder = os.path.join(repo, ".muse", "coordination", "reservations")
    os.makedirs(folder, exist_ok=True)
    expires = (datetime.now(timezone.utc) + timedelta(minutes=minutes)).isoformat()
    record = {"reservation_id": rid, "run_id": run_id, "branch": "main",
              "addresses": [address], "expires_at": expires}
    tmp = os.path.join(folder, f".{rid}.tmp")
    with open(tmp, "w") as f:
        json.dump(record, f)
    os.rename(tmp, os.path.join(folder, f"{rid}.json"))


def check_fits(text, columns, rows):
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) > rows:
        raise Failure(f"the pane has {len(lines)} lines, more than {rows}")
    wide = [line for line in lines if len(line) > columns]
    if wide:
        raise Failure(f"lines wider than {columns}: {wide}")


def run(work):
    repo = os.path.join(work, "repo")
    os.makedirs(os.path.join(repo, ".muse", "coordination"))
    path = os.path.join(work, "coordd.sock")
    daemon = Daemon(repo, path, os.path.join(work, "coordd.log"))
    agents = []
    try:
        daemon.start()
        # A plain shell in the pane, so that what is left after top is visible.
        # The sanitizer build's options reach coordctl too.
        kept = [f"{name}={os.environ[name]}" for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS")
                if name in os.environ]
        tmux("new-session", "-d", "-s", "top", "-x", "80", "-y", "24",
             "env", "-i", f"PATH={os.environ.get('PATH', '/usr/bin:/bin')}", "TERM=screen",
             *kept, "PS1=shell$ ", "bash", "--norc", "--noprofile", "-i")
        wait_for("the shell's prompt", shows("shell$"))
        stty_before = os.path.join(work, "stty.before")
        stty_after = os.path.join(work, "stty.after")
        tmux("send-keys", "-t", "top",
             f"stty -g > {stty_before}; {COORDCTL} top --socket {path}; echo top-exited-$?",
             "Enter")
        wait_for("top's title", shows(" UTC  coordd/", "Agents", "q quits"))

        # A lease and messages appear, and an away agent with what waits for it.
        write_reservation(repo, "res-7", "agent-42", "billing.py::compute_total", 10)
        orch = Agent(path, "orch")
        agents.append(orch)
        w1 = Agent(path, "w1")
        agents.append(w1)
        w2 = Agent(path, "w2")
        w2.close()
        for step in range(1, 13):
            w1.send("orch", {"kind": "progress_report", "turn": step, "summary": f"step {step}."})
        long_summary = "compute_total refactored; tests pass on every branch, lint is clean"
        w1.send("orch", {"kind": "progress_report", "turn": 13, "summary": long_summary})
        orch.send("w2", {"kind": "additional_context", "content": "rerun billing"})
        text = wait_for("the lease, the messages and the agents",
                        shows("agent-42", "res-7", "billing.py::compute_total",
                              "w1 → orch  progress_report: compute_total refactored",
                              "orch → w2  additional_context: rerun billing",
                              "w2", "away", "1 waiting", "2 connected, 1 away"))
        check_fits(text, 80, 24)
        if not re.search(r"Latest messages — \d+ of 14\n", text) or "step 1." in text:
            raise Failure("at 80x24 the oldest messages should give way:\n" + text)
        if not re.search(r"messages \d+\.\d/s, 14/min", text):
            raise Failure("the message rate is not shown:\n" + text)
        if "9m" not in text and "10m" not in text:
            raise Failure("the lease's time left is not shown:\n" + text)
        if text.rstrip("\n").split("\n")[-1] != "q quits":
            raise Failure("the last line is not the quit hint:\n" + text)

        # More room: the long message is whole, and the view is 40 lines.
        tmux("resize-window", "-t", "top", "-x", "120", "-y", "40")
        text = wait_for("the long message whole at 120 columns",
                        lambda t: long_summary in t and
                        t.rstrip("\n").split("\n")[-1] == "q quits" and
                        len(t.rstrip("\n").split("\n")) == 40)
        check_fits(text, 120, 40)
        if "Latest messages — 14\n" not in text or "step 1." not in text:
            raise Failure("at 120x40 every message should show:\n" + text)
        if not any(len(line) > 80 for line in text.split("\n")):
            raise Failure("no line uses the room past 80 columns:\n" + text)

        # coordd restarts: the view says so, then recovers with the lease.
        for agent in agents:
            agent.close()
        agents.clear()
        daemon.stop()
        wait_for("that coordd is not answering", shows("coordd not answering — reconnecting"))
        daemon.start()
        wait_for("the view recovered after the restart",
                 lambda t: " UTC  coordd/" in t and "res-7" in t and
                 "not answering" not in t)
        write_reservation(repo, "res-8", "agent-43", "shop.py::checkout", 5)
        wait_for("a lease written after the restart", shows("agent-43", "res-8", "shop.py::checkout"))

        # q quits and gives the shell back as it was.
        tmux("send-keys", "-t", "top", "q")
        wait_for("top's exit", shows("top-exited-0"))
        tmux("send-keys", "-t", "top", f"stty -g > {stty_after}", "Enter")
        end = time.monotonic() + DEADLINE
        while not (os.path.exists(stty_after) and os.path.getsize(stty_after) > 0):
            if time.monotonic() > end:
                raise Failure("the shell did not run stty after top:\n" + pane())
            time.sleep(0.05)
        before, after = open(stty_before).read(), open(stty_after).read()
        if before != after:
            raise Failure(f"the terminal's settings were not restored: {before!r} then {after!r}")
        text = pane(join=True)
        if "coordctl top  " in text or "q quits" in text:
            raise Failure("top's view is still on the screen after it quit:\n" + text)
        if f"{COORDCTL} top --socket" not in text:
            raise Failure("the shell's screen did not come back after top:\n" + text)

        # Ctrl-C quits too, with the terminal given back as well.
        tmux("send-keys", "-t", "top", "clear", "Enter")
        wait_for("a cleared shell", lambda t: "top-exited-0" not in t)
        tmux("send-keys", "-t", "top",
             f"{COORDCTL} top --socket {path}; echo top-exited-$?; stty -g > {stty_after}.2",
             "Enter")
        wait_for("top again", shows(" UTC  coordd/", "res-8"))
        tmux("send-keys", "-t", "top", "C-c")
        wait_for("top's exit after Ctrl-C", shows("top-exited-0"))
        end = time.monotonic() + DEADLINE
        while not (os.path.exists(stty_after + ".2") and os.path.getsize(stty_after + ".2") > 0):
            if time.monotonic() > end:
                raise Failure("the shell did not run stty after top and Ctrl-C:\n" + pane())
            time.sleep(0.05)
        if open(stty_after + ".2").read() != before:
            raise Failure("the terminal's settings were not restored after Ctrl-C")
    finally:
        for agent in agents:
            agent.close()
        tmux("kill-server", check=False)
        daemon.stop()


def main():
    # meson's timeout sends SIGTERM: exit through the finally blocks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if shutil.which("tmux") is None:
        print("top_tmux_test: tmux is required (apt-get install tmux)", file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="coordd-top.", dir="/tmp")
    try:
        run(work)
    except Failure as failure:
        print(f"top_tmux_test: FAILED: {failure}", file=sys.stderr)
        log = os.path.join(work, "coordd.log")
        if os.path.exists(log):
            print("coordd's log:\n" + open(log).read(), file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("top_tmux_test: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
