#!/usr/bin/env bash
# Installs (Debian packages) and starts memcached, a Redis master + replica +
# three Sentinels and a three-master Redis Cluster on loopback ports for the
# stores/redis and stores/memcached tests, and writes their addresses to
# .ci/services.env. Idempotent: servers already up are left alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The machine's own Redis (127.0.0.1:6379) serves the single-server tests;
# start it the way this kind of machine does when it is down.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && command -v redis-server >/dev/null; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
exec bash scripts/services.sh start .ci/services.env
