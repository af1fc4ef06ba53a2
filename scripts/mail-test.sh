#!/usr/bin/env bash
# Customer email end to end into a real SMTP sink (tests/python/mail_check.py, aiosmtpd):
# replies and resolutions mailed, internal notes and opted-out customers never, nothing
# lost when the server is killed mid-burst. Needs the .tools/venv of scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
cleanup() {
  [ -e "$work/server.pid" ] && kill -9 "$(cat "$work/server.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cargo build --quiet
export WORK="$work" DATABASE_URL="sqlite://$work/mail.db?mode=rwc"
export SUPPORT_BIN="${CARGO_TARGET_DIR:-target}/debug/support-service"
"$SUPPORT_BIN" migrate >/dev/null
.tools/venv/bin/python tests/python/mail_check.py || { tail -30 "$work/server.log"; exit 1; }
