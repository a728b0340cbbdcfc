#!/usr/bin/env bash
# Benchmark of `vitals serve` (issue 11), run on demand:
#   bench/serve.sh [TICKETS]   (default 1 000 000; DURATION=15s per figure, DURATION_COLD=60s
#                              for cold queries at 50 connections, BATCH=500 tickets per post)
# Over the benchmark store (generated and imported once, kept in ~/.cache/vitals/bench/), with
# wrk on loopback:
#   - p50/p99 of POST /api/v1/query for four dashboard-like queries, cold (--cache-entries 0:
#     every request runs the query; at 1 and at 50 connections) and cached (the result cache,
#     keyed by the store's data version; 50 connections);
#   - durable ingest throughput in records/s with 1, 10 and 50 concurrent writers, each posting
#     NDJSON batches of $BATCH new tickets, then their events (2 per ticket); a record counts
#     once the server answered 200, i.e. after its group commit and fact derivation.
# Goals (issue 11): cached p99 < 50 ms; durable ingest >= 50 000 records/s.
# Machines here are shared and noisy (2 cores, wrk on the same cores as the server): compare
# figures only within one run.
set -euo pipefail
cd "$(dirname "$0")/.."
TICKETS="${1:-1000000}"
DURATION="${DURATION:-15s}"
# Cold queries at 50 connections queue behind each other (2 cores): a longer window, so that
# more than the first wave completes.
DURATION_COLD="${DURATION_COLD:-60s}"
BATCH="${BATCH:-500}"
# PARTS=queries or PARTS=ingest runs one half; SERVE_ARGS are passed to `vitals serve` (e.g.
# SERVE_ARGS="--batch-wait-ms 50" to compare group-commit settings).
PARTS="${PARTS:-queries,ingest}"
SERVE_ARGS="${SERVE_ARGS:-}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vitals/target}"

if ! command -v wrk > /dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    apt-get install -y -qq wrk > /dev/null || { apt-get update -qq && apt-get install -y -qq wrk > /dev/null; }
  else
    echo "bench/serve.sh needs wrk (Debian: apt-get install wrk)" >&2
    exit 1
  fi
fi

cargo build --quiet --workspace --bins
BIN="$CARGO_TARGET_DIR/debug/vitals"
CACHE="$HOME/.cache/vitals/bench"
STORE="$CACHE/store-$TICKETS.duckdb"
CONFIG="$CACHE/store-$TICKETS.toml"
mkdir -p "$CACHE"
if [ ! -f "$STORE" ]; then
  echo "== generate and import $TICKETS tickets (once; kept as $STORE)"
  rm -rf "$CACHE/data-$TICKETS"
  "$BIN" generate --out "$CACHE/data-$TICKETS" --tickets "$TICKETS" --months 12 --start 2025-06-01 | tail -1
  /usr/bin/time -f "import: %e s" "$BIN" import "$CACHE/data-$TICKETS" --db "$STORE.tmp" \
    --config "$CACHE/data-$TICKETS/vitals.toml" | tail -2
  cp "$CACHE/data-$TICKETS/vitals.toml" "$CONFIG"
  mv "$STORE.tmp" "$STORE"
  rm -rf "$CACHE/data-$TICKETS"
fi

WORK="$(mktemp -d)"
PID=""
stop_server() {
  if [ -n "$PID" ]; then
    kill -TERM "$PID" 2> /dev/null || true
    wait "$PID" 2> /dev/null || true
    PID=""
  fi
}
trap 'stop_server; rm -rf "$WORK"' EXIT
cp "$STORE" "$WORK/b.duckdb"
TOKEN=""
ADDR=""

