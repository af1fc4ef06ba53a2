#!/usr/bin/env bash
# A real Prometheus scrapes a real service: the service (debug build) on a fresh SQLite
# database with its admin listener, Debian's prometheus scraping it every second, a short
# load through grpcurl (30 GetTicket that succeed, 10 that are NOT_FOUND, 5 CreateTicket
# refused as INVALID_ARGUMENT), then scripts/prometheus_check.py asks Prometheus's HTTP API
# for the RPC rate and the error ratio by method and checks them against that load, and
# evaluates every query of the Grafana dashboard. Needs the .tools/venv of scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin="${CARGO_TARGET_DIR:-target}/debug/support-service"
grpcurl="$root/.tools/venv/bin/grpcurl"
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api=$(free_port)
admin=$(free_port)
prom=$(free_port)
cleanup() {
  kill "${server:-}" "${prometheus:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --quiet
export DATABASE_URL="sqlite://$work/support.db?mode=rwc"
export SUPPORT_AUTH_SECRET
SUPPORT_AUTH_SECRET=$(head -c 48 /dev/urandom | base64 -w0)
SUPPORT_LISTEN="127.0.0.1:$api" SUPPORT_ADMIN_LISTEN="127.0.0.1:$admin" SUPPORT_RATE_LIMIT_PER_SECOND=0 \
  "$bin" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 150); do
  curl -sf "http://127.0.0.1:$admin/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$admin/readyz" >/dev/null || { cat "$work/server.log"; echo "the service did not get ready" >&2; exit 1; }

cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: support-service
    static_configs:
      - targets: ["127.0.0.1:$admin"]
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom" --log.level=warn >"$work/prometheus.log" 2>&1 &
prometheus=$!

token=$("$bin" token --role service --subject prometheus-test)
call() { "$grpcurl" -plaintext -H "authorization: Bearer $token" -d "$2" "127.0.0.1:$api" "support.v1.$1"; }
call DepartmentService/CreateDepartment '{"department": {"name": "Load", "conversation_mode": "CONVERSATION_MODE_CHAT"}}' >/dev/null
call CustomerService/CreateCustomer '{"customer": {"first_name": "Ada", "last_name": "L", "email": "ada@example.com", "tier": "CUSTOMER_TIER_PAID"}}' >/dev/null
call TicketService/CreateTicket '{"customer_id": 1, "department_id": 1, "category": "TICKET_CATEGORY_OTHER", "subject": "Load", "description": "Load.", "severity": "SEVERITY_MINOR", "impact": 1}' >/dev/null
# Prometheus scrapes the service before the load starts, so the load's calls spread over
# several samples; they are interleaved (3 found, 1 not found), so any window of them has
# the same error ratio.
for _ in $(seq 1 100); do
  curl -s "http://127.0.0.1:$prom/api/v1/query?query=up" 2>/dev/null | grep -q '"value":\[[0-9.]*,"1"\]' && break
  sleep 0.2
done
for i in $(seq 1 10); do
  for _ in 1 2 3; do call TicketService/GetTicket '{"id": 1}' >/dev/null; done
  if call TicketService/GetTicket '{"id": 999999}' >/dev/null 2>&1; then exit 1; fi
  if [ $((i % 2)) = 0 ] && call TicketService/CreateTicket '{"customer_id": 1, "department_id": 1, "impact": 9}' >/dev/null 2>&1; then
    exit 1
  fi
done

python3 scripts/prometheus_check.py "http://127.0.0.1:$prom" deploy/grafana/support-service.json || {
  tail -20 "$work/prometheus.log"
  exit 1
}
