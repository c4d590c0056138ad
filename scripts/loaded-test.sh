#!/usr/bin/env bash
# Runs the README's test command on a machine made busy on purpose, to show
# that no test depends on the machine being idle.
#
# Usage: scripts/loaded-test.sh [N]
#
# Starts a CPU hog (`yes > /dev/null`) on every core (nproc), then runs
# `go test -count=1 work` N times (default 3), printing for each run its
# duration, the load average and PASS or FAIL (with the failing tests), and
# keeps each run's output in a log file. The hogs are killed by pid when
# the script ends, however it ends (and a test run cut short with them).
# Exits 1 if any run failed.
#
# The servers the store tests need are those of .ci/run (scripts/services.sh
# start .ci/services.env, and .ci/setup.d/); their addresses are read from
# .ci/services.env when it exists. SESSIONGO_REQUIRE_SERVICES defaults to 1,
# so that a missing server fails instead of skipping; set it to 0 to skip.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-3}
if ! [[ $runs =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [N]   (N runs of go test -count=1 work under a CPU hog, default 3)" >&2
  exit 2
fi

if [ -f .ci/services.env ]; then
  set -a; . .ci/services.env; set +a
fi
export SESSIONGO_REQUIRE_SERVICES="${SESSIONGO_REQUIRE_SERVICES:-1}"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

logs=$(mktemp -d "${TMPDIR:-/tmp}/loaded-test.XXXXXX")
# Job control: each background job gets a process group of its own, so that
# a test run (go test and the test binaries it starts) can be ended whole.
set -m
hogs=()
tests= # the process group of the running go test
stop_hogs() {
  local pid
  for pid in "${hogs[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${hogs[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  hogs=()
}
cleanup() {
  if [ -n "$tests" ]; then
    kill -- "-$tests" 2>/dev/null || true
    wait "$tests" 2>/dev/null || true
  fi
  stop_hogs
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

load() { cut -d' ' -f1-3 /proc/loadavg; }

cores=$(nproc)
for _ in $(seq "$cores"); do
  yes >/dev/null &
  hogs+=("$!")
done
echo "CPU hog on $cores cores (pids ${hogs[*]}); logs in $logs"
sleep 5 # let the load average climb a little before the first run

failed=0
for i in $(seq "$runs"); do
  log="$logs/run-$i.log"
  start=$SECONDS
  go test -count=1 work >"$log" 2>&1 &
  tests=$!
  if wait "$tests"; then
    result=PASS
  else
    result=FAIL
    failed=$((failed + 1))
  fi
  tests=
  printf 'run %d/%d: %s in %ds, load average %s\n' "$i" "$runs" "$result" $((SECONDS - start)) "$(load)"
  if [ "$result" = FAIL ]; then
    grep -E '^(--- FAIL|FAIL|panic:)|^\s+--- FAIL' "$log" | sed 's/^/    /' || true
    echo "    (whole output: $log)"
  fi
done

stop_hogs
echo "$((runs - failed)) of $runs runs passed; load average now $(load)"
[ "$failed" = 0 ]