start_server() {
  : > "$WORK/serve.log"
  # shellcheck disable=SC2086 # SERVE_ARGS is a list of words
  "$BIN" serve --db "$WORK/b.duckdb" --addr 127.0.0.1:0 --config "$CONFIG" $SERVE_ARGS "$@" 2> "$WORK/serve.log" &
  PID=$!
  for _ in $(seq 1 600); do
    if grep -q '^vitals serve: http://' "$WORK/serve.log"; then break; fi
    if ! kill -0 "$PID" 2> /dev/null; then cat "$WORK/serve.log" >&2; exit 1; fi
    sleep 0.1
  done
  ADDR=$(grep -o '^vitals serve: http://[0-9.:]*' "$WORK/serve.log" | sed 's|.*http://||')
  if [ -z "$TOKEN" ]; then
    TOKEN=$(grep -o 'vt_[0-9a-f_]*' "$WORK/serve.log" | head -1)
  fi
}

QUERIES=(
  'headline KPIs by month (12 months)|{"metrics":["csat","nps","first_response_time:median","ticket_volume"],"by":["time:month"],"from":"2025-06-01","to":"2026-06-01","timezone":"Europe/Helsinki"}'
  'FRT median and volume by month x channel|{"metrics":["first_response_time:median","ticket_volume"],"by":["time:month","ticket:channel"],"from":"2025-06-01","to":"2026-06-01","timezone":"Europe/Helsinki"}'
  'team table, one month|{"metrics":["csat","first_response_time:business_median","resolution_time:median","fcr"],"by":["ticket:team"],"from":"2026-04-01","to":"2026-05-01","timezone":"Europe/Helsinki"}'
  'weekly volume vs previous, 3 months|{"metrics":["ticket_volume"],"by":["time:week"],"compare":"previous","from":"2026-03-01","to":"2026-06-01","timezone":"Europe/Helsinki"}'
)

run_queries() {
  local label="$1" connections="$2" duration="$3" threads=2
  if [ "$connections" = 1 ]; then threads=1; fi
  for q in "${QUERIES[@]}"; do
    local name="${q%%|*}" body="${q#*|}"
    # One request first: the query must answer 200 (and, cached, fills the cache).
    local status
    status=$(curl -s -o "$WORK/answer.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
      -H 'Content-Type: application/json' --data "$body" "http://$ADDR/api/v1/query")
    if [ "$status" != 200 ]; then
      echo "query '$name' answered $status: $(cat "$WORK/answer.json")" >&2
      exit 1
    fi
    local result
    result=$(VITALS_QUERY="$body" VITALS_TOKEN="$TOKEN" wrk -t"$threads" -c"$connections" -d"$duration" --timeout 120s \
      -s bench/serve_query.lua "http://$ADDR/api/v1/query" | grep '^RESULT' | sed 's/^RESULT //')
    printf '  %-8s c=%-3s %-42s %s\n' "$label" "$connections" "$name" "$result"
  done
}

echo "== store: $TICKETS tickets ($(du -h "$STORE" | cut -f1)); wrk ${DURATION} per figure (cold at 50 connections: ${DURATION_COLD})"
if [[ "$PARTS" == *queries* ]]; then
  echo "== query latency, cold (--cache-entries 0): 1 connection, then 50"
  start_server --cache-entries 0
  run_queries cold 1 "$DURATION"
  run_queries cold 50 "$DURATION_COLD"
  stop_server

  echo "== query latency, cached, 50 connections"
  start_server
  run_queries cached 50 "$DURATION"
  stop_server
fi
[[ "$PARTS" == *ingest* ]] || exit 0
start_server

echo "== durable ingest (new tickets + 2 events each, $BATCH tickets per request${SERVE_ARGS:+; serve $SERVE_ARGS})"
for writers in 1 10 50; do
  threads=2
  if [ "$writers" = 1 ]; then threads=1; fi
  result=$(VITALS_TOKEN="$TOKEN" VITALS_BATCH="$BATCH" VITALS_RUN="w$writers" \
    wrk -t"$threads" -c"$writers" -d"$DURATION" --timeout 60s -s bench/serve_ingest.lua "http://$ADDR" \
    | grep '^RESULT' | sed 's/^RESULT //')
  printf '  %2d writers: %s\n' "$writers" "$result"
done
curl -s -H "Authorization: Bearer $TOKEN" "http://$ADDR/metrics" | grep -E '^vitals_(records_committed_total|commits_total) ' | sed 's/^/  /'
stop_server
