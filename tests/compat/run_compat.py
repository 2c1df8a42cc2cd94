#!/usr/bin/env python3
"""The compat suite: recorded expectations of `muse coord watch`, run against
the real `coordctl watch`, each case twice: through a real coordd (daemon
mode) and with nothing listening on the socket (standalone mode).

  python3 tests/compat/run_compat.py --coordctl BIN --coordd BIN [CASE...]

CASE is a case name or a glob over names (default: all). Prints one line per
case and mode, the differences under each failure, then a summary; exits 1 if
anything failed. Python 3 standard library only. The case format is described
in tests/compat/README.md; the cases are tests/compat/cases/*.json.

Every wait has a deadline; nothing sleeps to assert. Each run gets its own
temporary directory (repository, socket, a directory outside any repository),
removed afterwards, and every process started is killed.
"""

import argparse
import atexit
import concurrent.futures
import copy
import datetime
import difflib
import fnmatch
import json
import os
import pathlib
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
KINDS = ("reservations", "intents", "releases", "heartbeats", "tasks", "claims", "dependencies")
MODES = ("daemon", "standalone")
EVENT_KEYS = ["schema_version", "event_type", "kind", "id", "timestamp", "data", "seq", "root"]
TIMESTAMP_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00")
NOW_RE = re.compile(r"\{now([+-]\d+(?:\.\d+)?)\}")
DEFAULT_DEADLINE_S = 8.0
COORDD_READY_S = 10.0


class CaseError(Exception):
    """A case that cannot run as written (a bug in the case file)."""


# Every process started and temp dir made, so that none outlives the runner
# (Ctrl-C and SIGTERM, as from meson's timeout, included).
_live = set()
_live_dirs = set()
_live_lock = threading.Lock()


def spawn(argv, **kwargs):
    process = subprocess.Popen(argv, **kwargs)
    with _live_lock:
        _live.add(process)
    return process


def reap(process):
    if process.poll() is None:
        process.kill()
    process.wait()
    with _live_lock:
        _live.discard(process)


@atexit.register
def _kill_leftovers():
    with _live_lock:
        leftovers, dirs = list(_live), list(_live_dirs)
    for process in leftovers:
        if process.poll() is None:
            process.kill()
    for path in dirs:
        shutil.rmtree(path, ignore_errors=True)


def _on_signal(signum, _frame):
    _kill_leftovers()
    os._exit(128 + signum)


# --- loading ------------------------------------------------------------------

def load_cases(directory):
    cases, names = [], set()
    for path in sorted(directory.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        entries = doc["cases"] if "cases" in doc else [doc]
        for entry in entries:
            case = copy.deepcopy(doc.get("defaults", {}))
            case.update(copy.deepcopy(entry))
            case["templates"] = {**doc.get("templates", {}), **entry.get("templates", {})}
            records = case.get("records")
            if isinstance(records, str):  # "$name": a template holding the whole list
                case["records"] = copy.deepcopy(case["templates"][records[1:]])
            case["file"] = path.name
            if case["name"] in names:
                raise CaseError(f"{path.name}: duplicate case name {case['name']}")
            names.add(case["name"])
            cases.append(case)
    return cases


# --- one run of one case in one mode --------------------------------------------

class LineReader:
    """Reads a pipe line by line on a thread; the caller waits with deadlines."""

    def __init__(self, pipe):
        self.lines = []
        self._queue = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(pipe,), daemon=True)
        self._thread.start()

    def _pump(self, pipe):
        for raw in iter(pipe.readline, b""):
            self._queue.put(raw)
        self._queue.put(None)
        pipe.close()

    def wait_for(self, count, deadline):
        """True once `count` lines have arrived; False at the deadline or EOF."""
        while len(self.lines) < count:
            try:
                raw = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return False
            if raw is None:
                self._queue.put(None)
                return False
            self.lines.append(raw)
        return True

    def drain(self, deadline):
        while True:
            try:
                raw = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return
            if raw is None:
                self._queue.put(None)
                return
            self.lines.append(raw)


