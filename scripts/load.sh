#!/usr/bin/env bash
# Runs the load-and-fault harness (internal/loadtest, docs/load-testing.md):
# starts the servers it breaks (scripts/faultsrv.sh: Redis, a Sentinel
# group, a Redis Cluster, memcached, PostgreSQL and MariaDB of its own, on
# ports of their own, never the machine's shared servers), runs
# `sessionload` against the example app on every store, and stops the
# servers however it ends.
#
# Usage:
#   scripts/load.sh short [sessionload flags...]   about 30 s per store, ~4 min in all (.ci/run)
#   scripts/load.sh long  [sessionload flags...]   2 min per store, a fault every 30 s, ~20 min
#
# e.g. scripts/load.sh long -users 16 -out /tmp/load.md
#      scripts/load.sh short -stores memory,postgres -users 2
#
# Exits with sessionload's status: 1 when a store's run failed. A hard
# limit (SESSIONGO_LOAD_TIMEOUT, default 15 min short, 60 min long) stops a
# run that hangs. The apps' logs go to $SESSIONGO_LOAD_LOG (default
# ${TMPDIR:-/tmp}/sessionload-apps.log, started afresh).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${1:-}
case "$profile" in
short) limit=${SESSIONGO_LOAD_TIMEOUT:-900} ;;
long) limit=${SESSIONGO_LOAD_TIMEOUT:-3600} ;;
*)
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
shift

export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
export SESSIONGO_FAULTS_DIR="${SESSIONGO_FAULTS_DIR:-/tmp/sessiongo-faults}"
work=$(mktemp -d "${TMPDIR:-/tmp}/sessionload.XXXXXX")
log=${SESSIONGO_LOAD_LOG:-${TMPDIR:-/tmp}/sessionload-apps.log}
: >"$log"
bin=$work/sessionload
pid=
cleanup() {
  local code=$?
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  bash scripts/faultsrv.sh stop || true
  rm -rf "$work"
  echo "[load] the apps' log: $log" >&2
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

go build -o "$bin" ./internal/loadtest/cmd/sessionload
bash scripts/faultsrv.sh start "$work/servers.env"
set -a; . "$work/servers.env"; set +a

# sessionload stops by itself; timeout is the backstop for a hang.
timeout --kill-after=30 "$limit" "$bin" -profile "$profile" -app-log "$log" "$@" &
pid=$!
status=0
wait "$pid" || status=$?
pid=
exit "$status"
