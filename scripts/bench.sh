#!/usr/bin/env bash
# Benchmarks (SPEC 8): each Conduit stage against its physical limit on the same table, in the
# same run, printing the ratio and peak memory:
#   extract   psql \copy (query) TO STDOUT            vs  conduit-extract
#   load      psql \copy table FROM STDIN (COPY text) vs  conduit-load (the same rows as NDJSON)
#   pipeline  psql \copy … TO STDOUT | psql \copy … FROM STDIN
#                                                     vs  conduit-extract | conduit-state commit -- conduit-load
# Each row also shows the CPU time (user+system seconds) of psql's side and Conduit's: for the
# pipeline, all three Conduit processes together, and on the line after it each stage's own.
# Needs a PostgreSQL reachable through the usual libpq variables (PGHOST, PGPORT, PGUSER,
# PGPASSWORD, PGDATABASE).
#   group     peak memory of each stage for one value group of GROUP_MB megabytes (every row
#             sharing one created_at), which both conduit-extract and conduit-state hold back
#             until it is complete: memory must stay flat (it spills to a temporary file)
#   scripts/bench.sh [ROWS]        (default 1000000; RUNS=3 rounds; GROUP_MB=200 adds the group stage;
#                                   MERGE_ROWS=N the merge stage; SNOWFLAKE_ROWS=N the fakesnow stage;
#                                   STAGE_ROWS=N binds vs the encrypted stage, on a stand-in)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
runs=${RUNS:-3}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
# CONDUIT_BENCH_BIN: measure these binaries instead (another build, for before/after figures).
if [ -n "${CONDUIT_BENCH_BIN:-}" ]; then
  bin=$CONDUIT_BENCH_BIN
else
  swift build -c release >/dev/null
  bin=$(pwd)/.build/release
fi
work=$(mktemp -d /tmp/conduit-bench.XXXXXX)
trap 'rm -rf "$work"; psql -qc "DROP TABLE IF EXISTS conduit_bench_psql_in, conduit_bench_load_in" >/dev/null 2>&1 || true' EXIT

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
columns="id, name, email, created_at, amount, active, meta"
query="SELECT $columns FROM $table WHERE id > :last_value ORDER BY id"
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
  - name: pgout
    type: postgresql
    host: \${PGHOST:-127.0.0.1}
    port: \${PGPORT:-5432}
    user: \${PGUSER:-postgres}
    password: \${PGPASSWORD:-}
    database: \${PGDATABASE:-postgres}
resources:
  - name: bench
    source: pg
    destination: pgout
    table: conduit_bench_load_in
    incremental_column: id
    query: "$query"
YAML
conduit=(--config "$work/ingest.yml" --state-file "$work/state.json" --quiet)
mkdir "$work/timed"
printf '#!/bin/sh\nexec /usr/bin/time -f "%%U %%S" -o %s %s "$@"\n' "'$work/load.cpu'" "'$bin/conduit-load'" > "$work/timed/conduit-load"
chmod +x "$work/timed/conduit-load"