class TextCollector:
    """Collects a pipe's bytes on a thread; can wait for a substring."""

    def __init__(self, pipe):
        self._chunks = []
        self._cond = threading.Condition()
        self._done = False
        self._thread = threading.Thread(target=self._pump, args=(pipe,), daemon=True)
        self._thread.start()

    def _pump(self, pipe):
        for chunk in iter(lambda: pipe.read1(65536), b""):
            with self._cond:
                self._chunks.append(chunk)
                self._cond.notify_all()
        with self._cond:
            self._done = True
            self._cond.notify_all()
        pipe.close()

    def text(self):
        with self._cond:
            return b"".join(self._chunks).decode("utf-8", errors="backslashreplace")

    def wait_for(self, needle, deadline):
        with self._cond:
            while needle not in b"".join(self._chunks).decode("utf-8", errors="replace"):
                remaining = deadline - time.monotonic()
                if self._done or remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def join(self, deadline):
        self._thread.join(max(0.0, deadline - time.monotonic()))


def stop(process, grace_s):
    """SIGTERM, then SIGKILL after `grace_s`."""
    if process is None:
        return
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            pass
    reap(process)


class Run:
    def __init__(self, case, mode, programs):
        self.case, self.mode, self.programs = case, mode, programs
        self.times = {}          # "{now+1.5}" -> its ISO text, fixed at first use
        self.problems = []
        self.notes = []

    # placeholders: {tmp} {repo} {outside} {sock} {nowhere} {now+S}; "$name" = a template
    def subst(self, value):
        if isinstance(value, dict):
            if set(value) == {"repeat", "count"}:
                return value["repeat"] * value["count"]
            return {k: self.subst(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.subst(v) for v in value]
        if isinstance(value, str):
            if value.startswith("$") and value[1:] in self.case["templates"]:
                return self.subst(copy.deepcopy(self.case["templates"][value[1:]]))
            value = NOW_RE.sub(lambda m: self.time_of(m.group(0), float(m.group(1))), value)
            for key, path in self.paths.items():
                value = value.replace("{" + key + "}", path)
            return value
        return value

    def time_of(self, text, offset_s):
        if text not in self.times:
            moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_s)
            self.times[text] = moment.isoformat()
        return self.times[text]

    # --- the file system, as agents and Muse leave it ---

    def make_tree(self):
        tmp = self.paths["tmp"]
        layout = self.case.get("layout", "full")
        repo = pathlib.Path(self.paths["repo"])
        if layout == "full":
            for kind in KINDS:
                (repo / ".muse" / "coordination" / kind).mkdir(parents=True)
        elif layout == "bare":
            (repo / ".muse").mkdir(parents=True)
        else:
            raise CaseError(f"unknown layout {layout!r}")
        pathlib.Path(self.paths["outside"]).mkdir()
        os.mkdir(os.path.join(tmp, "sock"), 0o700)
        for step in self.case.get("setup", []):
            step = self.subst(step)
            if "mkdir" in step:
                pathlib.Path(step["mkdir"]).mkdir(parents=True, exist_ok=True)
            elif "file" in step:
                pathlib.Path(step["file"]).parent.mkdir(parents=True, exist_ok=True)
                pathlib.Path(step["file"]).write_text(step.get("text", ""), encoding="utf-8")
            elif "symlink" in step:
                os.symlink(step["to"], step["symlink"])
            else:
                raise CaseError(f"unknown setup step {step}")

    def record_path(self, record):
        root = self.subst(record.get("root", "{repo}"))
        if record["kind"] not in KINDS:
            raise CaseError(f"unknown kind directory {record['kind']!r}")
        name = record["file"] if "file" in record else record["id"] + ".json"
        return pathlib.Path(root, ".muse", "coordination", record["kind"], name)

    def write_record(self, record, how="rename"):
        path = self.record_path(record)
        if "raw" in record:
            body = record["raw"].encode("utf-8")
        else:
            body = (json.dumps(self.subst(record["data"]), indent=2) + "\n").encode("utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        if how == "in_place":
            with open(path, "wb") as f:      # open, truncate, write, close
                f.write(body)
        elif how == "rename":
            temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            with open(temp, "wb") as f:      # as Muse's write_text_atomic: temp + rename
                f.write(body)
            os.replace(temp, path)
        else:
            raise CaseError(f"unknown write method {how!r}")

    def act(self, action):
        op = action.get("op", "write")
        if op == "write":
            self.write_record(action, action.get("how", "rename"))
        elif op == "delete":
            self.record_path(action).unlink()
        else:
            raise CaseError(f"unknown action {op!r}")

    # --- processes ---

    def start_coordd(self):
        root = self.subst(self.case.get("daemon_root", "{repo}"))
        argv = [self.programs["coordd"], "--root", root, "--socket", self.paths["sock"],
                "--log-level", "info", "--state-dir", "none"]
        self.coordd = spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE)
        self.coordd_err = TextCollector(self.coordd.stderr)
        # coordd logs "serving" once its socket accepts connections.
        if not self.coordd_err.wait_for(" serving ", time.monotonic() + COORDD_READY_S):
            raise RuntimeError("coordd did not start (no ' serving ' on its stderr within "
                               f"{COORDD_READY_S:g} s); its stderr:\n" + self.coordd_err.text())

    def coordctl_argv(self):
        socket_path = self.paths["sock"] if self.mode == "daemon" else self.paths["nowhere"]
        prefix = ["--require-daemon"] if self.mode == "daemon" else []
        if self.case.get("socket", "flag") == "flag":
            prefix += ["--socket", socket_path]
        return ([self.programs["coordctl"], "watch"] + prefix + self.subst(self.case["argv"]),
                socket_path)

    def environment(self, socket_path):
        env = dict(os.environ)
        for name in ("MUSE_REPO_ROOT", "COORDD_SOCKET"):
            env.pop(name, None)
        env["COORDD_SOCKET"] = socket_path   # never the user's own daemon
        env.update(self.subst(self.case.get("env", {})))
        for name in self.case.get("unset_env", []):
            env.pop(name, None)
        return env

    def execute(self):
        # Short: a Unix socket path must fit in 108 bytes.
        parent = None if len(tempfile.gettempdir()) < 60 else "/tmp"
        self.tmpdir = tempfile.mkdtemp(prefix="compat-", dir=parent)
        with _live_lock:
            _live_dirs.add(self.tmpdir)
        tmp = os.path.realpath(self.tmpdir)
        self.paths = {"tmp": tmp, "repo": tmp + "/repo", "outside": tmp + "/outside",
                      "sock": tmp + "/sock/coordd.sock", "nowhere": tmp + "/nobody/coordd.sock"}
        self.coordd = self.watch = None
        try:
            self.make_tree()
            for record in self.case.get("records", []):
                self.write_record(record)
            if self.mode == "daemon":
                self.start_coordd()
            self.run_watch()
            self.check()
        finally:
            if self.watch is not None:
                reap(self.watch)
            stop(self.coordd, 5.0)
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            with _live_lock:
                _live_dirs.discard(self.tmpdir)

    def run_watch(self):
        argv, socket_path = self.coordctl_argv()
        self.argv = argv
        cwd = self.subst(self.case.get("cwd", "{repo}"))
        deadline_s = float(self.case.get("deadline_s", DEFAULT_DEADLINE_S))
        self.watch = spawn(argv, cwd=cwd, env=self.environment(socket_path),
                                      stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE)
        self.out = LineReader(self.watch.stdout)
        self.err = TextCollector(self.watch.stderr)
        self.timed_out = None
        for number, step in enumerate(self.case.get("steps", []), 1):
            wanted = step["after_lines"]
            if not self.out.wait_for(wanted, time.monotonic() + deadline_s):
                self.timed_out = (f"step {number} waits for {wanted} line(s): got "
                                  f"{len(self.out.lines)} within {deadline_s:g} s"
                                  + ("" if self.watch.poll() is None else " (the watch had exited)"))
                break
            for action in step["actions"]:
                self.act(action)
        deadline = time.monotonic() + deadline_s
        if self.timed_out is None:
            try:
                self.watch.wait(deadline_s)
            except subprocess.TimeoutExpired:
                self.timed_out = f"the watch did not exit within {deadline_s:g} s"
        reap(self.watch)
        self.out.drain(time.monotonic() + 2.0)
        self.err.join(time.monotonic() + 2.0)
        self.returncode = self.watch.returncode

    # --- the comparison ---

    def check(self):
        expect = self.case["expect"]
        if self.timed_out:
            self.problems.append(f"timeout: {self.timed_out} (killed)")
        elif self.returncode != expect["exit"]:
            how = (f"signal {-self.returncode}" if self.returncode < 0 else str(self.returncode))
            self.problems.append(f"exit status: expected {expect['exit']}, got {how}")
        lines = []
        for raw in self.out.lines:
            try:
                lines.append(raw.decode("utf-8").rstrip("\n"))
            except UnicodeDecodeError:
                lines.append(raw.decode("utf-8", errors="backslashreplace").rstrip("\n"))
                self.problems.append("stdout is not UTF-8")
        if "stdout_lines" in expect:
            self.compare_lines("stdout", self.subst(expect["stdout_lines"]), lines)
        if "stdout" in expect:
            self.compare_events(expect["stdout"], lines)
        stderr_expect = self.subst(expect.get("stderr", ""))
        stderr = self.err.text()
        if isinstance(stderr_expect, dict):
            if not re.fullmatch(stderr_expect["regex"], stderr):
                self.problems.append("stderr does not match /" + stderr_expect["regex"] + "/:\n"
                                     + indent(stderr or "(empty)"))
        elif stderr_expect is not None and stderr != stderr_expect:
            self.compare_lines("stderr", stderr_expect.splitlines(), stderr.splitlines())
        for path in self.subst(expect.get("paths_exist", [])):
            if not os.path.isdir(path):
                self.problems.append(f"missing directory: {self.show_path(path)}")
        for path in self.subst(expect.get("paths_absent", [])):
            if os.path.lexists(path):
                self.problems.append(f"should not exist: {self.show_path(path)}")

    def show_path(self, path):
        return path.replace(self.paths["tmp"], "{tmp}")

    def compare_lines(self, what, expected, actual):
        if expected == actual:
            return
        diff = difflib.unified_diff(expected, actual, "expected " + what, "actual " + what,
                                    lineterm="", n=2)
        self.problems.append(f"{what} differs:\n" + indent("\n".join(diff)))

    def compare_events(self, expected_events, lines):
        initial = {(r["kind"], r["id"]): r for r in self.case.get("records", [])}
        expected, root = [], os.path.realpath(self.subst(expect_root(self.case)))
        for event in expected_events:
            event = dict(event)
            if "data" not in event:
                record = initial.get((event["kind"], event["id"]))
                if event["event_type"] != "snapshot" or record is None or "data" not in record:
                    raise CaseError(f"expected event {event} needs its data")
                event["data"] = record["data"]
            event["data"] = self.subst(event["data"])
            expected.append(event)

        actual, actual_norm, format_problems = [], [], {}
        for number, line in enumerate(lines, 1):
            parsed, problems = parse_event_line(line, root)
            for problem in problems:
                format_problems.setdefault(problem, []).append(number)
            actual.append(parsed)
            actual_norm.append(normal_form(parsed) if parsed is not None else "(raw) " + line)
        expected_norm = [normal_form(e) for e in expected]
        if expected_norm != actual_norm:
            summary = f"{len(expected)} line(s) expected, {len(lines)} printed"
            diff = difflib.unified_diff(expected_norm, actual_norm, "expected", "actual",
                                        lineterm="", n=3)
            self.problems.append(f"stdout events differ ({summary}); lines as "
                                 "'event_type kind id data [cause=...]':\n" + indent("\n".join(diff)))
            # Line by line, what differs (the diff above can hide a one-word change).
            field_problems = {}
            for number, (want, got) in enumerate(zip(expected, actual), 1):
                if got is None:
                    continue
                for key in ("event_type", "kind", "id", "data", "cause"):
                    if key not in want and key != "cause":
                        continue
                    if key == "cause" and "cause" not in want and "cause" not in got:
                        continue
                    if json.dumps(want.get(key)) != json.dumps(got.get(key)):
                        if key == "data" and sorted_json(want.get(key)) == sorted_json(got.get(key)):
                            text = "data: the expected keys and values, in another key order"
                        elif key == "data":
                            text = "data differs"
                        else:
                            text = f"{key}: expected {want.get(key)!r}, got {got.get(key, '(absent)')!r}"
                        field_problems.setdefault(text, []).append(number)
            for text, numbers in field_problems.items():
                self.problems.append(f"{where_text(numbers, len(lines))}: {text}")
        for problem, numbers in format_problems.items():
            self.problems.append(f"line format, {where_text(numbers, len(lines))}: {problem}")
        if format_problems:
            self.notes.append("first line as printed: " + (lines[0] if lines else ""))


