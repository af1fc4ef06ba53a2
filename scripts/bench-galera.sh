#!/usr/bin/env bash
# One Galera node against the 3-node cluster on this machine (BENCHMARKS.md, "Galera").
# Not part of .ci/run (about 6 minutes); needs root, the .tools/venv of scripts/test.sh.
#   1. node 1 alone (a cluster of one, the same configuration as the others; causal reads
#      off, as there is no other node to catch up with): the bench's create-ticket (16
#      callers, service beside raw sqlx) and watch (100 subscribers at 200 writes/s)
#      through one service replica;
#   2. nodes 2 and 3 join (the three share the machine's two cores): the same runs, and
#      create-ticket and get-ticket with SUPPORT_DB_CAUSAL_READS true (the default) and false;
#   3. a replica on each node: 8 writers (tests/python/galera_load.py), and reads through
#      another node right after each write (galera_causal.py), causal reads on and off.
# The bench's JSON goes to target/bench-galera/; the summary lines are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source scripts/galera-cluster.sh
out="${CARGO_TARGET_DIR:-target}/bench-galera"
mkdir -p "$out"
python="$root/.tools/venv/bin/python"
work=$(mktemp -d /tmp/support-bench-galera.XXXXXX)
chmod 755 "$work"
REPLICA_LOGS=$work
cleanup() {
  replicas_stop
  galera_stop || true
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --quiet --release -p bench
cargo build --quiet
bench="${CARGO_TARGET_DIR:-target}/release/bench"
node1="mysql://support:support@127.0.0.1:$(galera_port 1)"
seconds=${BENCH_SECONDS:-5}

runs() {
  local label=$1
  "$bench" create-ticket --mysql "$node1" --concurrency 16 --seconds "$seconds" --rounds 3 --tickets 10000 \
    --json "$out/create-$label.json" 2>/dev/null | grep '^| create-ticket'
  "$bench" watch --mysql "$node1" --subscribers 100 --rate 200 --seconds 10 --json "$out/watch-$label.json" 2>/dev/null |
    grep '^| 100 \|delivered'
}

echo "== 1. one node"
galera_start "$work/cluster" 1
SUPPORT_DB_CAUSAL_READS=false runs one-node

echo "== 2. three nodes"
galera_restart 2
galera_restart 3
echo "cluster size $(galera_size 1)"
runs cluster
echo "-- create-ticket, SUPPORT_DB_CAUSAL_READS=false"
SUPPORT_DB_CAUSAL_READS=false "$bench" create-ticket --mysql "$node1" --concurrency 16 --seconds "$seconds" --rounds 3 \
  --tickets 10000 --json "$out/create-cluster-causal-false.json" 2>/dev/null | grep '^| create-ticket'
for causal in true false; do
  echo "-- get-ticket, SUPPORT_DB_CAUSAL_READS=$causal"
  SUPPORT_DB_CAUSAL_READS=$causal "$bench" get-ticket --mysql "$node1" --concurrency 16 --seconds "$seconds" --rounds 3 \
    --tickets 10000 --json "$out/get-causal-$causal.json" 2>/dev/null | grep '^| get-ticket'
done

echo "== 3. a replica on each node"
mariadb -usupport -psupport -h127.0.0.1 -P"$(galera_port 1)" -e "CREATE DATABASE support CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
export SUPPORT_AUTH_SECRET SUPPORT_TOKEN
SUPPORT_AUTH_SECRET=$(head -c 48 /dev/urandom | base64 -w0)
for causal in true false; do
  replica_up 1 SUPPORT_DB_CAUSAL_READS=$causal && wait_serving 1
  replica_up 2 SUPPORT_DB_CAUSAL_READS=$causal && replica_up 3 SUPPORT_DB_CAUSAL_READS=$causal && wait_serving 2 && wait_serving 3
  SUPPORT_TOKEN=$(DATABASE_URL="$node1/support" "$REPLICA_BIN" token --role service --subject bench)
  echo "-- SUPPORT_DB_CAUSAL_READS=$causal: 8 writers, 3 replicas"
  # shellcheck disable=SC2046
  "$python" tests/python/galera_load.py 4000 8 $(replica_addrs 1 2 3)
  echo "-- SUPPORT_DB_CAUSAL_READS=$causal: a write, then a read through another node"
  # shellcheck disable=SC2046
  "$python" tests/python/galera_causal.py 150 4 $(replica_addrs 1 2 3)
  echo "sequencing conflicts logged: $(cat "$work"/replica*.log | grep -c 'sequencing failed' || true)"
  replicas_stop
  rm -f "$work"/replica*.log
  sleep 1
done
