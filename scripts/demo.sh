#!/usr/bin/env bash
# The README's first command: Conduit's main job on the embedded default — a SQLite source and a
# SQLite warehouse, no server needed. Builds the tools, creates demo/app.db with sample users,
# runs the incremental pipeline, adds users, runs it again (only the new rows load), runs it a
# third time (nothing new), and shows the warehouse and the state file after each run.
#   scripts/demo.sh            (everything it makes is in ./demo, recreated on every run)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/packages.sh
ensure_packages build

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold= plain=; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }

say "building (swift build -c release)"
mkdir -p .build
swift build -c release > .build/demo-build.log 2>&1 || { cat .build/demo-build.log >&2; exit 1; }
tail -n 1 .build/demo-build.log
PATH="$(pwd)/.build/release:$PATH"

rm -rf demo
mkdir demo
cd demo
sqlite3 app.db <<'SQL'
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, signed_up_at DATETIME, active BOOLEAN);
INSERT INTO users(name, email, signed_up_at, active) VALUES
  ('Ada Lovelace',   'ada@example.com',   '2024-05-01 09:00:00', 1),
  ('Alan Turing',    'alan@example.com',  '2024-05-01 09:30:00', 1),
  ('Grace Hopper',   'grace@example.com', '2024-05-02 14:00:00', 0),
  ('Edsger Dijkstra','edsger@example.com','2024-05-03 08:15:00', 1),
  ('Barbara Liskov', 'barbara@example.com','2024-05-03 11:45:00', 1);
SQL
cat > ingest.yml <<'YAML'
# The demo's configuration: the user's document's shape, on SQLite at both ends.
sources:
  - name: production_db
    type: sqlite
    path: app.db

destinations:
  - name: data_warehouse
    type: sqlite
    path: warehouse.db
    table: raw_users
    mode: append

resources:
  - name: sync_new_users
    source: production_db
    destination: data_warehouse
    incremental_column: id
    query: "SELECT id, name, email, signed_up_at, active FROM users WHERE id > :last_value ORDER BY id"
YAML

pipeline='conduit-extract sync_new_users | conduit-state commit sync_new_users -- conduit-load sync_new_users'
show() {
  echo "-- warehouse.db raw_users:"
  sqlite3 -header -column warehouse.db 'SELECT * FROM raw_users ORDER BY id'
  echo "-- .conduit_state.json:"
  cat .conduit_state.json
}

say "run 1: the first run loads every user (:last_value is 0)"
echo "\$ $pipeline"
bash -o pipefail -c "$pipeline"
show

say "three users sign up"
sqlite3 app.db "INSERT INTO users(name, email, signed_up_at, active) VALUES
  ('Donald Knuth', 'don@example.com', '2024-05-04 10:00:00', 1),
  ('Frances Allen', 'fran@example.com', '2024-05-04 16:20:00', 1),
  ('Ken Thompson', 'ken@example.com', '2024-05-05 07:05:00', 0)"
echo "\$ conduit-extract --dry-run sync_new_users"
conduit-extract --dry-run sync_new_users

say "run 2: only the three new users load"
bash -o pipefail -c "$pipeline"
show

say "run 3: nothing new, nothing loaded, the state stays"
bash -o pipefail -c "$pipeline"
cat .conduit_state.json

say "done: the demo's files are in ./demo (app.db, warehouse.db, ingest.yml, .conduit_state.json)"
