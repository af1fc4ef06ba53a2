#!/usr/bin/env bash
# The service on a 3-node MariaDB Galera cluster (Debian's galera-4), one replica per node:
#   1. 8 writers make 5,000 changes across the replicas; a subscriber on each sees every
#      event once, in order, with no gap, and ends with the database's view; the logs show
#      one sequencer and no sequencing conflict;
#   2. a node is killed (-9) under load: no acknowledged write is lost (writers retry with
#      the same request_id through another replica), the other replicas keep serving, and
#      the node rejoins (IST) with its replica serving again;
#   3. the sequencer's replica is killed (-9): another replica takes the lease within the
#      lease time, and the stream stays gap-free under more load.
# Needs root (the nodes run as mysql), the .tools/venv of scripts/test.sh, and a debug build.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source scripts/galera-cluster.sh
bin="${CARGO_TARGET_DIR:-target}/debug/support-service"
python="$root/.tools/venv/bin/python"
grpcurl="$root/.tools/venv/bin/grpcurl"
work=$(mktemp -d /tmp/support-galera.XXXXXX)
chmod 755 "$work"
lease_ms=2000
declare -a pids ports
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  galera_stop || true
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --quiet
started=$(date +%s)
galera_start "$work/cluster"
echo "cluster of $(galera_size 1) nodes up in $(($(date +%s) - started)) s"
mariadb -usupport -psupport -h127.0.0.1 -P"$(galera_port 1)" -e "CREATE DATABASE support CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"

export SUPPORT_AUTH_SECRET
SUPPORT_AUTH_SECRET=$(head -c 48 /dev/urandom | base64 -w0)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Replica N (1-3) on node N.
replica_up() {
  local n=$1
  ports[n]=${ports[n]:-$(free_port)}
  DATABASE_URL="mysql://support:support@127.0.0.1:$(galera_port "$n")/support" SUPPORT_LISTEN="127.0.0.1:${ports[n]}" \
    SUPPORT_ADMIN_LISTEN=off SUPPORT_LOG_FORMAT=json SUPPORT_RATE_LIMIT_PER_SECOND=0 SUPPORT_SEQUENCER_LEASE_MS=$lease_ms \
    SUPPORT_DB_STARTUP_TIMEOUT_SECS=120 RUST_LOG=info "$bin" >>"$work/replica$n.log" 2>&1 &
  pids[n]=$!
  disown "${pids[n]}"
}
serving() { "$grpcurl" -plaintext -d '{}' "127.0.0.1:${ports[$1]}" grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"'; }
wait_serving() {
  for _ in $(seq 1 300); do serving "$1" && return 0; sleep 0.2; done
  echo "replica $1 is not serving; its log:" >&2
  tail -20 "$work/replica$1.log" >&2
  return 1
}
claims() { cat "$work"/replica*.log | grep -c 'now the event sequencer' || true; }
conflicts() { cat "$work"/replica*.log | grep -c 'sequencing failed' || true; }
addrs() { for n in "$@"; do printf '127.0.0.1:%s ' "${ports[n]}"; done; }

# Replica 1 migrates first; the others find the schema in place.
replica_up 1 && wait_serving 1
replica_up 2 && replica_up 3 && wait_serving 2 && wait_serving 3
export SUPPORT_TOKEN
SUPPORT_TOKEN=$(DATABASE_URL="mysql://support:support@127.0.0.1:$(galera_port 1)/support" "$bin" token --role service --subject galera)

echo "== 1. 5,000 changes by 8 writers across 3 replicas"
# shellcheck disable=SC2046
"$python" tests/python/galera_load.py 5000 8 $(addrs 1 2 3) | tee "$work/phase1.json"
[ "$(claims)" = 1 ] || { echo "expected one sequencer, the logs claim $(claims) times" >&2; exit 1; }
[ "$(conflicts)" = 0 ] || { echo "sequencing conflicts in steady state: $(conflicts)" >&2; exit 1; }
echo "one sequencer, no sequencing conflict"

echo "== 2. kill -9 node 2 under load"
# shellcheck disable=SC2046
"$python" tests/python/galera_load.py 2000 8 $(addrs 1 2 3) >"$work/phase2.json" &
load=$!
sleep 3
galera_kill 2
echo "node 2 killed; cluster size now $(galera_size 1)"
serving 1 && serving 3 || { echo "the replicas on the other nodes stopped serving" >&2; exit 1; }
wait "$load" || { cat "$work/phase2.json"; echo "phase 2 lost or mangled writes" >&2; exit 1; }
cat "$work/phase2.json"
galera_restart 2
echo "node 2 rejoined; cluster size $(galera_size 1); $(grep -c 'IST received' "$work/cluster/n2/error.log" || true) IST transfer(s)"
wait_serving 2

echo "== 3. kill -9 the sequencer's replica"
# The lease row names the holder; its claim in the logs names the replica.
lease_holder=$(mariadb -usupport -psupport -h127.0.0.1 -P"$(galera_port 1)" -Nse "SELECT holder FROM support.sequencer_lease")
holder=$(grep -l "\"holder\":\"$lease_holder\"" "$work"/replica*.log | sed 's/.*replica\([0-9]\).log/\1/')
[ -n "$holder" ] || { echo "no replica's log names the lease holder $lease_holder" >&2; exit 1; }
before=$(claims)
kill -9 "${pids[holder]}"
killed_at=$(date +%s%3N)
others=$(for n in 1 2 3; do if [ "$n" != "$holder" ]; then echo "$n"; fi; done | tr '\n' ' ')
# shellcheck disable=SC2086,SC2046
"$python" tests/python/galera_load.py 1000 4 $(addrs $others) >"$work/phase3.json" &
load=$!
for _ in $(seq 1 200); do [ "$(claims)" -gt "$before" ] && break; sleep 0.05; done
took=$(($(date +%s%3N) - killed_at))
[ "$(claims)" -gt "$before" ] || { echo "no replica took over the sequencer" >&2; exit 1; }
echo "replica $holder (the sequencer) killed; another took over in $took ms (lease $lease_ms ms)"
# The lease runs out at most one lease after the holder's death; the others look every tenth.
[ "$took" -le $((lease_ms * 11 / 10 + 300)) ] || { echo "the take-over took longer than the lease allows" >&2; exit 1; }
wait "$load" || { cat "$work/phase3.json"; echo "phase 3 lost or mangled writes" >&2; exit 1; }
cat "$work/phase3.json"
echo "galera test passed in $(($(date +%s) - started)) s"
