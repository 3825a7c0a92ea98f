#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs what is missing, starts a throwaway
# PostgreSQL cluster and the fakesnow server (Snowflake's protocol, emulated) on loopback, builds,
# runs `swift test`, and stops both on exit — also when the tests fail.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

log() { printf 'test.sh: %s\n' "$*" >&2; }

# --- 1. What the build and the tests need ---------------------------------------------------
. scripts/lib/packages.sh
ensure_packages test
. scripts/lib/fakesnow.sh
ensure_fakesnow

# --- 2. A throwaway PostgreSQL cluster --------------------------------------------------------
pg_bin=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
cluster=$(mktemp -d /tmp/conduit-pg.XXXXXX)
chmod 755 "$cluster"
pg_user_cmd=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir "$cluster" postgres
  chown postgres "$cluster"
  pg_user_cmd=(runuser -u postgres --)
fi

stop_cluster() {
  status=$?
  stop_fakesnow
  if [ -f "$cluster/data/postmaster.pid" ]; then
    "${pg_user_cmd[@]}" "$pg_bin/pg_ctl" -D "$cluster/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$cluster"
  exit $status
}
trap stop_cluster EXIT INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
password="conduit-test-$RANDOM$RANDOM"
printf '%s\n' "$password" > "$cluster/pwfile"
chmod 644 "$cluster/pwfile"
"${pg_user_cmd[@]}" "$pg_bin/initdb" -D "$cluster/data" -U postgres --pwfile="$cluster/pwfile" \
  --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --locale=C.UTF-8 >"$cluster/initdb.log" 2>&1 \
  || { cat "$cluster/initdb.log" >&2; exit 1; }
rm -f "$cluster/pwfile"
"${pg_user_cmd[@]}" "$pg_bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $cluster -c fsync=off -c full_page_writes=off -c max_prepared_transactions=10" start >/dev/null \
  || { cat "$cluster/server.log" >&2; exit 1; }
log "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"

export CONDUIT_TEST_PG_HOST=127.0.0.1
export CONDUIT_TEST_PG_PORT=$port
export CONDUIT_TEST_PG_USER=postgres
export CONDUIT_TEST_PG_PASSWORD=$password
export CONDUIT_TEST_PG_DATABASE=postgres

# --- 2b. The fakesnow server ------------------------------------------------------------------
snowflake_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
start_fakesnow "$snowflake_port" "$cluster/fakesnow.log"
log "fakesnow 0.12.1 on 127.0.0.1:$snowflake_port"
export CONDUIT_TEST_SNOWFLAKE_PORT=$snowflake_port
export CONDUIT_TEST_SNOWFLAKE_PYTHON=$fakesnow_python
export CONDUIT_TEST_SNOWFLAKE_LOG=$cluster/fakesnow.log

# --- 3. Format, build and test ---------------------------------------------------------------
# One formatting, .swift-format's (swift-format ships with the toolchain): apply it with
# `swift format -i -r Sources Tests Package.swift`.
swift format lint --strict -r Sources Tests Package.swift || { log "swift format lint: the code above is not formatted; run swift format -i -r Sources Tests Package.swift"; exit 1; }
# The compiler checks the module graph: a target that imports one it does not declare in
# Package.swift fails the build (docs/ARCHITECTURE.md).
graph_check=(--explicit-target-dependency-import-check error)
swift build --build-tests "${graph_check[@]}"
export CONDUIT_BIN_DIR="$root/.build/debug"
swift test "${graph_check[@]}" "$@"

# --- 4. The README's other command: the demo, checked --------------------------------------------
if [ $# -eq 0 ]; then
  log "running scripts/demo.sh"
  demo_log=$(mktemp /tmp/conduit-demo.XXXXXX)
  scripts/demo.sh > "$demo_log" 2>&1 || { cat "$demo_log" >&2; log "scripts/demo.sh failed"; exit 1; }
  for expected in "state (none) → 5" "state 5 → 8" "no rows, state unchanged at 8" "8   Ken Thompson"; do
    grep -qF "$expected" "$demo_log" || { cat "$demo_log" >&2; log "scripts/demo.sh did not show: $expected"; exit 1; }
  done
  rm -f "$demo_log"
  log "scripts/demo.sh: incremental demo as expected"
fi

# --- 5. The server-free tests and the fuzzer again, under AddressSanitizer ------------------------
# Its own scratch path, so the normal build is left alone. ASan aborts the test process at its
# first report (and LeakSanitizer fails it at exit): swift test exits non-zero, `set -e` stops here.
# Leaks allocated inside the toolchain's Foundation and XCTest (seen: Data(contentsOf:)'s read
# buffer, Process.run's weak reference, XCTest's runner) are suppressed: of the library targets
# only Snowflake imports Foundation (UUIDs, dates, files), and its server-free tests make no request,
# so none of those stacks is Conduit's. ArrowTests include the Arrow reader's mutation tests.
if [ $# -eq 0 ]; then
  log "running the server-free tests and FuzzTests under AddressSanitizer"
  printf 'leak:libFoundation.so\nleak:libFoundationEssentials.so\nleak:libXCTest.so\n' > "$cluster/lsan.supp"
  LSAN_OPTIONS="suppressions=$cluster/lsan.supp" swift test --sanitize=address --scratch-path .build-asan \
    --filter '^(CoreTests|StreamTests|ConfigTests|StateTests|ExtractTests|LoadTests|SQLiteTests|PostgresTests|SnowflakeTests|ArrowTests|FuzzTests)\.'
  log "AddressSanitizer: no reports"
fi
