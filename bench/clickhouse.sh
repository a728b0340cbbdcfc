#!/usr/bin/env bash
# DuckDB against ClickHouse, side by side on this machine (issue 23), run on demand:
#   bench/clickhouse.sh [TICKETS]            # default 1 000 000 (10 000 000: ~1 h, ~40 GB)
#   CH_BENCH_WORK=DIR bench/clickhouse.sh    # keep data, stores and ClickHouse nodes' data in DIR
#   ENGINES="duckdb ch1" bench/clickhouse.sh # a subset: duckdb, ch1 (one node), ch2 (two shards)
# For each engine, on the same generated organisation (12 months from 2025-06-01, every entity):
#   - import (whole process; it derives the facts too);
#   - derivation of every ticket after a calendar change, with one partition, and on ClickHouse
#     with two `vitals derive --partition I/2` processes side by side;
#   - the five benchmark queries of bench/peers (best of 3, whole process), with each one's
#     ratio to DuckDB's;
#   - the monthly report (both formats, best of 2);
#   - through `vitals serve`: the dashboard's Overview in headless Chromium (bench/
#     dashboard_tabs.py: the first visit after the server started, then cold — every query
#     computed — and warm — the result cache), and durable ingest with 1, 10 and 50 writers
#     (wrk, bench/serve_ingest.lua: new tickets and two events each, $BATCH a request,
#     records/s acknowledged). Ingest runs last: on ClickHouse it adds its tickets to the
#     benchmark store (a kept CH_BENCH_WORK then holds them), on DuckDB to a copy.
# CH_PROFILE=1 keeps ClickHouse's query log and prints, after each step, the statements that
# took the server's time (grouped by shape, on the node the commands talk to).
# PARTS chooses what runs after the import (default "derive queries report serve"; at 10 M,
# PARTS="queries report" skips the long re-derivations).
# The ClickHouse nodes are chdb-core 26.9 (tests/clickhouse/chserver.py, the virtual environment
# .ci/run makes): one node, and two shards forming cluster `vitals` (Distributed tables sharded
# by ticket). Every node runs on the same two cores as vitals, so the two-shard figures show
# the cluster's overhead, not its speed-up. Machines here are shared and noisy: compare figures
# only within one run.
set -euo pipefail
cd "$(dirname "$0")/.."
TICKETS="${1:-1000000}"
ENGINES="${ENGINES:-duckdb ch1 ch2}"
MONTH="${BENCH_MONTH:-2026-05}"
PARTS="${PARTS:-derive queries report serve}"
INGEST_DURATION="${INGEST_DURATION:-15s}"
BATCH="${BATCH:-500}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vitals/target}"
if [[ "$PARTS" == *serve* ]] && ! command -v wrk > /dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    apt-get install -y -qq wrk > /dev/null || { apt-get update -qq && apt-get install -y -qq wrk > /dev/null; }
  else
    echo "the serve half needs wrk (Debian: apt-get install wrk)" >&2
    exit 1
  fi
fi
if [ -z "${VITALS_BIN:-}" ]; then
  cargo build --quiet -p vitals
fi
BIN="$(realpath "${VITALS_BIN:-$CARGO_TARGET_DIR/debug/vitals}")"
PY="${VITALS_CHDB_PYTHON:-$HOME/.cache/vitals/chdb-venv/bin/python}"
if [ -n "${CH_BENCH_WORK:-}" ]; then
  mkdir -p "$CH_BENCH_WORK"; WORK="$(realpath "$CH_BENCH_WORK")"; KEEP=1
else
  WORK="$(mktemp -d)"; KEEP=""
