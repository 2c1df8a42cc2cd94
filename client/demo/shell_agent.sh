#!/usr/bin/env bash
# A coding agent written in shell, on coordctl alone: it waits for work in
# its mailbox, reserves what the work touches (coordctl warns when another
# agent holds it), reports progress and completion to its orchestrator, and
# releases. It stops on a `cancel` message, or after --wait seconds with no
# message. The README shows this loop; the demo runs two of them.
#
# Usage: shell_agent.sh AGENT ORCHESTRATOR   (coordctl on PATH; COORDD_SOCKET
#        and MUSE_REPO_ROOT say which coordd and which repository)
set -uo pipefail
me=$1 boss=$2
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)["message"].get(sys.argv[1], ""))' "$1"; }

while msg=$(coordctl recv --agent "$me" --max 1 --wait 30 --json); do
  [ "$(field kind <<<"$msg")" = cancel ] && break
  task=$(field task_id <<<"$msg") address=$(field address <<<"$msg")
  id=$(coordctl reserve "$address" --run-id "$me" --ttl 300) || continue
  coordctl send --as "$me" --to "$boss" --kind progress_report \
    --field turn:=1 --field summary="reserved $address for $task" >/dev/null
  sleep "${SHELL_AGENT_WORK_SECONDS:-1}"   # the work itself
  coordctl release "$id" --reason completed >/dev/null
  coordctl send --as "$me" --to "$boss" --kind task_completed \
    --field task_id="$task" --field summary="done: $address" >/dev/null
done
