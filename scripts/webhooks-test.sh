#!/usr/bin/env bash
# Webhooks end to end (tests/python/webhook_check.py): two replicas on a fresh MariaDB
# database, a receiver that fails, times out, then accepts; each replica killed (-9) and
# restarted mid-backlog; every event must arrive in order with a signature that Python's
# own hmac verifies. Needs the .tools/venv of scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
base="${SUPPORT_TEST_MYSQL_URL:-mysql://support:support@127.0.0.1:3306}"
db="support_wh_$$"
work=$(mktemp -d)
mariadb -usupport -psupport -h127.0.0.1 -e "CREATE DATABASE \`$db\`"
cleanup() {
  for f in "$work"/replica*.pid; do [ -e "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done || true
  mariadb -usupport -psupport -h127.0.0.1 -e "DROP DATABASE \`$db\`"
  rm -rf "$work"
}
trap cleanup EXIT
cargo build --quiet
export SUPPORT_AUTH_SECRET DATABASE_URL="$base/$db" MYSQL_DB="$db" WORK="$work"
SUPPORT_AUTH_SECRET=$(head -c 48 /dev/urandom | base64 -w0)
export SUPPORT_BIN="${CARGO_TARGET_DIR:-target}/debug/support-service"
"$SUPPORT_BIN" migrate >/dev/null 2>&1 || true
SUPPORT_TOKEN=$("$SUPPORT_BIN" token --role service --subject webhook-check)
export SUPPORT_TOKEN
.tools/venv/bin/python tests/python/webhook_check.py || { tail -30 "$work"/replica*.log; exit 1; }
