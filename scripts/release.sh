#!/usr/bin/env bash
# scripts/release.sh VERSION [--dry-run] [--out DIR]
#
# Releases every published module of the repository at VERSION (v0.1.0,
# v0.2.0-rc.1, ...): all modules of go.work but examples/* (demo programs)
# and internal/* (the README snippets' test), which are never published.
# Each module DIR gets the tag DIR/VERSION (core/v0.1.0, adapters/gin/v0.1.0,
# stores/redis/v0.1.0, cmd/sessionctl/v0.1.0, ...), all on one release commit that sets every
# require line on a sibling module (and go.work's versioned replacements) to
# VERSION and completes cmd/sessionctl/go.sum for those versions. The
# replace lines of library modules stay: they never reach users.
#
# The work is always done in a clone of HEAD under DIR (default: a new
# temporary directory), which is kept and holds:
#   DIR/repo      the clone, at the release commit, with the tags
#   DIR/proxy     every published module at VERSION, in the GOPROXY=file://
#                 layout, made by the go command from the tags
#   DIR/modcache  the private module cache the checks used
# and the release is checked there: the workspace still resolves, and
# cmd/sessionctl is tidy and builds with GOWORK=off against DIR/proxy.
#
# --dry-run stops there. Without it, the current branch is fast-forwarded to
# the release commit and the tags are created in this repository; nothing is
# pushed: the script prints the push command.
#
# Refuses a malformed VERSION, a dirty tree, and tags that already exist
# (here, or on the remote "origin" when there is one). Exits non-zero on any
# failure.
#
# A real release also needs: HEAD on a branch, a CHANGELOG.md section
# "## [X.Y.Z] - DATE" for VERSION, and git user.name and user.email.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/release/lib.sh"

usage() { echo "usage: scripts/release.sh VERSION [--dry-run] [--out DIR]" >&2; exit 2; }

version= dry_run=false out=
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) dry_run=true ;;
    --out) [ $# -ge 2 ] || usage; out=$2; shift ;;
    --out=*) out=${1#--out=} ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) usage ;;
    *) [ -z "$version" ] || usage; version=$1 ;;
  esac
  shift
done
[ -n "$version" ] || usage
valid_version "$version" ||
  die "malformed version '$version': want vMAJOR.MINOR.PATCH[-PRERELEASE], major 0 or 1 (the module paths have no /vN suffix), not v0.0.0, no +build"

root=$(git -C "$here/.." rev-parse --show-toplevel)
cd "$root"
start=$SECONDS

# --- refusals ---------------------------------------------------------------
dirty=$(git status --porcelain)
[ -z "$dirty" ] || die "the tree is dirty (commit, stash or remove these first):
$dirty"
head=$(git rev-parse HEAD)
branch=$(git symbolic-ref -q --short HEAD || true)
if ! $dry_run && [ -z "$branch" ]; then
  die "HEAD is detached: check out the branch to release from"
fi

