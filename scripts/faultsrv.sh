#!/usr/bin/env bash
# Starts, breaks and stops the servers of the load-and-fault harness
# (internal/loadtest): instances of its own, on loopback ports of their own,
# with data directories of their own, so that it can restart, fail over and
# stop them without touching the machine's shared servers (PostgreSQL 5432,
# MariaDB 3306, Redis 6379) or those of scripts/services.sh.
#
#   redis       single Redis, no persistence         127.0.0.1:6480
#   sentinel    Redis master + two replicas          127.0.0.1:6481, 6482, 6483
#               three Sentinels (master "sessiongo-load")  127.0.0.1:26481, 26482, 26483
#   cluster     Redis Cluster, 3 masters + 3 replicas 127.0.0.1:7100 ... 7105
#   memcached                                        127.0.0.1:11411
#   postgres    PostgreSQL (run as the postgres user) 127.0.0.1:5532
#   mariadb     MariaDB                              127.0.0.1:3406
#
# Usage:
#   scripts/faultsrv.sh start ENVFILE [SERVICE...]   start (all by default), write addresses to ENVFILE
#   scripts/faultsrv.sh fault FAULT                  inject FAULT; returns once the service is back
#   scripts/faultsrv.sh stop                         stop everything this script started, delete its data
#   scripts/faultsrv.sh status
#
# Faults (each bounded in time; each returns when the service serves again):
#   redis-restart       SIGTERM the single Redis, 2 s down, start it empty
#   sentinel-failover   SIGKILL the Sentinel group's master; the Sentinels
#                       promote a replica; the old master comes back as a
#                       replica of the new one
#   cluster-failover    SIGKILL a Cluster master; its replica takes over; the
#                       old master comes back as a replica
#   memcached-stop      stop memcached, 3 s down ($SESSIONGO_FAULT_DOWN), start it empty
#   postgres-restart    pg_ctl stop -m immediate (a crash), 2 s down, start
#                       (crash recovery)
#   mariadb-restart     SIGKILL mariadbd, 2 s down, start (crash recovery)
#
# Everything lives in $SESSIONGO_FAULTS_DIR (default /tmp/sessiongo-faults):
# configs, data, logs, pid files. stop kills, by pid file, only what start
# started. Nothing here waits longer than $SESSIONGO_FAULT_WAIT seconds
# (default 60) for one condition.
set -euo pipefail

DIR="${SESSIONGO_FAULTS_DIR:-/tmp/sessiongo-faults}"
HOST=127.0.0.1
REDIS_PORT=6480
SENTINEL_MASTER=sessiongo-load
SENTINEL_REDIS_PORTS=(6481 6482 6483)
SENTINEL_PORTS=(26481 26482 26483)
CLUSTER_PORTS=(7100 7101 7102 7103 7104 7105)
MEMCACHED_PORT=11411
PG_PORT=5532
MARIADB_PORT=3406
DATABASE=sessiongo_load
WAIT_SECONDS="${SESSIONGO_FAULT_WAIT:-60}"
DOWN_SECONDS="${SESSIONGO_FAULT_DOWN:-3}"
ALL_SERVICES=(redis sentinel cluster memcached postgres mariadb)

