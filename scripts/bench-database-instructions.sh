#!/usr/bin/env bash
# MariaDB's instructions per call, through the service and from raw sqlx (BENCHMARKS.md,
# issue 21, item 30). Starts a second mariadbd of its own on 127.0.0.1:$PORT under
# `valgrind --tool=callgrind`, with the settings of the timed tables (128 MiB buffer pool,
# a flush at every commit, no binary log), and runs `bench instructions` against it with
# `--database-dumps`, so each counted window counts the database's instructions too.
# Instructions repeat where seconds do not: if the service asks MariaDB for more work
# than raw sqlx does for the same calls, it shows here whatever else the machine does.
# Not part of .ci/run (minutes: the database runs under valgrind). The
# arguments go to `bench instructions`, e.g.
#   bash scripts/bench-database-instructions.sh --scenarios get-ticket --calls 300 --callers 16
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-3317}"
work=$(mktemp -d /tmp/support-bench-database.XXXXXX)
chmod 755 "$work"
pid=
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --quiet --release -p bench

# mariadbd will not run as root unless told to.
user=()
if [ "$(id -u)" = 0 ]; then user=(--user=root); fi
mariadb-install-db --no-defaults --datadir="$work/data" "${user[@]}" \
  --auth-root-authentication-method=normal >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; exit 1; }
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/mariadbd.%p.out" \
  /usr/sbin/mariadbd --no-defaults --datadir="$work/data" "${user[@]}" \
  --port="$PORT" --bind-address=127.0.0.1 --socket="$work/mariadbd.sock" \
  --skip-log-bin --innodb-flush-log-at-trx-commit=1 \
  --innodb-buffer-pool-size=128M --innodb-buffer-pool-size-max=128M \
  --innodb-use-native-aio=0 --max-connections=151 >"$work/mariadbd.log" 2>&1 &
pid=$!
for _ in $(seq 1 180); do
  if mariadb --no-defaults -uroot -h127.0.0.1 -P"$PORT" -e 'SELECT 1' >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then
    tail -20 "$work/mariadbd.log"
    exit 1
  fi
  sleep 1
done
mariadb --no-defaults -uroot -h127.0.0.1 -P"$PORT" -e 'SELECT 1' >/dev/null

"${CARGO_TARGET_DIR:-target}/release/bench" instructions --mysql "mysql://root@127.0.0.1:$PORT" --database-dumps "$work" "$@"