measure() { # runs "$@" (stdout discarded), prints "seconds kilobytes user_seconds system_seconds"
  # (CPU time covers every process "$@" waits for: all three stages of a pipeline)
  /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$@" > /dev/null
  cat "$work/time"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
fresh_tables() {
  psql -qc "DROP TABLE IF EXISTS conduit_bench_psql_in, conduit_bench_load_in;
            CREATE TABLE conduit_bench_psql_in (LIKE $table); CREATE TABLE conduit_bench_load_in (LIKE $table)"
}

psql -qc "\\copy (${query//:last_value/0}) TO '$work/rows.copy'"
"$bin/conduit-extract" "${conduit[@]}" bench > "$work/rows.ndjson"
echo "bench: $rows rows; COPY text $(du -h "$work/rows.copy" | cut -f1), NDJSON $(du -h "$work/rows.ndjson" | cut -f1)" >&2

cpu() { awk -v u="$1" -v s="$2" 'BEGIN { printf "%.2f+%.2f", u, s }'; }
printf '%-9s %-4s %10s %10s %12s %7s %11s %11s\n' stage run psql_s conduit_s conduit_kb ratio psql_cpu conduit_cpu
for run in $(seq "$runs"); do
  read -r p _ pu ps < <(measure psql -qc "\\copy (${query//:last_value/0}) TO STDOUT")
  read -r c kb cu cs < <(measure "$bin/conduit-extract" "${conduit[@]}" --last-value 0 bench)
  printf '%-9s %-4s %10s %10s %12s %7s %11s %11s\n' extract "$run" "$p" "$c" "$kb" "$(ratio "$c" "$p")" "$(cpu "$pu" "$ps")" "$(cpu "$cu" "$cs")"

  fresh_tables
  read -r p _ pu ps < <(measure sh -c "psql -qc '\\copy conduit_bench_psql_in FROM STDIN' < '$work/rows.copy'")
  read -r c kb cu cs < <(measure sh -c "'$bin/conduit-load' ${conduit[*]} bench < '$work/rows.ndjson'")
  [ "$(psql -Atqc 'SELECT count(*) FROM conduit_bench_load_in')" = "$rows" ] || { echo "bench: load lost rows" >&2; exit 1; }
  printf '%-9s %-4s %10s %10s %12s %7s %11s %11s\n' load "$run" "$p" "$c" "$kb" "$(ratio "$c" "$p")" "$(cpu "$pu" "$ps")" "$(cpu "$cu" "$cs")"

  fresh_tables
  rm -f "$work/state.json"
  read -r p _ pu ps < <(measure bash -o pipefail -c "psql -qc '\\copy (${query//:last_value/0}) TO STDOUT' | psql -qc '\\copy conduit_bench_psql_in FROM STDIN'")
  # Each stage's own CPU too: the extract and the commit under /usr/bin/time (the commit's
  # figure holds its loader's, subtracted below), the loader through a wrapper that keeps the
  # name conduit-load, which the commit trusts to validate lines (another name would make the
  # commit validate every line itself and measure something else).
  read -r c _ cu cs < <(measure bash -o pipefail -c "/usr/bin/time -f '%U %S' -o '$work/extract.cpu' '$bin/conduit-extract' ${conduit[*]} bench | /usr/bin/time -f '%U %S' -o '$work/commit.cpu' '$bin/conduit-state' commit ${conduit[*]} bench -- '$work/timed/conduit-load' ${conduit[*]} bench")
  [ "$(psql -Atqc 'SELECT count(*) FROM conduit_bench_load_in')" = "$rows" ] || { echo "bench: pipeline lost rows" >&2; exit 1; }
  printf '%-9s %-4s %10s %10s %12s %7s %11s %11s\n' pipeline "$run" "$p" "$c" "-" "$(ratio "$c" "$p")" "$(cpu "$pu" "$ps")" "$(cpu "$cu" "$cs")"
  read -r eu es < "$work/extract.cpu"
  read -r tu ts < "$work/commit.cpu"
  read -r lu ls < "$work/load.cpu"
  printf '%-9s %-4s   extract %s, commit %s, load %s (user+system s)\n' "  stages" "$run" "$(cpu "$eu" "$es")" \
    "$(awk -v a="$tu" -v b="$lu" -v c="$ts" -v d="$ls" 'BEGIN { printf "%.2f+%.2f", a - b, c - d }')" "$(cpu "$lu" "$ls")"
done

group_mb=${GROUP_MB:-0}
if [ "$group_mb" -gt 0 ]; then
  group_rows=$((group_mb * 1000000 / 140))
  gtable=conduit_bench_group_$group_rows
  if [ "$(psql -Atqc "SELECT to_regclass('$gtable') IS NOT NULL")" != t ]; then
    echo "bench: creating $gtable: $group_rows rows sharing one created_at" >&2
    psql -q -v ON_ERROR_STOP=1 -c "CREATE TABLE $gtable AS SELECT g AS id, '2024-01-01 00:00:00+00'::timestamptz AS created_at,
      repeat('x', 80) || g AS payload FROM generate_series(1, $group_rows) g"
    psql -q -c "VACUUM ANALYZE $gtable"
  fi
  cat > "$work/group.yml" <<YAML
sources:
  - {name: pg, type: postgresql, host: "\${PGHOST:-127.0.0.1}", port: "\${PGPORT:-5432}", user: "\${PGUSER:-postgres}", password: "\${PGPASSWORD:-}", database: "\${PGDATABASE:-postgres}"}
destinations:
  - {name: pgout, type: postgresql, host: "\${PGHOST:-127.0.0.1}", port: "\${PGPORT:-5432}", user: "\${PGUSER:-postgres}", password: "\${PGPASSWORD:-}", database: "\${PGDATABASE:-postgres}"}
resources:
  - name: group
    source: pg
    destination: pgout
    table: conduit_bench_group_in
    incremental_column: created_at
    query: "SELECT id, created_at, payload FROM $gtable WHERE created_at > :last_value ORDER BY created_at"
YAML
  psql -qc "DROP TABLE IF EXISTS conduit_bench_group_in"
  g=(--config "$work/group.yml" --state-file "$work/group-state.json" --quiet)
  started=$(date +%s.%N)
  bash -o pipefail -c "/usr/bin/time -f %M -o '$work/extract.kb' '$bin/conduit-extract' ${g[*]} group \
    | /usr/bin/time -f %M -o '$work/state.kb' '$bin/conduit-state' commit ${g[*]} group -- \
      /usr/bin/time -f %M -o '$work/load.kb' '$bin/conduit-load' ${g[*]} group"
  seconds=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  [ "$(psql -Atqc 'SELECT count(*) FROM conduit_bench_group_in')" = "$group_rows" ] || { echo "bench: group lost rows" >&2; exit 1; }
  printf 'group: %s MB in one value group (%s rows) in %ss; peak RSS kB: extract %s, state %s, load %s\n' \
    "$group_mb" "$group_rows" "$seconds" "$(cat "$work/extract.kb")" "$(cat "$work/state.kb")" "$(cat "$work/load.kb")"
  psql -qc "DROP TABLE IF EXISTS conduit_bench_group_in"
fi

# merge: MERGE_ROWS rows merged into a table that already holds MERGE_ROWS (half updates, half
# inserts), conduit-load (mode: merge, COPY into a staging table + INSERT … ON CONFLICT per batch)
# against psql doing the same from a staging table (\copy into it, then INSERT … ON CONFLICT).
merge_rows=${MERGE_ROWS:-0}
if [ "$merge_rows" -gt 0 ]; then
  half=$((merge_rows / 2))
  psql -q -v ON_ERROR_STOP=1 -c "DROP TABLE IF EXISTS conduit_bench_merge_base, conduit_bench_merge_psql, conduit_bench_merge_conduit, conduit_bench_merge_stage" \
    -c "CREATE TABLE conduit_bench_merge_base AS SELECT g::bigint AS id, 'user ' || g AS name, 'u' || g || '@example.com' AS email,
          (g % 100000) / 100.0 AS amount FROM generate_series(1, $merge_rows) g"
  psql -q -c "\\copy (SELECT g::bigint AS id, 'new ' || g AS name, 'n' || g || '@example.com' AS email, (g % 1000) / 10.0 AS amount
                      FROM generate_series($half + 1, $merge_rows + $half) g) TO '$work/merge.copy'"
  psql -q -c "\\copy (SELECT row_to_json(r) FROM (SELECT g::bigint AS id, 'new ' || g AS name, 'n' || g || '@example.com' AS email, (g % 1000) / 10.0 AS amount
                      FROM generate_series($half + 1, $merge_rows + $half) g) r) TO '$work/merge.ndjson'"
  cat > "$work/merge.yml" <<YAML