log() { printf '[faultsrv] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# wait_for DESCRIPTION COMMAND...: runs COMMAND until it succeeds, at most
# WAIT_SECONDS seconds.
wait_for() {
  local what=$1; shift
  local deadline=$((SECONDS + WAIT_SECONDS))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      die "timed out after ${WAIT_SECONDS}s waiting for $what"
    fi
    sleep 0.1
  done
}

# alive PID: the process runs (a zombie counts as gone).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

pid_of() { # pid_of FILE: the pid FILE holds, if that process runs
  local pid
  [ -f "$1" ] || return 1
  pid=$(head -n1 "$1" 2>/dev/null || true)
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && echo "$pid"
}

# kill_pidfile FILE [SIGNAL]: signals the process whose pid FILE holds and
# waits (bounded) for it to exit; SIGKILL after 15 s.
kill_pidfile() {
  local file=$1 sig=${2:-TERM} pid
  pid=$(pid_of "$file") || { rm -f "$file"; return 0; }
  kill -CONT "$pid" 2>/dev/null || true
  kill "-$sig" "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 15))
  while alive "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
  if alive "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
  while alive "$pid"; do sleep 0.05; done
  rm -f "$file"
}

port_free() { ! (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

need_free() { # need_free PORT...: refuse to start over a port someone else uses
  local port
  for port in "$@"; do
    port_free "$port" || die "port $HOST:$port is in use (another run, or someone else's server): not starting over it"
  done
}

# --- Redis ------------------------------------------------------------------

rcli() { local port=$1; shift; redis-cli -h "$HOST" -p "$port" --no-auth-warning "$@"; }
redis_up() { [ "$(rcli "$1" PING 2>/dev/null)" = PONG ]; }

# redis_conf PORT [EXTRA LINES...]: the config of the Redis on PORT, no
# persistence.
redis_conf() {
  local port=$1; shift
  mkdir -p "$DIR/redis-$port"
  {
    echo "bind $HOST"
    echo "port $port"
    echo "daemonize yes"
    echo "protected-mode no"
    echo "dir $DIR/redis-$port"
    echo "pidfile $DIR/redis-$port.pid"
    echo "logfile $DIR/redis-$port.log"
    echo "save \"\""
    echo "appendonly no"
    echo "shutdown-on-sigterm nosave now"
    printf '%s\n' "$@"
  } >"$DIR/redis-$port.conf"
}

redis_start() { # redis_start PORT [ARGS...]: start from its config, wait for PONG
  local port=$1; shift
  redis-server "$DIR/redis-$port.conf" "$@"
  wait_for "Redis on $port" redis_up "$port"
}

start_redis() {
  need_free "$REDIS_PORT"
  log "Redis $HOST:$REDIS_PORT (no persistence)"
  redis_conf "$REDIS_PORT"
  redis_start "$REDIS_PORT"
}

sentinel_master() { # prints the port of the master the Sentinels name
  rcli "${SENTINEL_PORTS[0]}" SENTINEL GET-MASTER-ADDR-BY-NAME "$SENTINEL_MASTER" 2>/dev/null | tail -n1
}

# sentinel_ready: every Sentinel knows the master, both replicas and the two
# other Sentinels, the three agree on the master, which has two replicas
# connected and is a master.
sentinel_ready() {
  local port master m
  master=$(sentinel_master) || return 1
  [[ $master =~ ^[0-9]+$ ]] || return 1
  for port in "${SENTINEL_PORTS[@]}"; do
    m=$(rcli "$port" SENTINEL GET-MASTER-ADDR-BY-NAME "$SENTINEL_MASTER" | tail -n1)
    [ "$m" = "$master" ] || return 1
    [ "$(rcli "$port" SENTINEL MASTER "$SENTINEL_MASTER" | awk 'p{print;exit} /^num-other-sentinels$/{p=1}')" = 2 ] || return 1
    # Two replicas whose flags are just "slave" (not down).
    [ "$(rcli "$port" SENTINEL REPLICAS "$SENTINEL_MASTER" | awk 'p{if ($0 == "slave") n++; p=0} $0 == "flags"{p=1} END{print n+0}')" = 2 ] || return 1
  done
  rcli "$master" INFO replication | grep -q '^role:master' || return 1
  rcli "$master" INFO replication | grep -q '^connected_slaves:2' || return 1
  for port in "${SENTINEL_REDIS_PORTS[@]}"; do
    [ "$port" = "$master" ] && continue
    rcli "$port" INFO replication | grep -q '^master_link_status:up' || return 1
  done
}

start_sentinel() {
  need_free "${SENTINEL_REDIS_PORTS[@]}" "${SENTINEL_PORTS[@]}"
  local master=${SENTINEL_REDIS_PORTS[0]} port
  log "Redis master $HOST:$master, replicas ${SENTINEL_REDIS_PORTS[*]:1}"
  for port in "${SENTINEL_REDIS_PORTS[@]}"; do
    if [ "$port" = "$master" ]; then redis_conf "$port"; else redis_conf "$port" "replicaof $HOST $master"; fi
    redis_start "$port"
  done
  local sentinel=redis-sentinel
  command -v redis-sentinel >/dev/null || sentinel="redis-server --sentinel"
  for port in "${SENTINEL_PORTS[@]}"; do
    log "Sentinel $HOST:$port"
    {
      echo "bind $HOST"
      echo "port $port"
      echo "daemonize yes"
      echo "protected-mode no"
      echo "dir $DIR"
      echo "pidfile $DIR/sentinel-$port.pid"
      echo "logfile $DIR/sentinel-$port.log"
      echo "sentinel monitor $SENTINEL_MASTER $HOST $master 2"
      echo "sentinel down-after-milliseconds $SENTINEL_MASTER 1000"
      echo "sentinel failover-timeout $SENTINEL_MASTER 5000"
      echo "sentinel parallel-syncs $SENTINEL_MASTER 2"
    } >"$DIR/sentinel-$port.conf"
    $sentinel "$DIR/sentinel-$port.conf"
  done
  for port in "${SENTINEL_PORTS[@]}"; do wait_for "Sentinel on $port" redis_up "$port"; done
  wait_for "the Sentinels to see the master, its replicas and each other" sentinel_ready
}

fault_sentinel_failover() {
  wait_for "the Sentinel group to be whole before the fault" sentinel_ready
  local old new
  old=$(sentinel_master)
  log "SIGKILL the Sentinel master $HOST:$old"
  kill_pidfile "$DIR/redis-$old.pid" KILL
  promoted() { new=$(sentinel_master) && [[ $new =~ ^[0-9]+$ ]] && [ "$new" != "$old" ] &&
    rcli "$new" INFO replication | grep -q '^role:master'; }
  wait_for "the Sentinels to promote a replica" promoted
  new=$(sentinel_master)
  log "promoted $HOST:$new; $HOST:$old comes back as its replica"
  redis_start "$old" --replicaof "$HOST" "$new"
  wait_for "the Sentinel group to be whole again" sentinel_ready
}

cluster_ok() { rcli "$1" CLUSTER INFO 2>/dev/null | grep -q '^cluster_state:ok'; }

# cluster_whole: every node answers and sees the cluster ok, which has
# three masters, three replicas (each in sync with its master), no node
# failing and every link connected.
cluster_whole() {
  local port nodes
  for port in "${CLUSTER_PORTS[@]}"; do
    redis_up "$port" && cluster_ok "$port" || return 1
  done
  nodes=$(rcli "${CLUSTER_PORTS[0]}" CLUSTER NODES) || return 1
  awk '$3 ~ /fail|handshake|noaddr/ || $8 != "connected" {bad=1}
       $3 ~ /master/ {m++} $3 ~ /slave/ {r++}
       END {exit !(!bad && m == 3 && r == 3)}' <<<"$nodes" || return 1
  for port in "${CLUSTER_PORTS[@]}"; do
    if rcli "$port" INFO replication | grep -q '^role:slave'; then
      rcli "$port" INFO replication | grep -q '^master_link_status:up' || return 1
    fi
  done
}

start_cluster() {
  need_free "${CLUSTER_PORTS[@]}"
  local port addrs=()
  for port in "${CLUSTER_PORTS[@]}"; do need_free $((port + 10000)); done
  for port in "${CLUSTER_PORTS[@]}"; do
    log "Redis Cluster node $HOST:$port"
    redis_conf "$port" "cluster-enabled yes" "cluster-config-file nodes.conf" "cluster-node-timeout 1500"
    redis_start "$port"
    addrs+=("$HOST:$port")
  done
  log "creating the Cluster (3 masters, 3 replicas)"
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$DIR/cluster-create.log" 2>&1 ||
    { cat "$DIR/cluster-create.log" >&2; die "redis-cli --cluster create failed"; }
  wait_for "the Cluster to be whole" cluster_whole
}

fault_cluster_failover() {
  wait_for "the Cluster to be whole before the fault" cluster_whole
  local victim port id replica
  for port in "${CLUSTER_PORTS[@]}"; do
    if rcli "$port" INFO replication | grep -q '^role:master'; then victim=$port; break; fi
  done
  [ -n "${victim:-}" ] || die "no Cluster master found"
  id=$(rcli "$victim" CLUSTER MYID)
  replica=$(rcli "$victim" CLUSTER NODES | awk -v id="$id" '$4 == id {split($2, a, "[:@]"); print a[2]; exit}')
  [ -n "$replica" ] || die "the Cluster master $HOST:$victim has no replica"
  log "SIGKILL the Cluster master $HOST:$victim (its replica: $HOST:$replica)"
  kill_pidfile "$DIR/redis-$victim.pid" KILL
  # The others mark it failed (after cluster-node-timeout), its replica is
  # elected and takes its slots, and the cluster serves every slot again.
  taken_over() {
    local p
    rcli "$replica" INFO replication | grep -q '^role:master' || return 1
    for p in "${CLUSTER_PORTS[@]}"; do
      [ "$p" = "$victim" ] && continue
      cluster_ok "$p" || return 1
      rcli "$p" CLUSTER NODES | awk -v id="$id" '$1 == id && $3 ~ /fail/ && $3 !~ /fail\?/ {f=1} END {exit !f}' || return 1
    done
  }
  wait_for "the Cluster to fail over to $HOST:$replica" taken_over
  log "$HOST:$replica took over; $HOST:$victim comes back as its replica"
  # It comes back empty (no persistence) and, by its nodes.conf, a master
  # of its old slots: told so, it would serve them empty until the others
  # demote it. Its nodes.conf is made to say what the cluster now knows of
  # it: a replica of $replica, with no slots.
  local rid
  rid=$(rcli "$replica" CLUSTER MYID)
  awk -v id="$id" -v rid="$rid" '
    $1 == id { $3 = "myself,slave"; $4 = rid; NF = 8 }
    $1 == rid { sub(/slave/, "master", $3); $4 = "-" }
    { print }' "$DIR/redis-$victim/nodes.conf" >"$DIR/redis-$victim/nodes.conf.new"
  mv "$DIR/redis-$victim/nodes.conf.new" "$DIR/redis-$victim/nodes.conf"
  redis_start "$victim"
  wait_for "the Cluster to be whole again" cluster_whole
}

fault_redis_restart() {
  log "restart Redis $HOST:$REDIS_PORT (SIGTERM, 2 s down, back empty)"
  kill_pidfile "$DIR/redis-$REDIS_PORT.pid" TERM
  sleep 2
  redis_start "$REDIS_PORT"
}

# --- memcached --------------------------------------------------------------

memcached_up() {
  { exec 3<>"/dev/tcp/$HOST/$MEMCACHED_PORT"; } 2>/dev/null || return 1
  printf 'version\r\n' >&3
  local line
  IFS= read -r -t 2 line <&3 || { exec 3>&-; return 1; }
  exec 3>&-
  [[ $line == VERSION* ]]
}

memcached_start() {
  local user=()
  [ "$(id -u)" = 0 ] && user=(-u root)
  memcached -d -l "$HOST" -p "$MEMCACHED_PORT" -U 0 -m 64 -c 1024 -P "$DIR/memcached.pid" "${user[@]}"
  wait_for "memcached on $MEMCACHED_PORT" memcached_up
}

start_memcached() {
  need_free "$MEMCACHED_PORT"
  log "memcached $HOST:$MEMCACHED_PORT"
  memcached_start
}

fault_memcached_stop() {
  log "stop memcached $HOST:$MEMCACHED_PORT for ${DOWN_SECONDS}s"
  kill_pidfile "$DIR/memcached.pid" TERM
  sleep "$DOWN_SECONDS"
  memcached_start
}

# --- PostgreSQL -------------------------------------------------------------

pg_bin() {
  local v
  v=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n1)
  [ -n "$v" ] || die "no PostgreSQL under /usr/lib/postgresql (apt-get install postgresql)"
  echo "/usr/lib/postgresql/$v/bin"
}

as_postgres() { # PostgreSQL refuses to run as root
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_up() { pg_isready -q -h "$HOST" -p "$PG_PORT"; }

pg_start() {
  as_postgres "$(pg_bin)/pg_ctl" -D "$DIR/pg" -l "$DIR/pg/server.log" -w -t "$WAIT_SECONDS" \
    -o "-p $PG_PORT -k $DIR/pg -c listen_addresses=$HOST" start >/dev/null
  wait_for "PostgreSQL on $PG_PORT" pg_up
}

start_postgres() {
  need_free "$PG_PORT"
  log "PostgreSQL $HOST:$PG_PORT (data $DIR/pg)"
  mkdir -p "$DIR/pg"
  [ "$(id -u)" = 0 ] && chown postgres: "$DIR/pg"
  chmod 700 "$DIR/pg"
  as_postgres "$(pg_bin)/initdb" -D "$DIR/pg" -A trust -U postgres >"$DIR/pg-initdb.log" 2>&1 ||
    { cat "$DIR/pg-initdb.log" >&2; die "initdb failed"; }
  pg_start
  psql -h "$HOST" -p "$PG_PORT" -U postgres -qc "CREATE DATABASE $DATABASE" >/dev/null
}

fault_postgres_restart() {
  log "crash PostgreSQL $HOST:$PG_PORT (pg_ctl stop -m immediate), 2 s down"
  as_postgres "$(pg_bin)/pg_ctl" -D "$DIR/pg" -m immediate -w -t "$WAIT_SECONDS" stop >/dev/null
  sleep 2
  pg_start
}

# --- MariaDB ----------------------------------------------------------------

mysql_up() { mysqladmin --no-defaults -uroot -h"$HOST" -P"$MARIADB_PORT" --connect-timeout=2 ping; }

mariadb_start() {
  # --no-defaults: none of /etc/mysql's settings (port 3306, its socket and
  # datadir) apply to this instance.
  setsid mariadbd --no-defaults --user=root --datadir="$DIR/mariadb" --socket="$DIR/mariadb.sock" \
    --port="$MARIADB_PORT" --bind-address="$HOST" --pid-file="$DIR/mariadb.pid" \
    --log-error="$DIR/mariadb.log" --skip-name-resolve --innodb-buffer-pool-size=64M \
    --max-allowed-packet=64M --max-connections=500 </dev/null >/dev/null 2>&1 &
  wait_for "MariaDB on $MARIADB_PORT" mysql_up
}

start_mariadb() {
  need_free "$MARIADB_PORT"
  log "MariaDB $HOST:$MARIADB_PORT (data $DIR/mariadb)"
  mariadb-install-db --no-defaults --user=root --datadir="$DIR/mariadb" \
    --auth-root-authentication-method=normal --skip-test-db >"$DIR/mariadb-install.log" 2>&1 ||
    { cat "$DIR/mariadb-install.log" >&2; die "mariadb-install-db failed"; }
  mariadb_start
  mysql --no-defaults -uroot -h"$HOST" -P"$MARIADB_PORT" -e "CREATE DATABASE IF NOT EXISTS $DATABASE"
}

fault_mariadb_restart() {
  log "crash MariaDB $HOST:$MARIADB_PORT (SIGKILL), 2 s down"
  kill_pidfile "$DIR/mariadb.pid" KILL
  sleep 2
  mariadb_start
}

# --- commands ---------------------------------------------------------------

write_env() {
  local file=$1 s sentinels=() cluster=() port
  for port in "${SENTINEL_PORTS[@]}"; do sentinels+=("$HOST:$port"); done
  for port in "${CLUSTER_PORTS[@]}"; do cluster+=("$HOST:$port"); done
  join() { local IFS=,; echo "$*"; }
  {
    for s in "$@"; do
      case $s in
      redis) echo "SESSIONGO_LOAD_REDIS=$HOST:$REDIS_PORT" ;;
      sentinel) echo "SESSIONGO_LOAD_SENTINEL=$SENTINEL_MASTER@$(join "${sentinels[@]}")" ;;
      cluster) echo "SESSIONGO_LOAD_CLUSTER=$(join "${cluster[@]}")" ;;
      memcached) echo "SESSIONGO_LOAD_MEMCACHED=$HOST:$MEMCACHED_PORT" ;;
      postgres) echo "SESSIONGO_LOAD_POSTGRES='postgres://postgres@$HOST:$PG_PORT/$DATABASE?sslmode=disable&connect_timeout=2'" ;;
      mariadb) echo "SESSIONGO_LOAD_MARIADB='root@tcp($HOST:$MARIADB_PORT)/$DATABASE?parseTime=true&timeout=2s&readTimeout=5s&writeTimeout=5s'" ;;
      esac
    done
  } >"$file"
}

