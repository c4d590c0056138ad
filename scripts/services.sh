#!/usr/bin/env bash
# Starts and stops, on loopback ports only, the servers the Redis and
# Memcached store tests need beyond the machine's own Redis (127.0.0.1:6379):
#
#   memcached                      127.0.0.1:11311
#   Redis master + replica         127.0.0.1:6390, 6391  (Sentinel master "sessiongo")
#   Redis master + replica         127.0.0.1:6392, 6393  (Sentinel master "sessiongo-failover",
#                                                         reserved for the failover test)
#   three Sentinels                127.0.0.1:26390, 26391, 26392
#   three-master Redis Cluster     127.0.0.1:7000, 7001, 7002
#
# Usage: scripts/services.sh start [ENVFILE] | stop | status
#
# start is idempotent: it installs missing Debian packages (apt-get update
# only when something is missing), starts what is not running, leaves alone
# what already answers, and writes the addresses to ENVFILE (KEY=value lines;
# other keys in the file are kept). stop kills, by pid file, only the
# processes this script started. Data, configs, logs and pid files live in
# $SESSIONGO_SERVICES_DIR (default /tmp/sessiongo-services).
set -euo pipefail

DIR="${SESSIONGO_SERVICES_DIR:-/tmp/sessiongo-services}"
HOST=127.0.0.1
MEMCACHED_PORT=11311
SENTINEL_GROUPS=("sessiongo:6390:6391" "sessiongo-failover:6392:6393")
SENTINEL_PORTS=(26390 26391 26392)
CLUSTER_PORTS=(7000 7001 7002)
WAIT_SECONDS=30

log() { printf '[services] %s\n' "$*" >&2; }
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
    sleep 0.2
  done
}

rcli() { local port=$1; shift; redis-cli -h "$HOST" -p "$port" --no-auth-warning "$@"; }
redis_up() { [ "$(rcli "$1" PING 2>/dev/null)" = PONG ]; }
memcached_up() {
  # "version" answers "VERSION x.y.z" on a live memcached.
  { exec 3<>"/dev/tcp/$HOST/$MEMCACHED_PORT"; } 2>/dev/null || return 1
  printf 'version\r\n' >&3
  local line
  IFS= read -r -t 2 line <&3 || { exec 3>&-; return 1; }
  exec 3>&-
  [[ $line == VERSION* ]]
}

install_packages() {
  local missing=()
  command -v memcached >/dev/null || missing+=(memcached)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v redis-sentinel >/dev/null || missing+=(redis-sentinel)
  command -v redis-cli >/dev/null || missing+=(redis-tools)
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]}"
  local sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq memcached redis-server redis-sentinel redis-tools >/dev/null
}

# alive PID: the process runs (a zombie waiting for its parent, often a
# container's init, to reap it counts as gone).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# kill_pidfile FILE: stops the process whose pid FILE holds, waiting (bounded)
# for it to exit.
kill_pidfile() {
  local file=$1 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ ]] && alive "$pid"; then
    kill -CONT "$pid" 2>/dev/null || true # a test may have paused it
    kill "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
    if alive "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$file"
}

start_memcached() {
  if memcached_up; then return 0; fi
  kill_pidfile "$DIR/memcached.pid"
  log "starting memcached on $HOST:$MEMCACHED_PORT"
  local user=()
  [ "$(id -u)" = 0 ] && user=(-u root)
  # -I 32m: items up to 32 MiB, so 16 MiB sessions fit (the default is 1 MiB).
  memcached -d -l "$HOST" -p "$MEMCACHED_PORT" -U 0 -m 512 -I 32m -c 1024 \
    -P "$DIR/memcached.pid" "${user[@]}"
  wait_for "memcached on $MEMCACHED_PORT" memcached_up
}

# redis_conf PORT [EXTRA LINES...]: writes the config of a Redis on PORT.
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
    echo "enable-debug-command yes"
    # Exit at once on SIGTERM (stop), without waiting for replicas.
    echo "shutdown-on-sigterm nosave now"
    printf '%s\n' "$@"
  } >"$DIR/redis-$port.conf"
}