sources:
  - {name: pg, type: postgresql, host: "\${PGHOST:-127.0.0.1}", port: "\${PGPORT:-5432}", user: "\${PGUSER:-postgres}", password: "\${PGPASSWORD:-}", database: "\${PGDATABASE:-postgres}"}
destinations:
  - {name: pgout, type: postgresql, host: "\${PGHOST:-127.0.0.1}", port: "\${PGPORT:-5432}", user: "\${PGUSER:-postgres}", password: "\${PGPASSWORD:-}", database: "\${PGDATABASE:-postgres}"}
resources:
  - name: merge
    source: pg
    destination: pgout
    table: conduit_bench_merge_conduit
    mode: merge
    primary_key: id
    query: "SELECT 1"
YAML
  for run in $(seq "$runs"); do
    for copy in psql conduit; do
      psql -q -c "DROP TABLE IF EXISTS conduit_bench_merge_$copy" -c "CREATE TABLE conduit_bench_merge_$copy (id bigint PRIMARY KEY, name text, email text, amount numeric)" \
        -c "INSERT INTO conduit_bench_merge_$copy SELECT * FROM conduit_bench_merge_base" -c "VACUUM ANALYZE conduit_bench_merge_$copy"
    done
    read -r p _ < <(measure psql -q -v ON_ERROR_STOP=1 -c "CREATE TEMP TABLE conduit_bench_merge_stage (LIKE conduit_bench_merge_psql)" \
      -c "\\copy conduit_bench_merge_stage FROM '$work/merge.copy'" \
      -c "INSERT INTO conduit_bench_merge_psql SELECT * FROM conduit_bench_merge_stage ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email, amount = EXCLUDED.amount")
    read -r c kb < <(measure sh -c "'$bin/conduit-load' --config '$work/merge.yml' --state-file '$work/merge-state.json' --quiet --infer-types merge < '$work/merge.ndjson'")
    check=$(psql -Atqc "SELECT (SELECT count(*) FROM conduit_bench_merge_conduit) || ',' || (SELECT count(*) FROM conduit_bench_merge_conduit c JOIN conduit_bench_merge_psql p USING (id) WHERE c.name = p.name AND c.amount = p.amount)")
    [ "$check" = "$((merge_rows + half)),$((merge_rows + half))" ] || { echo "bench: merge results differ: $check" >&2; exit 1; }
    printf '%-9s %-4s %10s %10s %12s %7s\n' merge "$run" "$p" "$c" "$kb" "$(ratio "$c" "$p")"
  done
  psql -qc "DROP TABLE IF EXISTS conduit_bench_merge_base, conduit_bench_merge_psql, conduit_bench_merge_conduit"
