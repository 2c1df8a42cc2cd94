#!/usr/bin/env python3
"""Records what Muse's `muse coord watch` parser and validation print, with
real argparse, as the compat suite's expectations.

Writes (the runner reads only these files, never this script):
  cases/argparse_errors.json   usage errors: exit 2, usage + "error:" on stderr
  cases/validation.json        Muse's own checks in run(): exit 1, bad_args
and checks the "argparse" field (the Namespace argparse makes) of every case
in cases/argparse_accepts.json, rewriting it if it drifted.

  python3 tests/compat/record_argparse.py           # regenerate
  python3 tests/compat/record_argparse.py --check   # exit 1 if anything would change

Run it with the Python Muse targets (3.11); the recorded texts are argparse's.
The parser below is Muse's register() re-typed (muse/cli/commands/coord/
watch.py, see /work/shared/reference/muse_coord_watch.py.txt) with prog
"coordctl watch"; the validation is the top of Muse's run(), re-typed.
"""

import argparse
import contextlib
import io
import json
import os
import pathlib
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent
CASES = HERE / "cases"
PROG = "coordctl watch"

# Muse's _SUBDIRS and limits, as in watch.py.
SUBDIRS = ("reservations", "intents", "releases", "heartbeats", "tasks", "claims", "dependencies")
VALID_KINDS = frozenset(SUBDIRS)
MAX_RUN_ID_LEN = 256
MIN_POLL_INTERVAL = 0.01
MAX_POLL_INTERVAL = 3600.0

# The options coordctl watch adds to Muse's (the usage text differs by these).
COORDCTL_EXTRA_LONG = ("--root", "--socket", "--require-daemon", "--format", "--coordd-events")


def add_watch_arguments(parser):
    """Muse's register(), argument for argument."""
    parser.add_argument("--once", action="store_true", default=False,
                        help="Emit current state as snapshot events, then exit.")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="Stop watching after SECONDS seconds (>= 0). 0 is equivalent to --once.")
    parser.add_argument("--max-events", type=int, default=None, metavar="N", dest="max_events",
                        help="Exit after emitting N events (>= 1).")
    parser.add_argument("--poll-interval", type=float, default=1.0, metavar="SECS",
                        dest="poll_interval",
                        help=f"Polling/kqueue-timeout interval in seconds (default: 1.0; "
                             f"range: [{MIN_POLL_INTERVAL}, {MAX_POLL_INTERVAL}]).")
    parser.add_argument("--run-id", default=None, metavar="RUNID", dest="run_id",
                        help=f"Only emit events where data.run_id matches. "
                             f"Maximum {MAX_RUN_ID_LEN} characters.")
    parser.add_argument("--branch", "-b", default=None, metavar="BRANCH", dest="branch_filter",
                        help="Only emit events where data.branch matches.")
    parser.add_argument("--kind", default=None, choices=sorted(VALID_KINDS), metavar="KIND",
                        help=f"Only emit events for this kind ({' | '.join(sorted(VALID_KINDS))}).")
    parser.add_argument("--json", "-j", action="store_true", dest="json_out",
                        help="Emit machine-readable JSON events on stdout.")
    parser.set_defaults(func=None, json_out=False)


