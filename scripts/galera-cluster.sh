#!/usr/bin/env bash
# A 3-node MariaDB Galera cluster on loopback ports from Debian's packages (mariadb-server
# brings galera-4), each node with its own data directory, socket and ports.
#   source scripts/galera-cluster.sh; galera_start DIR [NODES]; galera_kill N; galera_restart N;
#   galera_stop
# galera_start brings up NODES of the three (all by default); galera_restart N starts or
# restarts node N, which joins the others.
# Node N (1-3) serves SQL on 127.0.0.1:$((GALERA_PORT + N)); its data is in DIR/nN.
set -euo pipefail
GALERA_PORT="${GALERA_PORT:-23300}"
GALERA_DIR=""

galera_port() { echo $((GALERA_PORT + $1)); }

_galera_conf() {
  local n=$1 dir=$GALERA_DIR/n$1
  local gcomm=$((GALERA_PORT + 10 + n)) ist=$((GALERA_PORT + 20 + n)) sst=$((GALERA_PORT + 30 + n))
  local peers="127.0.0.1:$((GALERA_PORT + 11)),127.0.0.1:$((GALERA_PORT + 12)),127.0.0.1:$((GALERA_PORT + 13))"
  cat >"$dir.cnf" <<EOF
[mysqld]
user=mysql
datadir=$dir/data
socket=$dir/mysqld.sock
pid-file=$dir/mysqld.pid
port=$(galera_port "$n")
bind-address=127.0.0.1
log-error=$dir/error.log
skip-name-resolve
innodb_buffer_pool_size=64M
innodb_log_file_size=48M
innodb_flush_log_at_trx_commit=2
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
wsrep_on=ON
wsrep_provider=/usr/lib/galera/libgalera_smm.so
wsrep_cluster_name=support_test
wsrep_node_name=n$n
wsrep_node_address=127.0.0.1:$gcomm
wsrep_cluster_address=gcomm://$peers
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:$gcomm;ist.recv_addr=127.0.0.1:$ist;gcache.size=64M"
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:$sst
wsrep_log_conflicts=ON
innodb_print_all_deadlocks=ON
EOF
}

# Starts node N in the background (the first with --wsrep-new-cluster) and waits until it
# is synced.
galera_up() {
  local n=$1 extra=${2:-}
  local dir=$GALERA_DIR/n$n
  # shellcheck disable=SC2086
  mariadbd --defaults-file="$dir.cnf" $extra >/dev/null 2>&1 &
  disown $!
  for _ in $(seq 1 120); do
    if mariadb -uroot --socket="$dir/mysqld.sock" -Nse "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null | grep -q Synced; then
      return 0
    fi
    sleep 0.5
  done
  echo "galera node $n did not sync; its log:" >&2
  tail -30 "$dir/error.log" >&2
  return 1
}

# A fresh cluster in DIR: three initialised data directories, node 1 bootstraps, the next
# NODES-1 join.
galera_start() {
  GALERA_DIR=$1
  local nodes=${2:-3}
  mkdir -p "$GALERA_DIR"
  chmod 755 "$GALERA_DIR"
  for n in 1 2 3; do
    mkdir -p "$GALERA_DIR/n$n/data"
    chown -R mysql:mysql "$GALERA_DIR/n$n"
    _galera_conf "$n"
    mariadb-install-db --defaults-file="$GALERA_DIR/n$n.cnf" --user=mysql --skip-test-db >/dev/null 2>&1
  done
  galera_up 1 --wsrep-new-cluster
  for n in $(seq 2 "$nodes"); do galera_up "$n"; done
  mariadb -uroot --socket="$GALERA_DIR/n1/mysqld.sock" <<'SQL'
CREATE USER IF NOT EXISTS 'support'@'127.0.0.1' IDENTIFIED BY 'support';
GRANT ALL PRIVILEGES ON *.* TO 'support'@'127.0.0.1';
SQL
}

galera_pid() { cat "$GALERA_DIR/n$1/mysqld.pid" 2>/dev/null || true; }

# kill -9 node N.
galera_kill() {
  local pid
  pid=$(galera_pid "$1")
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  rm -f "$GALERA_DIR/n$1/mysqld.pid"
}

# Node N rejoins (by IST when the donor still has the writes in its cache).
galera_restart() { galera_up "$1"; }

# The cluster size as node N sees it.
galera_size() { mariadb -uroot --socket="$GALERA_DIR/n$1/mysqld.sock" -Nse "SHOW STATUS LIKE 'wsrep_cluster_size'" | awk '{print $2}'; }

galera_stop() {
  [ -n "$GALERA_DIR" ] || return 0
  for n in 3 2 1; do
    local pid
    pid=$(galera_pid "$n")
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  for n in 1 2 3; do
    for _ in $(seq 1 40); do
      [ -e "$GALERA_DIR/n$n/mysqld.pid" ] || break
      sleep 0.25
    done
    galera_kill "$n"
  done
  rm -rf "$GALERA_DIR"
}

# ---- service replicas ----------------------------------------------------------------
REPLICA_BIN="${REPLICA_BIN:-${CARGO_TARGET_DIR:-target}/debug/support-service}"
REPLICA_LOGS=""
GRPCURL="${GRPCURL:-.tools/venv/bin/grpcurl}"
REPLICA_LEASE_MS="${REPLICA_LEASE_MS:-2000}"
declare -a pids ports

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

replica_up() {
  local n=$1
  shift
  ports[n]=${ports[n]:-$(free_port)}
  env DATABASE_URL="mysql://support:support@127.0.0.1:$(galera_port "$n")/support" SUPPORT_LISTEN="127.0.0.1:${ports[n]}" \
    SUPPORT_ADMIN_LISTEN=off SUPPORT_LOG_FORMAT=json SUPPORT_RATE_LIMIT_PER_SECOND=0 SUPPORT_SEQUENCER_LEASE_MS="$REPLICA_LEASE_MS" \
    SUPPORT_DB_STARTUP_TIMEOUT_SECS=120 RUST_LOG=info "$@" "$REPLICA_BIN" >>"$REPLICA_LOGS/replica$n.log" 2>&1 &
  pids[n]=$!
  disown "${pids[n]}"
}
serving() { "$GRPCURL" -plaintext -d '{}' "127.0.0.1:${ports[$1]}" grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"'; }
wait_serving() {
  for _ in $(seq 1 300); do serving "$1" && return 0; sleep 0.2; done
  echo "replica $1 is not serving; its log:" >&2
  tail -20 "$REPLICA_LOGS/replica$1.log" >&2
  return 1
}
replica_addrs() { for n in "$@"; do printf '127.0.0.1:%s ' "${ports[n]}"; done; }
replica_stop() { [ -n "${pids[$1]:-}" ] && kill -9 "${pids[$1]}" 2>/dev/null || true; pids[$1]=""; }
replicas_stop() { for n in 1 2 3; do replica_stop "$n"; done; }
