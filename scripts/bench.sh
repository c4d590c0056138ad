#!/usr/bin/env bash
# Prints the comparison tables of internal/bench: sessiongo (cookie, memory,
# Redis, memcached and PostgreSQL storage), scs (memory, Redis), Fiber v2's
# session middleware and gorilla/sessions, each kind of work as a ratio to a
# standard-library crypto floor measured in the same run; then the HTTP
# table (the chi example's session middleware against the bare handler,
# under vegeta on loopback).
#
# Usage: scripts/bench.sh [-base REV] [-rounds N] [-benchtime D] [-no-http] [-- benchtable flags...]
#
#   -base REV     also measure the library as it is at git revision REV (a
#                 worktree of REV, with this checkout's benchmark suite):
#                 the two builds run in turns, one round each, and one table
#                 shows both, "(base)" and "(head)".
#   -rounds N     rounds (default 5); the tables give medians.
#   -benchtime D  how long each cell is measured per round (default 100ms).
#   -no-http      skip the HTTP table.
#
# Servers: SESSIONGO_REDIS_ADDR, SESSIONGO_MEMCACHED_ADDRS and
# SESSIONGO_POSTGRES_DSN (read from .ci/services.env when it exists); a
# column whose server is not set is skipped. The run uses keys and tables of
# its own and removes them when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

base="" rounds=5 benchtime=100ms http=1 extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    -base) base=$2; shift 2 ;;
    -rounds) rounds=$2; shift 2 ;;
    -benchtime) benchtime=$2; shift 2 ;;
    -no-http) http=0; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|-help|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see $0 -h)" >&2; exit 2 ;;
  esac
done
if ! [[ $rounds =~ ^[1-9][0-9]*$ ]]; then
  echo "-rounds wants a positive number" >&2; exit 2
fi
if [ -f .ci/services.env ]; then
  set -a; . .ci/services.env; set +a
fi

tmp=$(mktemp -d)
worktree=""
cleanup() {
  if [ -n "$worktree" ]; then git worktree remove --force "$worktree" >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/head" ./internal/bench/cmd/benchtable

if [ -z "$base" ]; then
  args=(-rounds "$rounds" -benchtime "$benchtime")
  if [ $http = 0 ]; then args+=(-http=false); fi
  exec "$tmp/head" "${args[@]}" "${extra[@]}"
fi

# The base build: REV's modules, this checkout's benchmark suite.
rev=$(git rev-parse --verify "$base^{commit}")
worktree="$tmp/base-tree"
git worktree add --detach "$worktree" "$rev" >/dev/null
rm -rf "$worktree/internal/bench"
cp -R internal/bench "$worktree/internal/bench"
(cd "$worktree" && go work use ./internal/bench && go build -o "$tmp/base" ./internal/bench/cmd/benchtable)

echo "base: $base ($(git log -1 --format='%h %s' "$rev"))"
echo "head: $(git log -1 --format='%h %s') $( [ -n "$(git status --porcelain)" ] && echo '(with uncommitted changes)')"
echo
files=()
for i in $(seq 1 "$rounds"); do
  for build in base head; do
    "$tmp/$build" -rounds 1 -benchtime "$benchtime" -http=false -label "$build" -json "$tmp/$build-$i.json" "${extra[@]}"
    files+=("$tmp/$build-$i.json")
  done
  echo "round $i of $rounds done" >&2
done
"$tmp/head" -merge "${files[@]}"
if [ $http = 1 ]; then
  for build in base head; do
    echo
    echo "$build:"
    "$tmp/$build" -table=false
  done
fi