def flat_parser():
    parser = argparse.ArgumentParser(prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_watch_arguments(parser)
    return parser


def muse_parser():
    """muse -> coord -> watch, as Muse nests them: unrecognized arguments are
    reported by the top-level parser (argparse's parse_args on the extras the
    subparsers' parse_known_args left), so there the prog and usage are muse's."""
    top = argparse.ArgumentParser(prog="muse")
    coord = top.add_subparsers(dest="command").add_parser("coord")
    watch = coord.add_subparsers(dest="coord_command").add_parser(
        "watch", formatter_class=argparse.RawDescriptionHelpFormatter)
    add_watch_arguments(watch)
    return top


def parse(parser, argv):
    """(namespace or None, exit status or None, stderr text)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            return parser.parse_args(argv), None, err.getvalue()
        except SystemExit as stop:
            return None, stop.code, err.getvalue()


def error_line(stderr_text):
    lines = stderr_text.splitlines()
    assert lines and ": error: " in lines[-1], stderr_text
    return lines[-1].split(": error: ", 1)[1]


def namespace_of(ns):
    return {k: v for k, v in sorted(vars(ns).items()) if k not in ("func", "command", "coord_command")}


def usage_error_regex(message):
    # The usage line (argparse wraps it, continuation lines indented) differs
    # from Muse's by coordctl's extra options, so only its shape is pinned;
    # the error line is Muse's, exactly.
    return (r"usage: coordctl watch [^\n]*\n(?:[ \t][^\n]*\n)*"
            + "coordctl watch: error: " + re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", message)
            + r"\n")


def display_argv(argv):
    return " ".join(a if a and re.fullmatch(r"[-\w.=/+:]+", a) else repr(a) for a in argv)


# --- usage errors -------------------------------------------------------------

# (name, argv, why) — the message and the channel are recorded from argparse.
USAGE_ERRORS = [
    ("argparse-run-id-missing-value", ["--run-id", "--once"],
     "argparse consume_optional/_match_argument: --run-id takes one argument and the next "
     "string is an option, so 'expected one argument' (not --run-id='--once')"),
    ("argparse-run-id-missing-value-at-end", ["--once", "--run-id"],
     "argparse _match_argument: nothing follows --run-id"),
    ("argparse-run-id-dash-value", ["--run-id", "-x"],
     "argparse: '-x' looks like an option (not a negative number), so it is not a value"),
    ("argparse-branch-missing-value", ["-b"],
     "argparse names the action by all its option strings: 'argument --branch/-b'"),
    ("argparse-kind-missing-value", ["--kind"], "argparse _match_argument"),
    ("argparse-timeout-missing-value", ["--json", "--timeout"], "argparse _match_argument"),
    ("argparse-timeout-invalid-float", ["--timeout", "abc"],
     "argparse _get_value: type=float raises ValueError -> 'invalid float value: %r'"),
    ("argparse-timeout-invalid-float-quote", ["--timeout", "a'b"],
     "argparse quotes the value with repr(): a value holding ' is shown in double quotes"),
    ("argparse-poll-interval-invalid-float", ["--poll-interval", "fast"], "type=float"),
    ("argparse-max-events-invalid-int", ["--max-events", "x"],
     "argparse _get_value: type=int -> 'invalid int value: %r'"),
    ("argparse-max-events-not-integral", ["--max-events", "1.5"], "int('1.5') raises ValueError"),
    ("argparse-max-events-empty", ["--max-events", ""], "int('') raises ValueError"),
    ("argparse-kind-invalid-choice", ["--kind", "foo"],
     "register(): choices=sorted(_VALID_KINDS), the plural directory names; argparse "
     "_check_value -> 'invalid choice: %r (choose from ...)'"),
    ("argparse-kind-invalid-choice-lease", ["--kind", "lease"], "_check_value"),
    ("argparse-kind-invalid-choice-empty", ["--kind="], "--kind= gives the empty string, not a choice"),
    ("argparse-kind-invalid-choice-non-ascii", ["--kind", "résé"],
     "repr() keeps printable non-ASCII characters as they are"),
    ("argparse-unrecognized-option", ["--foo"],
     "parse_args: an unknown option string is left over -> 'unrecognized arguments: --foo'"),
    ("argparse-unrecognized-positional", ["--once", "extra"],
     "watch takes no positional arguments: 'extra' is left over"),
    ("argparse-unrecognized-several", ["--foo", "bar", "--once", "--baz"],
     "every left-over string is listed, in order, joined by spaces"),
    ("argparse-unrecognized-after-double-dash", ["--", "--once"],
     "after '--' every string is positional, so --once is left over"),
    ("argparse-store-true-explicit-value", ["--once=1"],
     "argparse consume_optional: a store_true option given =VALUE -> 'ignored explicit argument'"),
    ("argparse-json-explicit-value", ["--json=yes"],
     "the same for --json/-j, named by both option strings"),
    ("argparse-short-json-bundled-unknown", ["-jx"],
     "argparse: -j takes no argument, so 'x' is tried as the next short flag -x, which does not exist"),
    ("argparse-error-before-validation", ["--max-events", "0", "--kind", "foo"],
     "argparse errors (exit 2) come before run()'s validation (exit 1) of --max-events 0"),
    ("argparse-first-bad-value-wins", ["--timeout", "1", "--timeout", "abc", "--max-events", "y"],
     "argparse converts values as it consumes them, left to right: the first bad one is reported"),
]


# --- Muse's validation in run() -----------------------------------------------

def muse_validation(ns):
    """The top of Muse's run(): (exit, stdout lines, stderr) or None if valid."""
    as_json = ns.json_out
    run_id, poll, timeout, max_events = ns.run_id, ns.poll_interval, ns.timeout, ns.max_events
    msg = None
    if run_id is not None and len(run_id) > MAX_RUN_ID_LEN:
        msg = f"--run-id is too long ({len(run_id)} chars; max {MAX_RUN_ID_LEN})"
    elif not (MIN_POLL_INTERVAL <= poll <= MAX_POLL_INTERVAL):
        msg = f"--poll-interval must be in [{MIN_POLL_INTERVAL}, {MAX_POLL_INTERVAL}], got {poll}"
    elif timeout is not None and timeout < 0.0:
        msg = f"--timeout must be >= 0, got {timeout}"
    elif max_events is not None and max_events < 1:
        msg = f"--max-events must be >= 1, got {max_events}"
    if msg is None:
        return None
    if as_json:
        return 1, [json.dumps({"error": msg, "status": "bad_args"})], ""
    return 1, [], f"❌ {msg}\n"


def rep(text, count):
    return {"repeat": text, "count": count}


def expand(argv):
    return [a["repeat"] * a["count"] if isinstance(a, dict) else a for a in argv]


# (name, argv, why, extra case fields)
VALIDATION = [
    ("validation-run-id-too-long-json", ["--json", "--run-id", rep("x", 300)],
     "run(): len(run_id) > _MAX_RUN_ID_LEN (256) -> with --json one line "
     "json.dumps({'error': msg, 'status': 'bad_args'}) on stdout, SystemExit(USER_ERROR=1)", {}),
    ("validation-run-id-too-long-text", ["--run-id", rep("x", 300)],
     "run(): without --json the message goes to stderr as '❌ msg'", {}),
    ("validation-run-id-counts-code-points", ["-j", "--run-id", rep("é", 257)],
     "len() of a str counts code points: 257 'é' (514 bytes) is 257 chars", {}),
    ("validation-poll-interval-zero-json", ["-j", "--poll-interval", "0"],
     "run(): not (_MIN_POLL_INTERVAL <= poll_interval <= _MAX_POLL_INTERVAL); the bounds and "
     "the value print as Python floats ('0.01', '3600.0', '0.0')", {}),
    ("validation-poll-interval-zero-text", ["--poll-interval", "0"], "as above, on stderr", {}),
    ("validation-poll-interval-too-large", ["--json", "--poll-interval", "3601"],
     "3601 parsed by float() prints as 3601.0", {}),
    ("validation-poll-interval-repr-small", ["--json", "--poll-interval", "1e-5"],
     "repr(1e-05): Python's float repr, exponent with two digits", {}),
    ("validation-timeout-negative-json", ["--json", "--timeout", "-1"],
     "run(): timeout < 0.0 -> '--timeout must be >= 0, got -1.0' (argparse takes '-1' as a "
     "value: it looks like a negative number and no option does)", {}),
    ("validation-timeout-negative-text", ["--timeout", "-1"], "as above, on stderr", {}),
    ("validation-timeout-negative-fraction", ["-j", "--timeout", "-0.5"], "repr(-0.5)", {}),
    ("validation-max-events-zero-json", ["--json", "--max-events", "0"],
     "run(): max_events < 1 -> '--max-events must be >= 1, got 0'", {}),
    ("validation-max-events-zero-text", ["--max-events", "0"], "as above, on stderr", {}),
    ("validation-max-events-negative-padded", ["--json", "--max-events", "-007"],
     "int('-007') is -7, printed as -7", {}),
    ("validation-order-run-id-first", ["--json", "--timeout", "-1", "--max-events", "0",
                                       "--run-id", rep("r", 257)],
     "run() checks run-id, poll-interval, timeout, max-events in that order and stops at the first", {}),
    ("validation-order-poll-before-timeout", ["--json", "--timeout", "-1", "--poll-interval", "0"],
     "poll-interval is checked before timeout", {}),
    ("validation-before-repo-discovery", ["--json", "--max-events", "0"],
     "run() validates before require_repo(): outside any repository a bad value is still exit 1 "
     "bad_args, not the 'not a muse repository' error",
     {"cwd": "{outside}", "socket": "env"}),
    ("validation-before-creating-coordination-dirs", ["--json", "--timeout", "-1"],
     "run() validates before _ensure_coord_dirs(): a repository holding only .muse/ is left "
     "without .muse/coordination/",
     {"layout": "bare", "modes": ["standalone"],
      "modes_why": "only standalone: in daemon mode coordd itself may create the directories",
      "expect_extra": {"paths_absent": ["{repo}/.muse/coordination"]}}),
]


def generate():
    os.environ["COLUMNS"] = "80"  # argparse wraps usage by the terminal width
    flat, nested = flat_parser(), muse_parser()
    notes = []

    usage_cases = []
    for name, argv, why in USAGE_ERRORS:
        ns, status, err = parse(flat, argv)
        assert ns is None and status == 2, (name, ns, status)
        message = error_line(err)
        _, muse_status, muse_err = parse(nested, ["coord", "watch", *argv])
        assert muse_status == 2 and error_line(muse_err) == message, (name, muse_err)
        reporter = muse_err.splitlines()[-1].split(": error: ", 1)[0]
        case = {
            "name": name,
            "why": f"{why}. Recorded with Python {sys.version.split()[0]} argparse: "
                   f"`{display_argv(argv)}` -> exit 2, error: {message}",
            "argv": argv,
            "expect": {"exit": 2, "stdout": [], "stderr": {"regex": usage_error_regex(message)}},
            "argparse_stderr": err,
        }
        if reporter != "muse coord watch":
            case["argparse_reported_by"] = (
                f"in Muse the top-level parser reports this one ('{reporter}: error: ...' under "
                f"muse's usage); coordctl reports it as 'coordctl watch'")
        usage_cases.append(case)

    validation_cases = []
    for name, argv, why, extra in VALIDATION:
        ns, status, err = parse(flat, expand(argv))
        assert ns is not None, (name, err)
        result = muse_validation(ns)
        assert result is not None, name
        exit_code, out_lines, err_text = result
        case = {"name": name, "why": why, "argv": argv}
        for key in ("layout", "modes", "modes_why", "cwd", "socket"):
            if key in extra:
                case[key] = extra[key]
        case["expect"] = {"exit": exit_code, "stdout_lines": out_lines, "stderr": err_text,
                          **extra.get("expect_extra", {})}
        validation_cases.append(case)

    # An ambiguous prefix ('ambiguous option: --x could match ...') cannot be
    # made against Muse's options: their long names all start differently.
    # coordctl resolves a prefix among Muse's options first, then its own.
    muse_longs = [s for a in flat._actions for s in a.option_strings if s.startswith("--")]
    ambiguous = []
    for opt in muse_longs + list(COORDCTL_EXTRA_LONG):
        for end in range(3, len(opt) + 1):
            prefix = opt[:end]
            muse_hits = [o for o in muse_longs if o.startswith(prefix)]
            hits = muse_hits or [o for o in COORDCTL_EXTRA_LONG if o.startswith(prefix)]
            if len(set(hits)) > 1:
                ambiguous.append((prefix, hits))
    notes.append("ambiguous prefixes among Muse's options, then coordctl's: "
                 + (repr(sorted(set((p, tuple(h)) for p, h in ambiguous))) if ambiguous else
                    "none, so no ambiguous-prefix case can be recorded"))

    usage_file = {
        "about": "Generated by tests/compat/record_argparse.py from real argparse; do not edit, "
                 "regenerate. Each case: the argv after `coordctl watch`, argparse's exit status "
                 "and error line. argparse_stderr is what the re-typed parser printed (its usage "
                 "lacks coordctl's extra options, hence the regex).",
        "notes": notes,
        "cases": usage_cases,
    }
    validation_file = {
        "about": "Generated by tests/compat/record_argparse.py: argv parsed by real argparse, "
                 "then the validation at the top of Muse's run(), re-typed. Do not edit, regenerate.",
        "cases": validation_cases,
    }

    accepts_path = CASES / "argparse_accepts.json"
    accepts = json.loads(accepts_path.read_text(encoding="utf-8"))
    for case in accepts["cases"]:
        argv = expand(case["argv"])
        ns, status, err = parse(flat, argv)
        assert ns is not None, (case["name"], err)
        _, muse_status, muse_err = parse(nested, ["coord", "watch", *argv])
        assert muse_status is None, (case["name"], muse_err)
        assert muse_validation(ns) is None, case["name"]
        case["argparse"] = namespace_of(ns)

    return {
        CASES / "argparse_errors.json": usage_file,
        CASES / "validation.json": validation_file,
        accepts_path: accepts,
    }


def dump(obj, depth=0):
    """JSON with two-space indents, but any value that fits on one line stays on one."""
    flat = json.dumps(obj, ensure_ascii=False)
    pad = "  " * depth
    if len(flat) + len(pad) <= 100 or not isinstance(obj, (dict, list)) or not obj:
        return flat + ("\n" if depth == 0 else "")
    inner = "  " * (depth + 1)
    if isinstance(obj, dict):
        items = [inner + json.dumps(k, ensure_ascii=False) + ": " + dump(v, depth + 1)
                 for k, v in obj.items()]
        text = "{\n" + ",\n".join(items) + "\n" + pad + "}"
    else:
        text = "[\n" + ",\n".join(inner + dump(v, depth + 1) for v in obj) + "\n" + pad + "]"
    return text + ("\n" if depth == 0 else "")


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for path, obj in generate().items():
        text = dump(obj)
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old != text:
            stale.append(path.name)
            if not check:
                path.write_text(text, encoding="utf-8")
    if check and stale:
        print("out of date: " + ", ".join(stale) + " (run record_argparse.py)")
        return 1
    print(("would rewrite: " if check else "rewrote: ") + (", ".join(stale) or "nothing"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