install_packages() {
  local missing=()
  command -v memcached >/dev/null || missing+=(memcached)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v redis-sentinel >/dev/null || missing+=(redis-sentinel)
  command -v redis-cli >/dev/null || missing+=(redis-tools)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v mariadb-install-db >/dev/null || missing+=(mariadb-server)
  command -v mysqladmin >/dev/null || missing+=(mariadb-client)
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps the packages from starting the distribution's own
  # servers (on the shared ports) as they install.
  local policy=/usr/sbin/policy-rc.d created=
  if [ ! -e $policy ]; then printf '#!/bin/sh\nexit 101\n' >$policy; chmod +x $policy; created=1; fi
  apt-get install -y -qq "${missing[@]}" >/dev/null
  [ -n "$created" ] && rm -f $policy
  return 0
}

stop_all() {
  local port
  for port in "${SENTINEL_PORTS[@]}"; do kill_pidfile "$DIR/sentinel-$port.pid"; done
  for port in "$REDIS_PORT" "${SENTINEL_REDIS_PORTS[@]}" "${CLUSTER_PORTS[@]}"; do
    kill_pidfile "$DIR/redis-$port.pid"
  done
  kill_pidfile "$DIR/memcached.pid"
  if [ -d "$DIR/pg" ] && [ -f "$DIR/pg/postmaster.pid" ]; then
    as_postgres "$(pg_bin)/pg_ctl" -D "$DIR/pg" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    kill_pidfile "$DIR/pg/postmaster.pid" KILL
  fi
  kill_pidfile "$DIR/mariadb.pid" KILL
}

