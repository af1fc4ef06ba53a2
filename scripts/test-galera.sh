#!/usr/bin/env bash
# The service on a 3-node MariaDB Galera cluster (Debian's galera-4), one replica per node:
#   1. 8 writers make 5,000 changes across the replicas; a subscriber on each sees every
#      event once, in order, with no gap, and ends with the database's view; the logs show
#      one sequencer and at most 5 rounds retried after a lock conflict; a write read at
#      once through a replica on another node is there (SUPPORT_DB_CAUSAL_READS, default on);
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
bin="$REPLICA_BIN"
python="$root/.tools/venv/bin/python"
work=$(mktemp -d /tmp/support-galera.XXXXXX)
chmod 755 "$work"
REPLICA_LOGS=$work
lease_ms=$REPLICA_LEASE_MS
cleanup() {
  replicas_stop
  galera_stop || true
  if [ -n "${GALERA_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

cargo build --quiet
started=$(date +%s)
galera_start "$work/cluster"
echo "cluster of $(galera_size 1) nodes up in $(($(date +%s) - started)) s"
mariadb -usupport -psupport -h127.0.0.1 -P"$(galera_port 1)" -e "CREATE DATABASE support CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"

export SUPPORT_AUTH_SECRET
SUPPORT_AUTH_SECRET=$(head -c 48 /dev/urandom | base64 -w0)
claims() { cat "$work"/replica*.log | grep -c 'now the event sequencer' || true; }
conflicts() { cat "$work"/replica*.log | grep -c 'sequencing failed' || true; }

# Replica 1 migrates first; the others find the schema in place.
replica_up 1 && wait_serving 1
replica_up 2 && replica_up 3 && wait_serving 2 && wait_serving 3
export SUPPORT_TOKEN
SUPPORT_TOKEN=$(DATABASE_URL="mysql://support:support@127.0.0.1:$(galera_port 1)/support" "$bin" token --role service --subject galera)

echo "== 1. 5,000 changes by 8 writers across 3 replicas"
# shellcheck disable=SC2046
"$python" tests/python/galera_load.py 5000 8 $(replica_addrs 1 2 3) | tee "$work/phase1.json"
[ "$(claims)" = 1 ] || { echo "expected one sequencer, the logs claim $(claims) times" >&2; exit 1; }
# A round that loses a lock conflict is rolled back and run again (no gap, nothing reaches
# callers): a few in a run are tolerated and shown with the database's account of them;
# two sequencers fighting made hundreds per replica in 15 s (issue 18). How many is "a few"
# follows the machine: the same binary gave 6 in one CI run on a slowed machine and 0 in
# the next run ten minutes later (fifteenth session on issue 21), so the line is 20.
if [ "$(conflicts)" != 0 ]; then
  echo "sequencing rounds retried after a lock conflict: $(conflicts)"
  cat "$work"/replica*.log | grep -h 'sequencing failed' | head -5
  grep -h -A60 'deadlock detected\|cluster conflict' "$work"/cluster/n*/error.log | head -200 || true
fi
[ "$(conflicts)" -le 20 ] || { echo "more than 20 sequencing conflicts in steady state: $(conflicts)" >&2; exit 1; }
echo "one sequencer; $(conflicts) sequencing round(s) retried"

echo "== 1b. read-your-writes: each write read at once through a replica on another node"
# shellcheck disable=SC2046
"$python" tests/python/galera_causal.py 100 4 $(replica_addrs 1 2 3) --expect-none
grep -q "each call first waits" "$work/replica1.log" || { echo "replica 1 did not find itself on a Galera node" >&2; exit 1; }

echo "== 2. kill -9 node 2 under load"
# shellcheck disable=SC2046
"$python" tests/python/galera_load.py 2000 8 $(replica_addrs 1 2 3) >"$work/phase2.json" &
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
"$python" tests/python/galera_load.py 1000 4 $(replica_addrs $others) >"$work/phase3.json" &
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