def expect_root(case):
    return case["expect"].get("root", case.get("daemon_root", "{repo}"))


def indent(text, by="    "):
    return "\n".join(by + line for line in text.splitlines())


def normal_form(event):
    text = " ".join([str(event.get("event_type")), str(event.get("kind")), str(event.get("id")),
                     json.dumps(event.get("data"))])
    if "cause" in event:
        text += " cause=" + str(event["cause"])
    return text


def sorted_json(value):
    return json.dumps(value, sort_keys=True)


def where_text(numbers, total):
    if len(numbers) == total and total > 1:
        return "every line"
    return ("line " if len(numbers) == 1 else "lines ") + ", ".join(map(str, numbers))


def parse_event_line(line, root):
    """(the event as a dict, or None; problems with how the line is written)."""
    problems = []
    try:
        pairs = json.loads(line, object_pairs_hook=lambda p: p)
        obj = json.loads(line)
    except ValueError:
        return None, ["not JSON"]
    if not isinstance(obj, dict):
        return None, ["not a JSON object"]
    if json.dumps(obj) != line:
        problems.append("not as Python's json.dumps() writes it (separators ', ' ': ', "
                        "ensure_ascii, number forms): json.dumps(json.loads(line)) is\n"
                        + indent(json.dumps(obj)))
    keys = [k for k, _ in pairs]
    wanted = EVENT_KEYS + (["cause"] if obj.get("event_type") == "expired" else [])
    if keys != wanted:
        problems.append(f"keys {keys}, expected {wanted}")
    if obj.get("schema_version") != "1":
        problems.append(f"schema_version {obj.get('schema_version')!r}, expected '1'")
    stamp = obj.get("timestamp")
    if not (isinstance(stamp, str) and TIMESTAMP_RE.fullmatch(stamp) and valid_time(stamp)):
        problems.append(f"timestamp {stamp!r} is not datetime.isoformat() of a UTC time")
    if "seq" in obj and (type(obj["seq"]) is not int):
        problems.append(f"seq {obj['seq']!r} is not an integer")
    if "root" in obj and obj["root"] != root:
        problems.append(f"root {obj['root']!r}, expected {root!r}")
    if obj.get("event_type") == "expired" and obj.get("cause") not in ("ttl", "released"):
        problems.append(f"cause {obj.get('cause')!r}, expected 'ttl' or 'released'")
    return obj, problems