sentinel_group_up() {
  local group name master replica port
  for port in "${SENTINEL_PORTS[@]}"; do redis_up "$port" || return 1; done
  for group in "${SENTINEL_GROUPS[@]}"; do
    IFS=: read -r name master replica <<<"$group"
    redis_up "$master" && redis_up "$replica" || return 1
    # Either instance may be the master after a failover; what matters is
    # that the Sentinels know a master that answers.
    rcli "${SENTINEL_PORTS[0]}" SENTINEL GET-MASTER-ADDR-BY-NAME "$name" >/dev/null 2>&1 || return 1
  done
}

sentinel_ready() {
  local group name master replica port addr
  for group in "${SENTINEL_GROUPS[@]}"; do
    IFS=: read -r name master replica <<<"$group"
    for port in "${SENTINEL_PORTS[@]}"; do
      # Each Sentinel must know the master, its replica and the two other
      # Sentinels, or a failover cannot reach its quorum.
      [ "$(rcli "$port" SENTINEL MASTER "$name" | awk 'p{print;exit} /^num-other-sentinels$/{p=1}')" = 2 ] || return 1
      [ "$(rcli "$port" SENTINEL MASTER "$name" | awk 'p{print;exit} /^num-slaves$/{p=1}')" -ge 1 ] || return 1
    done
    addr=$(rcli "${SENTINEL_PORTS[0]}" SENTINEL GET-MASTER-ADDR-BY-NAME "$name" | tail -n1)
    rcli "$addr" INFO replication | grep -q '^connected_slaves:[1-9]' || return 1
  done
}

start_sentinel_group() {
  if sentinel_group_up; then
    wait_for "Sentinels to see their masters, replicas and peers" sentinel_ready
    return 0
  fi
  # Some part is missing: start the whole group afresh, so that the Sentinels
  # never disagree with a half-restored topology.
  stop_sentinel_group
  local group name master replica port
  for group in "${SENTINEL_GROUPS[@]}"; do
    IFS=: read -r name master replica <<<"$group"
    log "starting Redis master $HOST:$master and replica $HOST:$replica ($name)"
    rm -rf "$DIR/redis-$master" "$DIR/redis-$replica"
    redis_conf "$master"
    redis_conf "$replica" "replicaof $HOST $master"
    redis-server "$DIR/redis-$master.conf"
    redis-server "$DIR/redis-$replica.conf"
    wait_for "Redis on $master" redis_up "$master"
    wait_for "Redis on $replica" redis_up "$replica"
    wait_for "replica $replica to sync" sh -c "redis-cli -h $HOST -p $replica INFO replication | grep -q '^master_link_status:up'"
  done
  local sentinel=redis-sentinel
  command -v redis-sentinel >/dev/null || sentinel="redis-server --sentinel"
  for port in "${SENTINEL_PORTS[@]}"; do
    log "starting Sentinel on $HOST:$port"
    {
      echo "bind $HOST"
      echo "port $port"
      echo "daemonize yes"
      echo "protected-mode no"
      echo "dir $DIR"
      echo "pidfile $DIR/sentinel-$port.pid"
      echo "logfile $DIR/sentinel-$port.log"
      for group in "${SENTINEL_GROUPS[@]}"; do
        IFS=: read -r name master replica <<<"$group"
        echo "sentinel monitor $name $HOST $master 2"
        echo "sentinel down-after-milliseconds $name 1000"
        echo "sentinel failover-timeout $name 5000"
        echo "sentinel parallel-syncs $name 1"
      done
    } >"$DIR/sentinel-$port.conf"
    $sentinel "$DIR/sentinel-$port.conf"
  done
  for port in "${SENTINEL_PORTS[@]}"; do wait_for "Sentinel on $port" redis_up "$port"; done
  wait_for "Sentinels to see their masters, replicas and peers" sentinel_ready
}

stop_sentinel_group() {
  local group name master replica port
  for port in "${SENTINEL_PORTS[@]}"; do kill_pidfile "$DIR/sentinel-$port.pid"; done
  for group in "${SENTINEL_GROUPS[@]}"; do
    IFS=: read -r name master replica <<<"$group"
    kill_pidfile "$DIR/redis-$master.pid"
    kill_pidfile "$DIR/redis-$replica.pid"
  done
}

