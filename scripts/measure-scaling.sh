#!/usr/bin/env bash
# The numbers of docs/scaling.md, on this machine's MariaDB (not in CI; about 4 minutes).
#   1. the sequencer under 8 writers through one replica: numbering rounds per second,
#      events per round, commit-to-number lag (from the replica's /metrics);
#   2. the sequencer's ceiling: 131,072 events inserted unnumbered while no replica runs,
#      then numbered by one replica in rounds of 1,000: events and rounds per second;
#   3. idle replicas: 10, then 100 replicas of one database, each with one WatchQueue
#      subscriber and nothing written for 20 s: statements per second MariaDB runs, its
#      CPU, and the replicas' CPU.
# Needs the .tools/venv of scripts/test.sh and MariaDB on 127.0.0.1:3306 (root by socket).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
python="$root/.tools/venv/bin/python"
bin="${CARGO_TARGET_DIR:-target}/release/support-service"
db=support_scaling
url="mysql://support:support@127.0.0.1:3306/$db"
work=$(mktemp -d /tmp/support-scaling.XXXXXX)
declare -a pids
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  [ -n "${holder:-}" ] && kill "$holder" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
sql() { mariadb -uroot "$@"; }

cargo build --quiet --release
sql -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci; SET GLOBAL max_connections = 2000"
export SUPPORT_AUTH_SECRET SUPPORT_TOKEN
SUPPORT_AUTH_SECRET=$(head -c 48 /dev/urandom | base64 -w0)

# replica I [VAR=VALUE ...]: starts replica I (port 0), waits for its address.
replica() {
  local i=$1
  shift
  env DATABASE_URL="$url" SUPPORT_LISTEN=127.0.0.1:0 SUPPORT_ADMIN_LISTEN=off SUPPORT_LOG_FORMAT=json \
    SUPPORT_RATE_LIMIT_PER_SECOND=0 RUST_LOG=warn,support_service=info "$@" "$bin" >"$work/r$i.log" 2>&1 &
  pids[i]=$!
}
address_of() {
  for _ in $(seq 1 600); do
    local a
    a=$(grep -o '"address":"[^"]*"' "$work/r$1.log" | head -1 | cut -d'"' -f4)
    [ -n "$a" ] && { echo "$a"; return 0; }
    sleep 0.1
  done
  echo "replica $1 did not start:" >&2
  tail -5 "$work/r$1.log" >&2
  return 1
}
metric() { curl -s "http://$admin/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
questions() { sql -Nse "SHOW GLOBAL STATUS LIKE 'Questions'" | awk '{print $2}'; }

echo "== 1. the sequencer under 8 writers through one replica"
admin_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
admin="127.0.0.1:$admin_port"
replica 0 SUPPORT_ADMIN_LISTEN="$admin"
addr=$(address_of 0)
SUPPORT_TOKEN=$(DATABASE_URL="$url" "$bin" token --role service --subject scaling)
r0=$(metric support_sequencer_rounds_total)
n0=$(metric support_sequencer_lag_seconds_count)
t0=$(date +%s.%N)
"$python" tests/python/galera_load.py 3000 8 "$addr" | tee "$work/load.json"
t1=$(date +%s.%N)
r1=$(metric support_sequencer_rounds_total)
n1=$(metric support_sequencer_lag_seconds_count)
events=$(sql -Nse "SELECT COUNT(*) FROM $db.queue_events")
python3 - "$t0" "$t1" "$r0" "$r1" "$n0" "$n1" "$(cat "$work/load.json")" <<'EOF'
import json, sys
t0, t1, r0, r1, n0, n1 = map(float, sys.argv[1:7])
load = json.loads(sys.argv[7])
s = t1 - t0
print(json.dumps({"changes_per_second": load["per_second"], "rounds_per_second": round((r1 - r0) / s, 1),
                  "numbering_rounds_per_second": round((n1 - n0) / s, 1),
                  "events_per_numbering_round": round(load["changes"] / max(n1 - n0, 1), 2)}))
EOF
curl -s "http://$admin/metrics" | grep '^support_sequencer_lag_seconds_bucket' | awk '{print "  " $0}'
kill "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true

echo "== 2. the ceiling: 131,072 unnumbered events numbered by one replica"
cols=$(sql -Nse "SELECT GROUP_CONCAT(column_name ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = '$db' AND table_name = 'queue_events' AND column_name NOT IN ('id', 'sequence')")
sql "$db" -e "DELETE FROM queue_events WHERE id NOT IN (SELECT id FROM (SELECT MIN(id) AS id FROM queue_events) x); UPDATE queue_events SET sequence = NULL"
for _ in $(seq 1 17); do sql "$db" -e "INSERT INTO queue_events ($cols) SELECT $cols FROM queue_events"; done
total=$(sql -Nse "SELECT COUNT(*) FROM $db.queue_events")
replica 0 SUPPORT_ADMIN_LISTEN="$admin"
started=$(date +%s.%N)
while [ "$(sql -Nse "SELECT COUNT(*) FROM $db.queue_events WHERE sequence IS NULL")" != 0 ]; do sleep 0.1; done
ended=$(date +%s.%N)
rounds=$(metric support_sequencer_lag_seconds_count)
python3 -c "import json; s = $ended - $started; print(json.dumps({'events': $total, 'seconds': round(s, 2), 'events_per_second': round($total / s), 'rounds_of_1000_per_second': round($rounds / s, 1)}))"
kill "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true

echo "== 3. idle replicas, each with one WatchQueue subscriber"
for n in 10 100; do
  for i in $(seq 1 "$n"); do replica "$i" SUPPORT_DB_MAX_CONNECTIONS=4 SUPPORT_MIGRATE=false; done
  addrs=()
  for i in $(seq 1 "$n"); do addrs+=("$(address_of "$i")"); done
  "$python" tests/python/hold_streams.py "${addrs[@]}" >"$work/hold.out" 2>&1 &
  holder=$!
  for _ in $(seq 1 600); do grep -q holding "$work/hold.out" && break; sleep 0.2; done
  grep -q holding "$work/hold.out" || { cat "$work/hold.out"; exit 1; }
  sleep 5
  mariadbd=$(pidof mariadbd | awk '{print $1}')
  q0=$(questions)
  m0=$(cpu_ticks "$mariadbd")
  s0=0
  for i in $(seq 1 "$n"); do s0=$((s0 + $(cpu_ticks "${pids[i]}"))); done
  sleep 20
  q1=$(questions)
  m1=$(cpu_ticks "$mariadbd")
  s1=0
  for i in $(seq 1 "$n"); do s1=$((s1 + $(cpu_ticks "${pids[i]}"))); done
  # CPU ticks are hundredths of a second: ticks over 20 s / 20 is percent of one core.
  python3 -c "import json; print(json.dumps({'replicas': $n, 'statements_per_second': round(($q1 - $q0) / 20), 'mariadb_cpu_percent_of_a_core': round(($m1 - $m0) / 20, 1), 'replicas_cpu_percent_of_a_core': round(($s1 - $s0) / 20, 1)}))"
  kill "$holder"
  for i in $(seq 1 "$n"); do kill "${pids[i]}" 2>/dev/null || true; pids[i]=""; done
  sleep 2
done
sql -e "DROP DATABASE $db"
