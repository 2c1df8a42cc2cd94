"""Fixtures of the Python client's tests: the real coordd on a temp socket and temp root.

``COORDD_BIN`` names the coordd binary (default ``build/daemon/coordd``).
Every wait has a deadline: the daemon's socket answering, and each test as a
whole (30 s, so a lost event fails the test instead of hanging the suite).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

TEST_DEADLINE_S = 30


class TestTookTooLong(Exception):
    """A test ran past its deadline (not an OSError, so no socket wait swallows it)."""


class Daemon:
    """One coordd run at a time on a fixed socket and repository, restartable."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.root = workdir / "repo"
        self.coordination = self.root / ".muse" / "coordination"
        (self.coordination / "reservations").mkdir(parents=True)
        self.socket = str(workdir / "coordd.sock")
        self.log = workdir / "coordd.log"
        self.process: Optional[subprocess.Popen[bytes]] = None

    def start(self, *extra: str, state_dir: str = "none") -> None:
        """Starts coordd and returns once its socket answers (deadline 10 s)."""
        argv = [self.binary, "--root", str(self.root), "--socket", self.socket,
                "--state-dir", state_dir, "--log-level", "info", *extra]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"coordd exited with {self.process.returncode}: "
                                   f"{self.log.read_text()}")
            probe = socket.socket(socket.AF_UNIX)
            try:
                probe.connect(self.socket)
                return
            except OSError:
                time.sleep(0.01)
            finally:
                probe.close()
        raise RuntimeError(f"coordd did not answer on {self.socket} within 10 s")

    def stop(self) -> None:
        """Stops coordd (SIGTERM, then SIGKILL after 5 s) and waits for it."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        """A new daemon run (a new epoch) on the same socket and repository."""
        self.stop()
        self.start()

    def write_record(self, kind_dir: str, record_id: str, data: Dict[str, Any]) -> None:
        """Writes a record as agents do: a dot-temp file renamed into place."""
        directory = self.coordination / kind_dir
        directory.mkdir(parents=True, exist_ok=True)
        temp = directory / f".{record_id}.tmp"
        temp.write_text(json.dumps(data))
        os.rename(temp, directory / f"{record_id}.json")

    def remove_record(self, kind_dir: str, record_id: str) -> None:
        """Removes a record's file."""
        (self.coordination / kind_dir / f"{record_id}.json").unlink()


def reservation(record_id: str, **fields: Any) -> Dict[str, Any]:
    """A reservation record that stays active for an hour."""
    data: Dict[str, Any] = {"reservation_id": record_id, "run_id": "agent-1", "branch": "main",
                            "addresses": ["billing.py::compute_total"],
                            "expires_at": "2099-01-01T00:00:00+00:00"}
    data.update(fields)
    return data


def events_until(lines: Iterator[Dict[str, Any]], count: int,
                 wanted: str = "event") -> List[Dict[str, Any]]:
    """The next ``count`` lines of type ``wanted``, skipping others."""
    out: List[Dict[str, Any]] = []
    for line in lines:
        if line.get("type") == wanted:
            out.append(line)
            if len(out) == count:
                break
    return out


@pytest.fixture(autouse=True)
def test_deadline() -> Iterator[None]:
    """Fails a test that runs past TEST_DEADLINE_S instead of letting it hang."""
    def expire(signum: int, frame: Any) -> None:
        raise TestTookTooLong(f"the test ran past its {TEST_DEADLINE_S} s deadline")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(TEST_DEADLINE_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def daemon() -> Iterator[Daemon]:
    """A running coordd on a temp socket and temp repository, stopped at teardown."""
    binary = os.environ.get("COORDD_BIN", "build/daemon/coordd")
    if not os.path.exists(binary):
        pytest.fail(f"no coordd binary at {binary} (set COORDD_BIN)")
    # Short: a Unix socket path has at most 107 bytes, and pytest's tmp_path is long.
    workdir = Path(tempfile.mkdtemp(prefix="coordd-py-"))
    running = Daemon(binary, workdir)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        shutil.rmtree(workdir, ignore_errors=True)