fi

# snowflake: SNOWFLAKE_ROWS rows (the extract's NDJSON of the bench table) loaded into the fakesnow
# server on port CONDUIT_BENCH_SNOWFLAKE_PORT (python: CONDUIT_BENCH_SNOWFLAKE_PYTHON, the
# virtualenv scripts/test.sh installs), by conduit-load through the stage (PUT + COPY) and through
# array binds, against Snowflake's Python connector binding the same rows (executemany). fakesnow
# runs an array binding row by row, so the bind figures say little about Snowflake itself.
snowflake_rows=${SNOWFLAKE_ROWS:-0}
if [ "$snowflake_rows" -gt 0 ]; then
  sf_port=${CONDUIT_BENCH_SNOWFLAKE_PORT:?set CONDUIT_BENCH_SNOWFLAKE_PORT to a running fakesnow -s}
  sf_python=${CONDUIT_BENCH_SNOWFLAKE_PYTHON:-python3}
  head -n "$snowflake_rows" "$work/rows.ndjson" > "$work/sf.ndjson"
  cat > "$work/sf.yml" <<YAML
sources:
  - {name: pg, type: postgresql, host: "\${PGHOST:-127.0.0.1}", port: "\${PGPORT:-5432}", user: "\${PGUSER:-postgres}", password: "\${PGPASSWORD:-}", database: "\${PGDATABASE:-postgres}"}
destinations:
  - {name: sf, type: snowflake, account: bench, user: bench, password: x, database: CONDUIT_BENCH, schema: RAW, host: 127.0.0.1, port: $sf_port, protocol: http}
resources:
  - {name: sf, source: pg, destination: sf, table: loaded, batch_size: 1000000, query: "SELECT 1"}