def valid_time(stamp):
    try:
        return datetime.datetime.fromisoformat(stamp).utcoffset() == datetime.timedelta(0)
    except ValueError:
        return False


# --- driving ------------------------------------------------------------------

def run_one(case, mode, programs):
    run = Run(case, mode, programs)
    try:
        run.execute()
    except CaseError as error:
        run.problems.append(f"the case is wrong: {error}")
    except Exception as error:  # noqa: BLE001 - reported as this run's failure
        run.problems.append(f"could not run: {error!r}")
    return run


def report(run, verbose):
    case = run.case
    status = "FAIL" if run.problems else "PASS"
    print(f"{status}  {run.mode:<10}  {case['name']}", flush=True)
    if not run.problems and not verbose:
        return
    print(f"      case: {case['file']}  why: {case['why']}")
    if case.get("difference"):
        print(f"      documented difference from Muse: {case['difference']}")
    if hasattr(run, "argv"):
        shown = [run.show_path(a) for a in run.argv[1:]]
        print("      ran: coordctl " + " ".join(shorten(a) for a in shown)
              + f"   (cwd {run.show_path(run.subst(case.get('cwd', '{repo}')))})")
    for problem in run.problems:
        first, _, rest = problem.partition("\n")
        print("      - " + first)
        if rest:
            print(indent(rest, "        "))
    for note in run.notes:
        print("      note: " + note)
    if verbose and getattr(run, "coordd", None) is not None:
        print("      coordd stderr:\n" + indent(run.coordd_err.text(), "        "))


