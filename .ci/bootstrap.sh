#!/usr/bin/env bash
# Installs what coordd needs from Debian 12's packages (only what is missing;
# with sudo when not root), then configures and builds BUILD_DIR.
#   bash .ci/bootstrap.sh BUILD_DIR [extra meson setup options...]
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build}
shift || true

# nats-server runs the cluster suite's JetStream nodes; libnats-dev is the
# client library the cluster layer is built on. python3-pytest runs the Python
# client's suite (tests/python); tmux drives the top-tmux test (coordctl top
# in a real terminal).
packages=(g++ meson ninja-build pkg-config python3
          libboost1.81-dev libboost-json1.81-dev libspdlog-dev doctest-dev libcli11-dev
          nats-server libnats-dev python3-pytest tmux)
# Extra tools the full CI run uses (fuzzers, format check, unit checks, benchmark peers).
if [ "${COORDD_CI_EXTRAS:-0}" = 1 ]; then
  packages+=(clang libclang-rt-14-dev clang-format systemd socat inotify-tools redis-server util-linux)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  as_root=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    as_root=(sudo)
  fi
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -f "$build_dir/build.ninja" ]; then
  meson setup "$build_dir" "$@"
fi
ninja -C "$build_dir"