cmd=${1:-}
case "$cmd" in
start)
  envfile=${2:-}
  [ -n "$envfile" ] || die "usage: $0 start ENVFILE [SERVICE...]"
  shift 2
  services=("$@")
  ((${#services[@]})) || services=("${ALL_SERVICES[@]}")
  install_packages
  if [ -e "$DIR" ]; then
    log "stopping what a previous run left in $DIR"
    stop_all
    rm -rf "$DIR"
  fi
  mkdir -p "$DIR"
  chmod 755 "$DIR"
  for s in "${services[@]}"; do
    case $s in
    redis | sentinel | cluster | memcached | postgres | mariadb) "start_$s" ;;
    *) die "unknown service $s (one of ${ALL_SERVICES[*]})" ;;
    esac
  done
  write_env "$envfile" "${services[@]}"
  log "up: ${services[*]} (state in $DIR)"
  ;;
fault)
  case ${2:-} in
  redis-restart) fault_redis_restart ;;
  sentinel-failover) fault_sentinel_failover ;;
  cluster-failover) fault_cluster_failover ;;
  memcached-stop) fault_memcached_stop ;;
  postgres-restart) fault_postgres_restart ;;
  mariadb-restart) fault_mariadb_restart ;;
  *) die "unknown fault ${2:-} (redis-restart, sentinel-failover, cluster-failover, memcached-stop, postgres-restart, mariadb-restart)" ;;
  esac
  ;;
stop)
  stop_all
  rm -rf "$DIR"
  log "stopped"
  ;;
status)
  redis_up "$REDIS_PORT" && echo "redis $REDIS_PORT up" || echo "redis $REDIS_PORT down"
  sentinel_ready && echo "sentinel group ok (master $(sentinel_master))" || echo "sentinel group not ok"
  cluster_whole && echo "cluster whole" || echo "cluster not whole"
  memcached_up && echo "memcached up" || echo "memcached down"
  pg_up && echo "postgres up" || echo "postgres down"
  mysql_up >/dev/null 2>&1 && echo "mariadb up" || echo "mariadb down"
  ;;
*)
  sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
