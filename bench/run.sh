#!/usr/bin/env bash
# coordd's benchmark suite, in one command:
#   bash bench/run.sh            full run (~9 min): bench/results/latest.json
#   bash bench/run.sh --quick    smoke run (~1 min, small counts): bench/results/quick.json
# Measured on the 2-core VM, quiet, tmpfs (2026-12-03, after the build): the
# full run 435-506 s (scale to 1M records with its scan floor about 2.5 min,
# fan-out to 1,000 subscribers 17 s, ingest with its floor 8 s; latency,
# idle and the swarm the rest), --quick 40 s.
# Builds coordd and coordd_bench in release mode (build-release/), runs every
# benchmark side by side with its peer (inotifywait, bench/peers/seed_watch.py,
# redis-server, the ingest floor bench/peers/inotify_floor.cpp; for swarm, NATS
# itself on a 3-node nats-server cluster), prints
# the table and writes the JSON. Further options go to
# coordd_bench (see: build-release/bench/coordd_bench --help).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=build-release

if ! grep -q "^subdir('bench')" meson.build; then
  echo "bench/ is not part of the build: add subdir('bench') after subdir('client') in meson.build" >&2
  exit 2
fi
for tool in meson ninja python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: bash .ci/bootstrap.sh installs it" >&2; exit 2; }
done
for peer in inotifywait:inotify-tools redis-server:redis-server nats-server:nats-server; do
  command -v "${peer%%:*}" >/dev/null ||
    echo "warning: ${peer%%:*} not found (apt-get install ${peer#*:}); its rows will say not measured" >&2
done

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" --buildtype=release
fi
# Only what the suite runs (the rest of the tree builds in release too, but
# the tests are not the benchmark's business).
ninja -C "$build" daemon/coordd bench/coordd_bench bench/inotify_floor

out=bench/results/latest.json
quick=0
for arg in "$@"; do
  if [ "$arg" = --quick ]; then out=bench/results/quick.json; quick=1; fi
done
# The polling peer lives in bench/peers/ (COORDD_BENCH_SEED_WATCH overrides).
seed_watch=${COORDD_BENCH_SEED_WATCH:-$root/bench/peers/seed_watch.py}
if [ ! -f "$seed_watch" ]; then
  echo "the polling peer $seed_watch is missing (restore bench/peers/seed_watch.py, or set COORDD_BENCH_SEED_WATCH)" >&2
  exit 2
fi
label=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then label="$label-dirty"; fi

# Workspaces (up to 1M small record files: about 5 GiB of tmpfs, a page and an
# inode each) go to tmpfs when there is one: the suite measures coordd, not
# the disk (on ext4 mounted with discard, deleting 100k files alone takes
# minutes). COORDD_BENCH_TMPDIR overrides; the JSON records the file system
# used.
scratch_base=${COORDD_BENCH_TMPDIR:-}
if [ -z "$scratch_base" ]; then
  if [ -d /dev/shm ] && [ -w /dev/shm ] && [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
    scratch_base=/dev/shm
  else
    scratch_base=${TMPDIR:-/tmp}
  fi
fi
scratch=$(mktemp -d "$scratch_base/coordd-bench-XXXXXX")
free_kib=$(df -Pk "$scratch" 2>/dev/null | awk 'NR == 2 { print $4 }')
if [ "$quick" = 0 ] && [ -n "$free_kib" ] && [ "$free_kib" -lt $((6 * 1024 * 1024)) ]; then
  echo "warning: $scratch_base has $((free_kib / 1024)) MiB free; the 1M-record scale point needs about 5 GiB" >&2
fi
trap 'rm -rf "$scratch"' EXIT
"$build/bench/coordd_bench" --coordd "$build/daemon/coordd" --seed-watch "$seed_watch" \
  --floor "$build/bench/inotify_floor" --out "$out" --scratch "$scratch" --label "$label" "$@"
