#!/usr/bin/env bash
# The Python grpcio WatchQueue client (tests/python/watch_client.py) and a call's callee
# (tests/python/call_callee.py) against a real server
# on a fresh MariaDB database. Needs the .tools/venv that scripts/test.sh sets up.
set -euo pipefail
cd "$(dirname "$0")/.."
base="${SUPPORT_TEST_MYSQL_URL:-mysql://support:support@127.0.0.1:3306}"
db="support_py_$$"
port=50061
work=$(mktemp -d)
mariadb -usupport -psupport -h127.0.0.1 -e "CREATE DATABASE \`$db\`"
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  mariadb -usupport -psupport -h127.0.0.1 -e "DROP DATABASE \`$db\`"
  rm -rf "$work"
}
cargo build --quiet
# A production-style start (MySQL): the signing secret must be set.
export SUPPORT_AUTH_SECRET
SUPPORT_AUTH_SECRET=$(head -c 48 /dev/urandom | base64 -w0)
DATABASE_URL="$base/$db" SUPPORT_LISTEN="127.0.0.1:$port" SUPPORT_ADMIN_LISTEN=off SUPPORT_WATCH_HEARTBEAT_MS=300 \
  "${CARGO_TARGET_DIR:-target}/debug/support-service" >"$work/server.log" 2>&1 &
server=$!
trap cleanup EXIT
# It listens at once and serves once migrated: wait for health SERVING.
for _ in $(seq 1 150); do
  .tools/venv/bin/grpcurl -plaintext -d '{}' "127.0.0.1:$port" grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"' && break
  sleep 0.2
done
SUPPORT_TOKEN=$("${CARGO_TARGET_DIR:-target}/debug/support-service" token --role service --subject python-fixtures)
export SUPPORT_TOKEN
.tools/venv/bin/python tests/python/watch_client.py "127.0.0.1:$port" || { cat "$work/server.log"; exit 1; }
.tools/venv/bin/python tests/python/call_callee.py "127.0.0.1:$port" || { cat "$work/server.log"; exit 1; }