mapfile -t dirs < <(published_dirs "$root")
[ ${#dirs[@]} -gt 0 ] || die "no module in go.work"
declare -a tags=() libs=() cmds=()
for dir in "${dirs[@]}"; do
  [ -f "$dir/go.mod" ] || die "$dir/go.mod is missing"
  [ "$(module_path "$dir")" = "$SESSIONGO_REPO_PATH/$dir" ] ||
    die "$dir/go.mod declares $(module_path "$dir"), want $SESSIONGO_REPO_PATH/$dir (the tag prefix must be the directory)"
  tags+=("$dir/$version")
  case $dir in cmd/*) cmds+=("$dir") ;; *) libs+=("$dir") ;; esac
done

existing=$(for t in "${tags[@]}"; do git rev-parse -q --verify "refs/tags/$t" >/dev/null && echo "$t"; done || true)
[ -z "$existing" ] || die "tags already exist here:
$existing"
if git remote get-url origin >/dev/null 2>&1; then
  if remote=$(GIT_TERMINAL_PROMPT=0 timeout 60 git ls-remote --tags origin 2>/dev/null); then
    existing=$(for t in "${tags[@]}"; do grep -qE "[[:space:]]refs/tags/$t(\^\{\})?$" <<<"$remote" && echo "$t"; done || true)
    [ -z "$existing" ] || die "tags already exist on origin:
$existing"
  elif $dry_run; then
    say "warning: could not list origin's tags (checked only local tags)"
  else
    die "could not list origin's tags: a release must know they are free"
  fi
fi

if ! $dry_run; then
  grep -qE "^## \[${version#v}\]" CHANGELOG.md ||
    die "CHANGELOG.md has no '## [${version#v}] - YYYY-MM-DD' section: move Unreleased there first"
  git config user.name >/dev/null && git config user.email >/dev/null ||
    die "set git user.name and user.email: the release commit and tags carry them"
fi

# --- the release commit, in a clone of HEAD --------------------------------
if [ -z "$out" ]; then
  out=$(mktemp -d "${TMPDIR:-/tmp}/sessiongo-release-$version.XXXXXX")
else
  mkdir -p "$out"
  [ -z "$(ls -A "$out")" ] || die "--out $out is not empty"
fi
out=$(cd "$out" && pwd)
repo=$out/repo proxy=$out/proxy modcache=$out/modcache
say "releasing ${#dirs[@]} modules at $version from $head${branch:+ ($branch)}; work in $out"

git clone -q --no-checkout "$root" "$repo"
git -C "$repo" fetch -q "$root" HEAD # HEAD as this work tree has it, detached or not
[ "$(git -C "$repo" rev-parse FETCH_HEAD)" = "$head" ] || die "the clone's HEAD is not $head"
git -C "$repo" checkout -q --detach "$head"
# A dry run in CI may have no identity; a real release uses the releaser's.
g() {
  if $dry_run; then
    git -C "$repo" -c user.name="$(git config user.name || echo sessiongo release dry run)" \
      -c user.email="$(git config user.email || echo release@sessiongo.invalid)" \
      -c commit.gpgsign=false -c tag.gpgsign=false "$@"
  else
    git -C "$repo" "$@"
  fi
}

for dir in "${dirs[@]}"; do module_path "$repo/$dir"; done >"$out/modules.txt"
mapfile -t modfiles < <(git -C "$repo" ls-files 'go.mod' '*/go.mod' 'go.work')
changed=$(cd "$repo" && python3 "$here/release/rewrite.py" "$version" "$out/modules.txt" "${modfiles[@]}")
say "require lines set to $version in: $(echo $changed)"
# Every requirement on a published module now names VERSION.
for f in "${modfiles[@]}"; do
  [[ $f == go.work ]] && continue
  (cd "$repo/$(dirname "$f")" && GOWORK=off go mod edit -json) | python3 -c '
import json, sys
mods, version, f = set(open(sys.argv[1]).read().split()), sys.argv[2], sys.argv[3]
bad = [r["Path"] + " " + r["Version"] for r in json.load(sys.stdin).get("Require") or []
       if r["Path"] in mods and r["Version"] != version]
if bad:
    sys.exit("release: %s still requires %s" % (f, ", ".join(bad)))
' "$out/modules.txt" "$version" "$f"
done
g commit -q -a --allow-empty -m "release $version" \
  -m "Every module's requirements on sibling modules move to $version; tags: ${tags[*]}."

tag_all() { # tag_all DIR...: annotated tags DIR/VERSION at HEAD of the clone
  local dir
  for dir in "$@"; do
    g tag -f -a -m "$SESSIONGO_REPO_PATH/$dir $version" "$dir/$version" HEAD >/dev/null
  done
}

# cmd/sessionctl has no replace directives: its go.sum needs the sums of the
# library modules at VERSION, which only their zips give. Serve the
# libraries, tidy the commands against them, and amend the commit (the
# libraries' files do not change, so neither do their sums).
if [ ${#cmds[@]} -gt 0 ]; then
  tag_all "${libs[@]}"
  bash "$here/release/build-proxy.sh" "$repo" "$version" "$proxy" "${libs[@]}" >"$out/sums-libs.txt"
  for dir in "${cmds[@]}"; do
    (
      cd "$repo/$dir" && proxy_env "$proxy" "$modcache" && go mod tidy
    ) || die "$dir: go mod tidy against the released libraries failed"
    git -C "$repo" diff --quiet -- "$dir/go.mod" ||
      die "$dir/go.mod is not tidy (fix it on the branch, then release):
$(git -C "$repo" diff -- "$dir/go.mod")"
  done
  if ! git -C "$repo" diff --quiet; then
    g commit -q -a --amend --no-edit
  fi
  rm -rf "$proxy"
fi
release=$(git -C "$repo" rev-parse HEAD)
tag_all "${dirs[@]}"

# --- the proxy, and checks of the release commit ----------------------------
bash "$here/release/build-proxy.sh" "$repo" "$version" "$proxy" "${dirs[@]}" >"$out/sums.txt"
if [ -f "$out/sums-libs.txt" ]; then
  while read -r line; do
    grep -qxF "$line" "$out/sums.txt" || die "a library's sum changed when the commit was amended: $line"
  done <"$out/sums-libs.txt"
fi
say "checking the release commit"
(cd "$repo" && env -u GOWORK go list -deps -test work >/dev/null) ||
  die "the workspace of the release commit does not resolve"
for dir in "${cmds[@]}"; do
  (
    cd "$repo/$dir" && proxy_env "$proxy" "$modcache" &&
    go mod tidy -diff && go build -o /dev/null .
  ) || die "$dir at the release commit: not tidy or does not build with GOWORK=off against $proxy"
done

printf '\nrelease %s: commit %s\n' "$version" "$release"
printf '  tag %s\n' "${tags[@]}"
printf 'modules (%s):\n' "$proxy"
sed 's/^/  /' "$out/sums.txt"
printf 'clone: %s\n' "$repo"
printf 'proxy: %s\n' "$proxy"
printf '  GOPROXY=file://%s,%s GONOSUMDB=%s\n' "$proxy" "$(go env GOPROXY)" "$SESSIONGO_REPO_PATH"

if $dry_run; then
  printf 'dry run: nothing changed here (%ds)\n' $((SECONDS - start))
  exit 0
fi

# --- the real thing: this repository gets the commit and the tags -----------
[ "$(git rev-parse HEAD)" = "$head" ] || die "HEAD moved during the release; start again"
git fetch -q "$repo" HEAD
[ "$(git rev-parse FETCH_HEAD)" = "$release" ] || die "fetched $(git rev-parse FETCH_HEAD), want $release"
git merge -q --ff-only "$release"
refspecs=()
for t in "${tags[@]}"; do refspecs+=("refs/tags/$t:refs/tags/$t"); done
git fetch -q "$repo" "${refspecs[@]}"
printf '\n%s is now at the release commit %s and the tags exist here. Nothing was pushed.\n' "$branch" "$release"
printf 'Publish (all or nothing):\n  git push --atomic origin %s%s\n' "$branch" "$(printf ' refs/tags/%s' "${tags[@]}")"
printf 'Then have the public proxy fetch every module (it does so on first request):\n'
printf '  cd "$(mktemp -d)" && GOPROXY=https://proxy.golang.org go list -m'
printf ' %s' $(sed "s/\$/@$version/" "$out/modules.txt"); printf '\n'
printf 'and check as a user would: scripts/release/check-user-module.sh %s -\n' "$version"
printf '(%ds)\n' $((SECONDS - start))