YAML
  sf_sql() { "$sf_python" -c 'import sys, snowflake.connector as s
c = s.connect(user="bench", password="x", account="bench", host="127.0.0.1", port=int(sys.argv[1]), protocol="http").cursor()
for q in sys.argv[2:]: c.execute(q)' "$sf_port" "$@"; }
  sf_sql "CREATE DATABASE IF NOT EXISTS CONDUIT_BENCH" "CREATE SCHEMA IF NOT EXISTS CONDUIT_BENCH.RAW"
  cat > "$work/sf_connector.py" <<'PY'
import json, sys, snowflake.connector
rows = [json.loads(line) for line in open(sys.argv[2])]
keys = list(rows[0])
cursor = snowflake.connector.connect(user="bench", password="x", account="bench", host="127.0.0.1", port=int(sys.argv[1]),
                                     protocol="http", database="CONDUIT_BENCH", schema="RAW").cursor()
cursor.execute("CREATE OR REPLACE TABLE BY_CONNECTOR (%s)" % ", ".join(f"{k} VARCHAR" for k in keys))
cursor.executemany("INSERT INTO BY_CONNECTOR VALUES (%s)" % ", ".join(["%s"] * len(keys)),
                   [tuple(None if r.get(k) is None else str(r[k]) for k in keys) for r in rows])
PY
  for run in $(seq "$runs"); do
    read -r p _ < <(measure "$sf_python" "$work/sf_connector.py" "$sf_port" "$work/sf.ndjson")
    for path in staged bound; do
      sf_sql "DROP TABLE IF EXISTS CONDUIT_BENCH.RAW.LOADED"
      threshold=$([ $path = staged ] && echo 0 || echo 1000000000000)
      read -r c kb < <(measure sh -c "CONDUIT_SNOWFLAKE_STAGE_ABOVE_BYTES=$threshold '$bin/conduit-load' --config '$work/sf.yml' --state-file '$work/sf-state.json' --quiet --infer-types sf < '$work/sf.ndjson'")
      printf '%-9s %-4s %10s %10s %12s %7s\n' "sf-$path" "$run" "$p" "$c" "$kb" "$(ratio "$c" "$p")"
    done
  done
fi

# stage: STAGE_ROWS rows (the extract's NDJSON of the bench table) loaded by conduit-load into a
# stand-in for Snowflake with a client-side-encrypted stage (scripts/lib/snowflake-stand-in.py,
# run by CONDUIT_BENCH_SNOWFLAKE_PYTHON, which must have snowflake-connector-python), once by
# array binds and once through the stage (gzip + AES + upload), in batches of STAGE_BATCH rows
# (default 10000). Prints conduit-load's CPU (user+system) and the bytes it sent: statement
# requests as sent (gzip) and stage files (encrypted). The stand-in's own work is not counted.
stage_rows=${STAGE_ROWS:-0}
if [ "$stage_rows" -gt 0 ]; then
  sf_python=${CONDUIT_BENCH_SNOWFLAKE_PYTHON:-python3}
  head -n "$stage_rows" "$work/rows.ndjson" > "$work/stage.ndjson"
  printf '%-9s %-4s %10s %11s %12s %14s %14s\n' stage run conduit_s conduit_cpu conduit_kb query_bytes upload_bytes
  for run in $(seq "$runs"); do
    for path in bound staged; do
      rm -f "$work/stand-in.port" "$work/stand-in.bytes" "$work/stage-state.json"
      "$sf_python" scripts/lib/snowflake-stand-in.py "$work/stand-in.port" "$work/stand-in.bytes" &
      stand_in=$!
      for _ in $(seq 100); do [ -s "$work/stand-in.port" ] && break; sleep 0.1; done
      cat > "$work/stage.yml" <<YAML
sources:
  - {name: pg, type: postgresql, host: "\${PGHOST:-127.0.0.1}", database: postgres}
destinations:
  - {name: sf, type: snowflake, account: bench, user: bench, password: x, database: CONDUIT_BENCH, schema: RAW, host: 127.0.0.1, port: $(cat "$work/stand-in.port"), protocol: http}
resources:
  - {name: sf, source: pg, destination: sf, table: loaded, batch_size: ${STAGE_BATCH:-10000}, query: "SELECT 1"}
YAML
      threshold=$([ $path = staged ] && echo 0 || echo 1000000000000)
      read -r c kb cu cs < <(measure sh -c "CONDUIT_SNOWFLAKE_STAGE_ABOVE_BYTES=$threshold '$bin/conduit-load' --config '$work/stage.yml' --state-file '$work/stage-state.json' --quiet --infer-types sf < '$work/stage.ndjson'")
      kill "$stand_in"; wait "$stand_in" 2>/dev/null || true
      query_bytes=$(awk '$1 == "query" { s += $2 } END { print s + 0 }' "$work/stand-in.bytes")
      upload_bytes=$(awk '$1 == "upload" { s += $2 } END { print s + 0 }' "$work/stand-in.bytes")
      printf '%-9s %-4s %10s %11s %12s %14s %14s\n' "$path" "$run" "$c" "$(cpu "$cu" "$cs")" "$kb" "$query_bytes" "$upload_bytes"
    done
  done
fi