cluster_ok() { rcli "${CLUSTER_PORTS[0]}" CLUSTER INFO 2>/dev/null | grep -q '^cluster_state:ok'; }

start_cluster() {
  local port up=1
  for port in "${CLUSTER_PORTS[@]}"; do redis_up "$port" || up=0; done
  if ((up)) && cluster_ok; then return 0; fi
  stop_cluster
  local addrs=()
  for port in "${CLUSTER_PORTS[@]}"; do
    log "starting Redis Cluster node on $HOST:$port"
    rm -rf "$DIR/redis-$port"
    redis_conf "$port" "cluster-enabled yes" "cluster-config-file nodes.conf" "cluster-node-timeout 2000"
    redis-server "$DIR/redis-$port.conf"
    addrs+=("$HOST:$port")
  done
  for port in "${CLUSTER_PORTS[@]}"; do wait_for "Redis Cluster node on $port" redis_up "$port"; done
  log "creating the Redis Cluster ${addrs[*]}"
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >"$DIR/cluster-create.log" 2>&1 ||
    { cat "$DIR/cluster-create.log" >&2; die "redis-cli --cluster create failed"; }
  for port in "${CLUSTER_PORTS[@]}"; do
    wait_for "cluster_state:ok on $port" sh -c "redis-cli -h $HOST -p $port CLUSTER INFO | grep -q '^cluster_state:ok'"
  done
}

stop_cluster() {
  local port
  for port in "${CLUSTER_PORTS[@]}"; do kill_pidfile "$DIR/redis-$port.pid"; done
}

# write_env FILE: sets this script's keys in FILE, keeping the others.
write_env() {
  local file=$1 tmp
  tmp=$(mktemp "${file}.XXXXXX")
  if [ -f "$file" ]; then
    grep -vE '^SESSIONGO_(REDIS|MEMCACHED)_[A-Z_]+=' "$file" >"$tmp" || true
  fi
  local join
  join() { local IFS=,; echo "$*"; }
  local sentinels=() cluster=() port
  for port in "${SENTINEL_PORTS[@]}"; do sentinels+=("$HOST:$port"); done
  for port in "${CLUSTER_PORTS[@]}"; do cluster+=("$HOST:$port"); done
  {
    echo "SESSIONGO_REDIS_ADDR=$HOST:6379"
    echo "SESSIONGO_REDIS_SENTINEL_ADDRS=$(join "${sentinels[@]}")"
    echo "SESSIONGO_REDIS_SENTINEL_MASTER=sessiongo"
    echo "SESSIONGO_REDIS_FAILOVER_MASTER=sessiongo-failover"
    echo "SESSIONGO_REDIS_CLUSTER_ADDRS=$(join "${cluster[@]}")"
    echo "SESSIONGO_MEMCACHED_ADDRS=$HOST:$MEMCACHED_PORT"
  } >>"$tmp"
  mv "$tmp" "$file"
}

cmd=${1:-}
case "$cmd" in
start)
  install_packages
  mkdir -p "$DIR"
  start_memcached
  start_sentinel_group
  start_cluster
  if [ -n "${2:-}" ]; then write_env "$2"; fi
  log "all services up (state in $DIR)"
  ;;
stop)
  stop_cluster
  stop_sentinel_group
  kill_pidfile "$DIR/memcached.pid"
  log "stopped"
  ;;
status)
  memcached_up && echo "memcached $HOST:$MEMCACHED_PORT up" || echo "memcached $HOST:$MEMCACHED_PORT down"
  for port in 6390 6391 6392 6393 "${SENTINEL_PORTS[@]}" "${CLUSTER_PORTS[@]}"; do
    redis_up "$port" && echo "redis $HOST:$port up" || echo "redis $HOST:$port down"
  done
  cluster_ok && echo "cluster ok" || echo "cluster not ok"
  ;;
*)
  echo "usage: $0 start [ENVFILE] | stop | status" >&2
  exit 2
  ;;
esac
