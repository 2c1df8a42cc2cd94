#!/usr/bin/env bash
# Checks the service-manager files as their managers would read them:
# `systemd-analyze verify` on the user and system units (ExecStart pointed at
# the freshly built coordd, since verify insists the binary exists), and
# Python's plistlib on the LaunchAgent plist.
#   check_service_files.sh SOURCE_ROOT BUILD_ROOT COORDD_BIN
set -euo pipefail
src=$1 build=$2 coordd=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

if command -v systemd-analyze >/dev/null; then
  mkdir -p "$work/user" "$work/system" "$work/runtime"
  chmod 700 "$work/runtime"
  rewrite() { sed "s|^ExecStart=[^ ]*/coordd|ExecStart=$coordd|" "$1" > "$2"; }
  cp "$src/systemd/coordd.socket" "$work/user/"
  rewrite "$build/systemd/coordd.service" "$work/user/coordd.service"
  cp "$src/systemd/system/coordd.socket" "$work/system/"
  rewrite "$build/systemd/coordd-system.service" "$work/system/coordd.service"
  grep -q "^ExecStart=$coordd" "$work/user/coordd.service" || { echo "ExecStart not rewritten"; exit 1; }
  if XDG_RUNTIME_DIR="$work/runtime" systemd-analyze verify --user \
       "$work/user/coordd.socket" "$work/user/coordd.service"; then
    echo "ok: systemd user units verify"
  else
    echo "FAIL: systemd user units"; failures=$((failures + 1))
  fi
  if systemd-analyze verify "$work/system/coordd.socket" "$work/system/coordd.service"; then
    echo "ok: systemd system units verify"
  else
    echo "FAIL: systemd system units"; failures=$((failures + 1))
  fi
  for unit in "$work/user/coordd.service" "$work/system/coordd.service"; do
    for key in Type=notify WatchdogSec= Restart=on-failure NoNewPrivileges=yes ProtectSystem=strict; do
      grep -q "^$key" "$unit" || { echo "FAIL: $unit lacks $key"; failures=$((failures + 1)); }
    done
  done
else
  echo "SKIP: systemd-analyze is not installed"
fi

python3 - "$src/launchd/dev.coordd.coordd.plist" <<'PY' || failures=$((failures + 1))
import plistlib, sys
with open(sys.argv[1], "rb") as f:
    p = plistlib.load(f)
listener = p["Sockets"]["Listeners"]
assert listener["SockPathMode"] == 0o600, listener
assert listener["SockPathName"].endswith("/coordd.sock"), listener
assert p["KeepAlive"]["Crashed"] is True
assert p["ProcessType"] == "Background"
assert p["StandardErrorPath"] and p["StandardOutPath"]
assert p["ProgramArguments"][0].endswith("/coordd")
print("ok: launchd plist parses with plistlib and has Sockets/KeepAlive/ProcessType/log paths")
PY

echo "$((3 - failures)) passed, $failures failed"
[ "$failures" = 0 ]
