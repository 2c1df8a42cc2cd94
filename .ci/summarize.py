#!/usr/bin/env python3
"""Prints one closing line for CI: 'tests: N passed, M failed', counting
doctest cases inside each meson test (and a meson test with no doctest
summary as one case). Usage: summarize.py BUILD_DIR..."""
import json, re, sys

passed = failed = 0
line_re = re.compile(r"\[doctest\] test cases:\s*(\d+) \|\s*(\d+) passed \|\s*(\d+) failed")
for build in sys.argv[1:]:
    try:
        with open(f"{build}/meson-logs/testlog.json") as f:
            entries = [json.loads(l) for l in f if l.strip()]
    except OSError as e:
        print(f"no test log in {build}: {e}", file=sys.stderr)
        failed += 1
        continue
    for e in entries:
        m = line_re.search(e.get("stdout", "") or "")
        ok = e.get("result") in ("OK", "EXPECTEDFAIL", "SKIP")
        if m and ok:
            passed += int(m.group(2)); failed += int(m.group(3))
        elif m:
            passed += int(m.group(2)); failed += max(1, int(m.group(3)))
        else:
            passed += ok; failed += not ok
print(f"tests: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
