#!/usr/bin/env bash
# Makes sure PostgreSQL and MariaDB are running on loopback and creates the
# database sessiongo_test on each (idempotent). Used by stores/sql's tests.
set -euo pipefail

wait_for() { # wait_for NAME COMMAND...: up to 30 s
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "20-sql.sh: $name did not become ready" >&2
  return 1
}

# PostgreSQL: 127.0.0.1:5432, trust auth.
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  for v in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
  done
fi
wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432
if [ "$(psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'sessiongo_test'")" != 1 ]; then
  psql -h 127.0.0.1 -U postgres -qc 'CREATE DATABASE sessiongo_test'
fi

# MariaDB: 127.0.0.1:3306, root without a password.
if ! mysqladmin -uroot -h127.0.0.1 --connect-timeout=2 ping >/dev/null 2>&1; then
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
fi
wait_for MariaDB mysqladmin -uroot -h127.0.0.1 --connect-timeout=2 ping
# A session record may hold 16 MiB - 1 bytes (the reference's limit); the
# statement that carries it needs a packet a little larger than that.
mysql -uroot -h127.0.0.1 -e 'CREATE DATABASE IF NOT EXISTS sessiongo_test; SET GLOBAL max_allowed_packet = 67108864'

env_file=.ci/services.env
touch "$env_file"
grep -q '^SESSIONGO_POSTGRES_DSN=' "$env_file" ||
  echo "SESSIONGO_POSTGRES_DSN='postgres://postgres@127.0.0.1:5432/sessiongo_test?sslmode=disable'" >>"$env_file"
grep -q '^SESSIONGO_MYSQL_DSN=' "$env_file" ||
  echo "SESSIONGO_MYSQL_DSN='root@tcp(127.0.0.1:3306)/sessiongo_test?parseTime=true'" >>"$env_file"
