#!/usr/bin/env bash
# Extract benchmark (SPEC 8): times `psql \copy (query) TO STDOUT` and `conduit-extract` on the
# same table in one run and prints the ratio and peak memory. Needs a PostgreSQL reachable through
# the usual libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE).
#   scripts/bench.sh [ROWS]        (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
runs=${RUNS:-3}
swift build -c release >/dev/null
bin=.build/release
work=$(mktemp -d /tmp/conduit-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

table=conduit_bench_$rows
if [ "$(psql -Atqc "SELECT to_regclass('$table') IS NOT NULL")" != t ]; then
  echo "bench: creating $table with $rows rows" >&2
  psql -q -v ON_ERROR_STOP=1 <<SQL
CREATE TABLE $table(id bigserial PRIMARY KEY, name text, email text, created_at timestamptz,
                    amount numeric(12,2), active boolean, meta jsonb);
INSERT INTO $table(name, email, created_at, amount, active, meta)
  SELECT 'user ' || g, 'u' || g || '@example.com', '2024-01-01'::timestamptz + g * interval '1 second',
         (g % 100000) / 100.0, g % 2 = 0, jsonb_build_object('a', g % 10, 'tag', 'x')
  FROM generate_series(1, $rows) g;
VACUUM ANALYZE $table;
SQL
fi
query="SELECT id, name, email, created_at, amount, active, meta FROM $table WHERE id > :last_value ORDER BY id"
cat > "$work/ingest.yml" <<YAML
sources:
  - name: pg
    type: postgresql
    host: \${PGHOST:-127.0.0.1}
    port: \${PGPORT:-5432}
    user: \${PGUSER:-postgres}
    password: \${PGPASSWORD:-}
    database: \${PGDATABASE:-postgres}
destinations:
  - {name: none, type: sqlite, path: $work/none.db}
resources:
  - name: bench
    source: pg
    destination: none
    incremental_column: id
    query: "$query"
YAML

measure() { # prints "seconds kilobytes"
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > /dev/null
  cat "$work/time"
}
printf '%-8s %10s %10s %12s %8s\n' run psql_s extract_s extract_kb ratio
for run in $(seq "$runs"); do
  read -r psql_s _ < <(measure psql -qc "\\copy (${query//:last_value/0}) TO STDOUT")
  read -r extract_s extract_kb < <(measure "$bin/conduit-extract" --config "$work/ingest.yml" --state-file "$work/state.json" --quiet bench)
  printf '%-8s %10s %10s %12s %8s\n' "$run" "$psql_s" "$extract_s" "$extract_kb" "$(awk -v a="$extract_s" -v b="$psql_s" 'BEGIN { printf "%.2f", a / b }')"
done
