#!/usr/bin/env bash
# Installs (Debian packages) and starts memcached, a Redis master + replica +
# three Sentinels and a three-master Redis Cluster on loopback ports for the
# stores/redis and stores/memcached tests, and writes their addresses to
# .ci/services.env. Idempotent: servers already up are left alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash scripts/services.sh start .ci/services.env
