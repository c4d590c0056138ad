# Helpers shared by scripts/release.sh and the scripts beside this file.
# Sourced, not run.

# The repository's module paths all start with this; its tags are
# <directory>/<version>.
SESSIONGO_REPO_PATH=github.com/sessiongo/session

die() { printf 'release: %s\n' "$*" >&2; exit 1; }
say() { printf 'release: %s\n' "$*" >&2; }

# valid_version V: V is a semantic version the go command accepts as a tag of
# a module path without a /vN suffix: vMAJOR.MINOR.PATCH[-PRERELEASE], major 0
# or 1, no build metadata, no leading zeros, and not v0.0.0 (the placeholder
# the require lines carry between releases).
valid_version() {
  local v=$1 num='(0|[1-9][0-9]*)' id
  [[ $v =~ ^v${num}\.${num}\.${num}(-([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?$ ]] || return 1
  [[ ${BASH_REMATCH[1]} == 0 || ${BASH_REMATCH[1]} == 1 ]] || return 1
  [[ $v != v0.0.0 ]] || return 1
  local pre=${BASH_REMATCH[5]:-}
  if [[ -n $pre ]]; then
    local IFS=.
    for id in $pre; do
      [[ $id =~ ^0[0-9]+$ ]] && return 1
    done
  fi
  return 0
}

# published_dirs ROOT: the directories (relative to ROOT, one a line) of the
# modules that are released: every module of ROOT/go.work but examples/*,
# which are demo programs, and internal/* (the README snippets' test), which
# are never published.
published_dirs() {
  (cd "$1" && GOWORK=off go work edit -json go.work) | python3 -c '
import json, sys
for u in json.load(sys.stdin).get("Use") or []:
    d = u["DiskPath"].removeprefix("./").rstrip("/")
    if d.split("/")[0] not in ("examples", "internal"):
        print(d)
' | sort
}

# module_path DIR: the module path declared in DIR/go.mod.
module_path() {
  awk '$1 == "module" { gsub(/"/, "", $2); print $2; exit }' "$1/go.mod"
}

# escape_path P: P in the module proxy's case encoding (A -> !a).
escape_path() {
  printf '%s' "$1" | sed -E 's/([A-Z])/!\L\1/g'
}

# proxy_env PROXY_DIR MODCACHE: exports what the go command needs to take our
# modules from the file proxy PROXY_DIR and everything else from where the
# machine takes it: GOWORK=off, GOPROXY=file://PROXY_DIR, then the machine's
# module cache as a proxy (no network for modules already downloaded), then
# the machine's GOPROXY; our modules are not looked up in the checksum
# database (they were never published), every other module is; MODCACHE is a
# private module cache, so that a version built earlier with other content is
# never taken from the machine's cache. GOFLAGS keeps what it had.
proxy_env() {
  local proxy machine_cache machine_proxy
  proxy=$(cd "$1" && pwd)
  machine_cache=$(go env GOMODCACHE)
  machine_proxy=$(go env GOPROXY)
  mkdir -p "$2"
  export GOWORK=off
  export GOPROXY="file://$proxy,file://$machine_cache/cache/download,$machine_proxy"
  export GONOSUMDB="$SESSIONGO_REPO_PATH${GONOSUMDB:+,$GONOSUMDB}"
  export GOMODCACHE
  GOMODCACHE=$(cd "$2" && pwd)
  export GOFLAGS="${GOFLAGS:-} -modcacherw"
}