def shorten(arg):
    if len(arg) > 40:
        return repr(arg[:12] + f"...({len(arg)} chars)")
    return arg if arg and re.fullmatch(r"[-\w.=/+:{}]+", arg) else repr(arg)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--coordctl", required=True, help="the coordctl binary under test")
    parser.add_argument("--coordd", required=True, help="the coordd binary to run in daemon mode")
    parser.add_argument("--mode", choices=MODES, action="append", help="only this mode (repeatable)")
    parser.add_argument("--jobs", "-J", type=int, default=4, help="runs in parallel (default 4)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="details for passing runs too, and coordd's stderr")
    parser.add_argument("cases", nargs="*", metavar="CASE", help="case names or globs")
    args = parser.parse_args()

    cases = load_cases(HERE / "cases")
    if args.cases:
        chosen = [c for c in cases if any(fnmatch.fnmatchcase(c["name"], p) for p in args.cases)]
        unknown = [p for p in args.cases if not any(fnmatch.fnmatchcase(c["name"], p) for c in cases)]
        if unknown:
            parser.error("no case named " + ", ".join(unknown))
        cases = chosen
    if args.list:
        for case in cases:
            print(f"{case['name']:<52} {case['file']}")
        return 0
    programs = {"coordctl": os.path.abspath(args.coordctl), "coordd": os.path.abspath(args.coordd)}
    for name, path in programs.items():
        if not os.access(path, os.X_OK):
            parser.error(f"--{name} {path}: not an executable")

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    modes = args.mode or list(MODES)
    jobs = [(c, m) for c in cases for m in modes if m in c.get("modes", MODES)]
    started = time.monotonic()
    failed = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_one, c, m, programs) for c, m in jobs]
        for future in futures:
            run = future.result()
            report(run, args.verbose)
            if run.problems:
                failed.append(run)
    elapsed = time.monotonic() - started
    print()
    print(f"{len(jobs) - len(failed)} passed, {len(failed)} failed, of {len(jobs)} runs "
          f"({len(cases)} cases x modes) in {elapsed:.1f} s")
    if failed:
        by_case = {}
        for run in failed:
            by_case.setdefault(run.case["name"], []).append(run.mode)
        print("failed: " + ", ".join(f"{name} [{'+'.join(m)}]" for name, m in by_case.items()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