fi
SERVERS=()
SERVE_PID=""
cleanup() {
  if [ -n "$SERVE_PID" ]; then kill "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi
  for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  if [ -z "$KEEP" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Seconds the command took, or FAILED (its error on stderr) — a failure is never timed.
secs() {
  local s e; s=$(date +%s%N)
  if ! "$@" > /dev/null; then echo FAILED; return; fi
  e=$(date +%s%N); python3 -c "print(f'{($e - $s) / 1e9:.2f}')"
}
# Runs the command with its output kept in file $1.
tee_out() {
  local out="$1"; shift
  "$@" > "$out"
}
best() {
  local n="$1"; shift; local b=""
  for _ in $(seq "$n"); do
    local t; t=$(secs "$@")
    if [ "$t" = FAILED ]; then echo FAILED; return; fi
    if [ -z "$b" ] || python3 -c "import sys; sys.exit(0 if $t < $b else 1)"; then b=$t; fi
  done
  echo "$b"
}

if [ ! -f "$WORK/data/vitals.toml" ]; then
  echo "== generate $TICKETS tickets"
  "$BIN" generate --out "$WORK/data" --tickets "$TICKETS" --months 12 --start 2025-06-01 | tail -1
fi
CONFIG="$WORK/data/vitals.toml"
# The same configuration with one more holiday: every ticket's business time is re-derived.
sed -e '$a\' "$CONFIG" > "$WORK/changed.toml"
python3 - "$WORK/changed.toml" <<'EOF'
import re, sys
path = sys.argv[1]
text = open(path).read()
# One more holiday in every calendar that lists holidays (or a default calendar's list).
new, n = re.subn(r'holidays\s*=\s*\[', 'holidays = ["2025-12-29", ', text, count=0)
if n == 0:
    new = text + '\n[calendars.default]\nzone = "UTC"\nholidays = ["2025-12-29"]\n'
open(path, "w").write(new)
EOF

# Starts a ClickHouse of $1 shards with its data under $2; sets URLS.
start_clickhouse() {
  local shards="$1" dir="$2"
  mkdir -p "$dir"
  rm -f "$dir/out" "$dir/stdin"
  # The nodes live while their stdin is open: this script holds the write end of a FIFO, so
  # they stop when it exits, however it ends (and `kill` in cleanup stops them at once).
  mkfifo "$dir/stdin"
  local log=()
  if [ -n "${CH_PROFILE:-}" ]; then log=(--query-log); fi
  "$PY" tests/clickhouse/chserver.py --shards "$shards" --dir "$dir" "${log[@]}" < "$dir/stdin" > "$dir/out" &
  SERVERS+=("$!")
  local keep
  exec {keep}> "$dir/stdin"
  for _ in $(seq 600); do grep -q '^ready' "$dir/out" 2>/dev/null && break; sleep 0.2; done
  mapfile -t URLS < <(awk '/^node/ {print $3}' "$dir/out")
}

# Starts `vitals serve` on store $1 with configuration $2; sets ADDR and TOKEN (a read and
# ingest token made for the run).
start_serve() {
  local db="$1" cfg="$2"
  TOKEN=$("$BIN" token create --scope read,ingest --name bench --db "$db" --config "$cfg" | grep -oE 'vt_[0-9a-f_]+' | head -1)
  : > "$WORK/serve.log"
  # From the work directory: a ClickHouse store's warm list is written in the current one.
  (cd "$WORK" && exec "$BIN" serve --db "$db" --config "$cfg" --addr 127.0.0.1:0 2> "$WORK/serve.log" > /dev/null) &
  SERVE_PID=$!
  for _ in $(seq 1 600); do
    if grep -q '^vitals serve: http://' "$WORK/serve.log"; then break; fi
    if ! kill -0 "$SERVE_PID" 2> /dev/null; then cat "$WORK/serve.log" >&2; return 1; fi
    sleep 0.2
  done
  ADDR=$(grep -o '^vitals serve: http://[0-9.:]*' "$WORK/serve.log" | sed 's|.*http://||')
}

stop_serve() {
  if [ -n "$SERVE_PID" ]; then kill -TERM "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; SERVE_PID=""; fi
}

# The Overview tab, then durable ingest, through `vitals serve` on store $2 (engine $1,
# configuration $3).
serve_figures() {
  local engine="$1" db="$2" cfg="$3"
  start_serve "$db" "$cfg" || { R[$engine,overview_first]=FAILED; return; }
  local out
  if out=$(DASHBOARD_TABS=overview python3 bench/dashboard_tabs.py "http://$ADDR" "$TOKEN" 2>&1); then
    R[$engine,overview_first]=$(sed -nE 's/^first visit.*whole tab ([0-9.]+) s.*/\1/p' <<< "$out")
    R[$engine,overview_cold]=$(awk '$1 == "overview" {split($3, w, "/"); print w[1]}' <<< "$out")
    R[$engine,overview_warm]=$(awk '$1 == "overview" {split($3, w, "/"); print w[2]}' <<< "$out")
  else
    echo "$out" | tail -5 >&2
    R[$engine,overview_first]=FAILED
  fi
  echo "Overview, whole tab: first visit ${R[$engine,overview_first]:-} s, cold ${R[$engine,overview_cold]:-} s, warm ${R[$engine,overview_warm]:-} s"
  for writers in 1 10 50; do
    local threads=2 result
    if [ "$writers" = 1 ]; then threads=1; fi
    result=$(VITALS_TOKEN="$TOKEN" VITALS_BATCH="$BATCH" VITALS_RUN="$engine-$(date +%s)-w$writers" \
      wrk -t"$threads" -c"$writers" -d"$INGEST_DURATION" --timeout 60s -s bench/serve_ingest.lua "http://$ADDR" \
      | grep '^RESULT' | sed 's/^RESULT //')
    echo "ingest, $writers writers: $result"
    R[$engine,ingest$writers]=$(sed -nE 's/.*records_per_s=([0-9]+).*/\1/p' <<< "$result")
  done
  stop_serve
}

# With CH_PROFILE: the statements of the step just run ($1) that took the server's time, by
# shape (normalized_query_hash), then the log emptied for the next step.
ch_profile() {
  [ -n "${CH_PROFILE:-}" ] && [ "$engine" != duckdb ] || return 0
  local url="${URLS[0]}"
  curl -sf "$url/" --data-binary "SYSTEM FLUSH LOGS" > /dev/null || return 0
  echo "   ClickHouse's time in $1 (statements by shape: count, total s, max s, rows read, sample):"
  curl -sf "$url/" --data-binary "SELECT count(), round(sum(query_duration_ms) / 1000, 2) AS total, \
    round(max(query_duration_ms) / 1000, 2), sum(read_rows), \
    substring(replaceRegexpAll(any(query), '\\s+', ' '), 1, 110) FROM system.query_log \
    WHERE type = 'QueryFinish' AND is_initial_query AND query NOT LIKE '%system.query_log%' \
    GROUP BY normalized_query_hash ORDER BY total DESC LIMIT 8 FORMAT TSV" | sed 's/^/     /'
  curl -sf "$url/" --data-binary "TRUNCATE TABLE system.query_log" > /dev/null || true
}

declare -A R
QUERIES=()
while IFS=$'\t' read -r q flags; do QUERIES+=("$q"$'\t'"$flags"); done < <(cd bench/peers && python3 -c '
from common import QUERIES
for q, d in QUERIES.items():
    print(q, " ".join([f"--metric {m}" for m in d["metrics"]] + [f"--by {b}" for b in d["by"]]), sep="\t")')

for engine in $ENGINES; do
  echo "== $engine"
  cfg="$CONFIG"; changed="$WORK/changed.toml"
  case "$engine" in
    duckdb)
      db="$WORK/b.duckdb"; INIT=()
      ;;
    ch1|ch2)
      shards="${engine#ch}"
      start_clickhouse "$shards" "$WORK/$engine"
      db="clickhouse://${URLS[0]#http://}/vitals"
      if [ "$shards" -gt 1 ]; then
        for f in "$CONFIG" "$WORK/changed.toml"; do
          printf '\n[store]\ncluster = "vitals"\n' | cat "$f" - > "$WORK/$engine-$(basename "$f")"
        done
        cfg="$WORK/$engine-$(basename "$CONFIG")"; changed="$WORK/$engine-changed.toml"
      fi
      INIT=("${URLS[@]}")
      ;;
    *) echo "unknown engine $engine (duckdb, ch1, ch2)" >&2; exit 1 ;;
  esac
  if [ ! -e "$WORK/$engine.imported" ]; then
    for url in "${INIT[@]}"; do "$BIN" store init --db "clickhouse://${url#http://}/vitals" --config "$cfg" > /dev/null; done
    R[$engine,import]=$(secs tee_out "$WORK/$engine-import.out" "$BIN" import "$WORK/data" --db "$db" --config "$cfg")
    # Where the import spent its time (its own phases: read and validate, merge, derive).
    grep '^time:' "$WORK/$engine-import.out" || true
    ch_profile import
    touch "$WORK/$engine.imported"
  else
    R[$engine,import]="(kept)"
  fi
  echo "import: ${R[$engine,import]} s"
  # The configuration the facts are derived with: the import's, or the changed one after the
  # re-derivations.
  current="$cfg"
  if [[ "$PARTS" == *derive* ]]; then
    R[$engine,derive1]=$(secs "$BIN" derive --db "$db" --config "$changed")
    echo "derive every ticket, 1 partition: ${R[$engine,derive1]} s"
    if [ "$engine" != duckdb ]; then
      # Back to the original calendars, then both partitions side by side.
      "$BIN" derive --db "$db" --config "$cfg" > /dev/null
      s=$(date +%s%N)
      "$BIN" derive --db "$db" --config "$changed" --partition 0/2 > /dev/null &
      p0=$!
      "$BIN" derive --db "$db" --config "$changed" --partition 1/2 > /dev/null
      wait "$p0"
      e=$(date +%s%N)
      R[$engine,derive2]=$(python3 -c "print(f'{($e - $s) / 1e9:.2f}')")
      echo "derive every ticket, 2 partitions side by side: ${R[$engine,derive2]} s"
    fi
    ch_profile derivation
    current="$changed"
  fi
  if [[ "$PARTS" == *queries* ]]; then
    for entry in "${QUERIES[@]}"; do
      q="${entry%%$'\t'*}"; flags="${entry#*$'\t'}"
      # shellcheck disable=SC2086
      R[$engine,$q]=$(best 3 "$BIN" query --db "$db" --config "$current" $flags --from 2025-06-01 --to 2026-06-01 --json)
      echo "query $q: ${R[$engine,$q]} s"
    done
    ch_profile "the five queries (3 runs each)"
  fi
  if [[ "$PARTS" == *report* ]]; then
    R[$engine,report]=$(VITALS_NOW=2027-01-01T00:00:00Z best 2 "$BIN" report --month "$MONTH" --db "$db" --config "$current" --out "$WORK/report-$engine")
    echo "report $MONTH: ${R[$engine,report]} s"
    ch_profile "the report (2 runs)"
  fi
  if [[ "$PARTS" == *serve* ]]; then
    if [ "$engine" = duckdb ]; then
      cp "$db" "$WORK/serve.duckdb"
      serve_figures "$engine" "$WORK/serve.duckdb" "$current"
      rm -f "$WORK/serve.duckdb" "$WORK/serve.duckdb.warm.json"
    else
      serve_figures "$engine" "$db" "$current"
    fi
  fi
done

echo
echo "== $TICKETS tickets: seconds (ratio to DuckDB); ingestN: records/s with N writers"
ROWS=(import derive1 derive2)
for entry in "${QUERIES[@]}"; do ROWS+=("${entry%%$'\t'*}"); done
ROWS+=(report overview_first overview_cold overview_warm ingest1 ingest10 ingest50)
printf '%-22s' ""; for engine in $ENGINES; do printf '%-18s' "$engine"; done; echo
for row in "${ROWS[@]}"; do
  printf '%-22s' "$row"
  for engine in $ENGINES; do
    v="${R[$engine,$row]:--}"; base="${R[duckdb,$row]:-}"
    if [ "$engine" != duckdb ] && [[ "$v" =~ ^[0-9.]+$ ]] && [[ "$base" =~ ^[0-9.]+$ ]]; then
      v="$v ($(python3 -c "print(f'{$v / max($base, 1e-9):.2f}x')"))"
    fi
    printf '%-18s' "$v"
  done
  echo
done
