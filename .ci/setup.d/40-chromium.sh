#!/usr/bin/env bash
# Installs Debian's chromium (headless, for internal/browsertest) unless it
# is there already. Idempotent: apt-get runs only when chromium is missing.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
echo "[chromium] installing Debian's chromium" >&2
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
chromium --version >&2
