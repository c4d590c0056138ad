#!/usr/bin/env bash
# check-user-module.sh VERSION PROXY_DIR
#
# Does what a user of a release does, against the module proxy directory that
# `scripts/release.sh VERSION --dry-run` printed (or, with PROXY_DIR set to
# "-", against the machine's GOPROXY alone, once the release is public):
#   1. in a temporary directory outside the repository, a module
#      example.com/user runs `go get` of the chi adapter and the Redis store
#      at VERSION, compiles a small program using session.New,
#      chisession.Middleware and redisstore.New (it is never run, nothing is
#      dialled), and `go mod tidy` + `go build` succeed with GOWORK=off and
#      no replace directive anywhere;
#   2. `go install github.com/sessiongo/session/cmd/sessionctl@VERSION` into a
#      temporary GOBIN, and `sessionctl keygen` runs.
# Our modules come first from PROXY_DIR, everything else from the machine's
# module cache, then from its GOPROXY. RELEASE_GOMODCACHE, when set, is the
# (private) module cache to use; by default a temporary one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

[ $# -eq 2 ] || die "usage: check-user-module.sh VERSION PROXY_DIR|-"
version=$1 proxy=$2
valid_version "$version" || die "malformed version '$version'"
start=$SECONDS

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sessiongo-user.XXXXXX")
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
if [ "$proxy" = - ]; then
  export GOWORK=off GOMODCACHE="${RELEASE_GOMODCACHE:-$tmp/modcache}" GOFLAGS="${GOFLAGS:-} -modcacherw"
else
  [ -d "$proxy" ] || die "no proxy directory $proxy"
  proxy_env "$proxy" "${RELEASE_GOMODCACHE:-$tmp/modcache}"
fi
unset GOBIN
say "GOPROXY=$(go env GOPROXY)"

mod=$SESSIONGO_REPO_PATH
mkdir "$tmp/user"
cd "$tmp/user"
step() { printf '+ %s\n' "$*" >&2; "$@"; }

step go mod init example.com/user
step go get "$mod/adapters/chi@$version" "$mod/stores/redis@$version"
cat >main.go <<'EOF'
// A user's program: a Manager with the Redis store behind chi's middleware.
// Compiled only: the Redis client dials on first use, which never comes.
package main

import (
	"fmt"
	"log"
	"net/http"

	"github.com/redis/go-redis/v9"
	chisession "github.com/sessiongo/session/adapters/chi"
	session "github.com/sessiongo/session/core"
	redisstore "github.com/sessiongo/session/stores/redis"
)

func main() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	store, err := redisstore.New(client, redisstore.WithPrefix("app"))
	if err != nil {
		log.Fatal(err)
	}
	m, err := session.New(session.Config{
		Secret: "a secret for the user-module check only",
		Store:  store,
	})
	if err != nil {
		log.Fatal(err)
	}
	handler := chisession.Middleware(m)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, chisession.From(r).Get("user"))
	}))
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", handler))
}
EOF
step go mod tidy
step go build -o "$tmp/user-app" .
step go vet .
if grep -qE '^\s*replace\b' go.mod; then die "the user's go.mod has a replace directive"; fi
ours=$(go list -m all | grep -F "$mod/" || true)
printf '%s\n' "$ours" | sed 's/^/  /' >&2
bad=$(printf '%s\n' "$ours" | awk -v v="$version" 'NF != 2 || $2 != v' || true)
[ -z "$bad" ] || die "modules of ours not at $version in the user's build list:
$bad"
# The adapters and stores require conformance for their tests; before the
# release commit that requirement named v0.0.0, which no proxy has.
grep -F "$mod/conformance " go.sum | sed 's/^/  go.sum: /' >&2 || true

mkdir "$tmp/bin"
(cd "$tmp" && step env GOBIN="$tmp/bin" go install "$mod/cmd/sessionctl@$version")
step "$tmp/bin/sessionctl" keygen
go version -m "$tmp/bin/sessionctl" | grep -E "^\s+(path|mod|dep)\s+$mod/" >&2

printf 'user module: ok (%s; %ds)\n' "$version" $((SECONDS - start))
