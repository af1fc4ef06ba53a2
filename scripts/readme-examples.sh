#!/usr/bin/env bash
# Runs the README's grpcurl examples exactly as printed against a freshly started server
# (the README's run command's release binary, on a fresh SQLite file, which the examples'
# `cargo run --release -- token` reads too) and checks what they print.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release --quiet --bin support-service
export DATABASE_URL="sqlite://$work/readme.db?mode=rwc"
SUPPORT_LOG_FORMAT=json "${CARGO_TARGET_DIR:-target}/release/support-service" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  grpcurl -plaintext -d '{}' localhost:50051 grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"' && break
  sleep 0.2
done

# The blocks between the example markers, in order.
awk '/<!-- examples:start -->/{on=1; next} /<!-- examples:end -->/{on=0} on' README.md \
  | awk '/^```sh$/{inb=1; next} /^```$/{inb=0} inb' >"$work/examples.sh"
[ -s "$work/examples.sh" ] || { echo "no examples found in README.md" >&2; exit 1; }
bash -e "$work/examples.sh" >"$work/out.txt" 2>&1 || { cat "$work/out.txt"; echo "a README example failed" >&2; exit 1; }

check() { grep -q -- "$1" "$work/out.txt" || { cat "$work/out.txt"; echo "README output lacks: $1" >&2; exit 1; }; }
check 'support.v1.TicketService'
check 'Code: Unauthenticated'
check 'authorization: Bearer'
check '"score": 15'
check '"level": "PRIORITY_LEVEL_P1"'
check '"severityPoints": 5'
check 'google.rpc.BadRequest'
check '"field":"customer.email"'
check '"status": "SERVING"'
check "agent's turn"
check '"status": "TICKET_STATUS_CLOSED"'
check '"rating": 5'
check 'ASSIGNMENT_REASON_AUTO_LEAST_LOADED'
check '"snapshotTicket"'
check '"snapshotEnd"'
check '"state": "CALL_STATE_RINGING"'
check '"outcome": "CALL_OUTCOME_DECLINED"'
check '"snippet": "Charged twice'
check '"statusChanged"'
check 'Hi Ada, the refund for ticket 1 is on its way. Grace, Payments'
echo "README examples: $(grep -c '^grpcurl' "$work/examples.sh") commands ran as printed"

kill -TERM "$server"
wait "$server" || { cat "$work/server.log"; echo "server did not stop cleanly on SIGTERM" >&2; exit 1; }
grep -q '"stopped"' "$work/server.log" || { cat "$work/server.log"; echo "no graceful stop logged" >&2; exit 1; }

# ---- the demo dataset and the reports -------------------------------------------------
# The demo block seeds ./demo.db as printed; then a server on it answers the report calls.
block() {
  awk "/<!-- $1:start -->/{on=1; next} /<!-- $1:end -->/{on=0} on" README.md | awk '/^```sh$/{inb=1; next} /^```$/{inb=0} inb'
}
rm -f demo.db demo.db-wal demo.db-shm
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work" demo.db demo.db-wal demo.db-shm' EXIT
block demo >"$work/demo.sh"
block reports >"$work/reports.sh"
[ -s "$work/demo.sh" ] && [ -s "$work/reports.sh" ] || { echo "no demo or report examples in README.md" >&2; exit 1; }
(unset DATABASE_URL; bash -e "$work/demo.sh") >"$work/demo.txt" 2>&1 || { cat "$work/demo.txt"; echo "seed-demo failed" >&2; exit 1; }
grep -q 'seeded 5 departments, 34 agents, 123 customers, 377 tickets' "$work/demo.txt" || { cat "$work/demo.txt"; exit 1; }
DATABASE_URL='sqlite://demo.db?mode=rwc' "${CARGO_TARGET_DIR:-target}/release/support-service" >"$work/demo-server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  grpcurl -plaintext -d '{}' localhost:50051 grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"' && break
  sleep 0.2
done
(export DATABASE_URL='sqlite://demo.db?mode=rwc'; bash -e "$work/reports.sh") >"$work/reports.txt" 2>&1 \
  || { cat "$work/reports.txt"; echo "a README report example failed" >&2; exit 1; }
for want in '"firstToLastMessage"' '"month": "2026-10"' '"agentCount": 2' '"ratingAverage"' '"firstResponse"' '"openCount"'; do
  grep -q -- "$want" "$work/reports.txt" || { cat "$work/reports.txt"; echo "report output lacks: $want" >&2; exit 1; }
done
echo "README demo and reports: $(grep -c 'grpcurl' "$work/reports.sh") report calls ran as printed"

