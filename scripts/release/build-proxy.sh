#!/usr/bin/env bash
# build-proxy.sh REPO VERSION OUT DIR...
#
# Serves the modules in the directories DIR... of the git repository REPO, at
# their tags DIR/VERSION, from OUT in the GOPROXY=file://OUT layout:
# OUT/<escaped module path>/@v/{list,VERSION.info,VERSION.mod,VERSION.zip}.
#
# The go command itself makes the files, exactly as the public proxy would
# from the pushed tags: it fetches github.com/sessiongo/session with git
# (GOPROXY=direct), which a git url.insteadOf in the environment points at
# REPO, so nothing leaves the machine and the module zips follow the go
# command's rules (files under <module>@<version>/, no nested module, no
# vendor directory, the repository's LICENSE when the module has none).
# Prints one line per module: path, version, h1: hash of the zip.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 4 ] || die "usage: build-proxy.sh REPO VERSION OUT DIR..."
repo=$(cd "$1" && pwd); version=$2; out=$3; shift 3
mkdir -p "$out"; out=$(cd "$out" && pwd)

gopath=$(mktemp -d "${TMPDIR:-/tmp}/sessiongo-proxy-gopath.XXXXXX")
trap 'chmod -R u+w "$gopath" 2>/dev/null; rm -rf "$gopath"' EXIT

declare -a mods=()
for dir in "$@"; do
  mods+=("$(module_path "$repo/$dir")@$version")
done

json=$(
  cd "$gopath" &&
  GOPATH="$gopath" GOMODCACHE="$gopath/mod" GOFLAGS="${GOFLAGS:-} -modcacherw" \
  GOWORK=off GOPROXY=direct GONOSUMDB="$SESSIONGO_REPO_PATH" GOPRIVATE="$SESSIONGO_REPO_PATH" \
  GIT_TERMINAL_PROMPT=0 GIT_CONFIG_COUNT=1 \
  GIT_CONFIG_KEY_0="url.file://$repo.insteadOf" GIT_CONFIG_VALUE_0="https://$SESSIONGO_REPO_PATH" \
  go mod download -json "${mods[@]}"
) || { printf '%s\n' "${json:-}" >&2; die "go mod download from $repo failed"; }

printf '%s' "$json" | python3 -c '
import json, os, shutil, sys
out = sys.argv[1]
dec, text, i = json.JSONDecoder(), sys.stdin.read(), 0
while i < len(text):
    if text[i].isspace():
        i += 1
        continue
    m, i = dec.raw_decode(text, i)
    if m.get("Error"):
        sys.exit("release: %s@%s: %s" % (m["Path"], m["Version"], m["Error"]))
    esc = "".join("!" + c.lower() if c.isupper() else c for c in m["Path"])
    d = os.path.join(out, esc, "@v")
    os.makedirs(d, exist_ok=True)
    for key, ext in (("Info", "info"), ("GoMod", "mod"), ("Zip", "zip")):
        shutil.copyfile(m[key], os.path.join(d, m["Version"] + "." + ext))
    lst = os.path.join(d, "list")
    have = open(lst).read().split() if os.path.exists(lst) else []
    if m["Version"] not in have:
        with open(lst, "a") as f:
            f.write(m["Version"] + "\n")
    print(m["Path"], m["Version"], m["Sum"])
' "$out"
