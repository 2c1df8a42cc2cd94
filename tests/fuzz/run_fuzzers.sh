#!/usr/bin/env bash
# Builds coordd's libFuzzer targets in a clang ASan+UBSan build (build-fuzz/,
# or $COORDD_FUZZ_BUILD) and runs each for SECONDS_PER_TARGET seconds on a
# scratch copy of its seed corpus; tests/fuzz/corpus/ is never written.
# Prints "fuzz <target>: N runs, ok" per target. Exits non-zero if any target
# crashed, leaked, timed out or broke an invariant, after printing the end of
# its log and the artifact that reproduces it:
#   build-fuzz/tests/fuzz/<target>_fuzzer <artifact>
# Usage: tests/fuzz/run_fuzzers.sh [SECONDS_PER_TARGET]    (default 60)
set -euo pipefail
seconds="${1:-60}"
cd "$(dirname "$0")/../.."
build="${COORDD_FUZZ_BUILD:-build-fuzz}"
targets=(ndjson_framer request_handler record timestamp)

if [ ! -f "$build/build.ninja" ]; then
  # fuzzer-no-link gives the libraries under test the coverage libFuzzer
  # steers by. -Wno-error=unused-private-field: clang (not gcc) flags
  # InotifyWatcher::io_ as unused; drop it once that member is gone.
  CC=clang CXX=clang++ meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debugoptimized \
    -Dcpp_args="-fsanitize=fuzzer-no-link -Wno-error=unused-private-field"
fi
meson compile -C "$build" "${targets[@]/%/_fuzzer}"

work="$build/fuzz-run"
rm -rf "$work"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:print_stacktrace=1"
export TMPDIR="$work/tmp"  # the request harness's repository; left here after a crash
mkdir -p "$TMPDIR"
failed=0
for target in "${targets[@]}"; do
  dir="$work/$target"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp tests/fuzz/corpus/"$target"/* "$dir/corpus/"
  extra=()
  # Each request_handler input builds a whole daemon graph: thousands of
  # features per run, where the entropic scheduler's bookkeeping costs 4x the
  # executions for no more coverage.
  if [ "$target" = request_handler ]; then extra=(-entropic=0); fi
  rc=0
  timeout --kill-after=10 "$((seconds + 120))" \
    "$build/tests/fuzz/${target}_fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "${extra[@]}" \
    "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")"
  if [ "$rc" -eq 0 ]; then
    echo "fuzz $target: ${runs:-?} runs, ok"
    continue
  fi
  failed=1
  echo "fuzz $target: FAILED (exit $rc after ${runs:-?} runs); full log: $dir/log"
  tail -n 60 "$dir/log" | sed 's/^/  | /'
  for artifact in "$dir"/artifacts/*; do
    [ -e "$artifact" ] || continue
    echo "  artifact: $artifact"
    echo "  replay:   $build/tests/fuzz/${target}_fuzzer $artifact"
  done
done
exit "$failed"
