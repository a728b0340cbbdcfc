#!/usr/bin/env bash
# Soak test of `vitals serve`, run on demand (not part of CI):
#   bench/soak.sh                          # 10 minutes (DURATION=600) at 50 clients (CLIENTS=50)
#   DURATION=60 bench/soak.sh              # a quick run
#   VITALS=path/to/vitals bench/soak.sh    # a prebuilt binary instead of `cargo build`
# Over a copy of the demo store (`vitals demo --tickets $TICKETS`, default 20 000; built once and
# kept in ~/.cache/vitals/bench/), or STORE=… CONFIG=… (TOKEN=vt_…: an admin token when that
# store already has tokens), it starts `vitals serve` and runs bench/soak.py against it:
# dashboard queries, drill-downs, tickets, SLA and spikes, NDJSON ingest and survey links at
# CLIENTS concurrent clients, plus SLOW=20 slowloris sockets and IDLE=10 idle keep-alive
# connections; prints per request kind count, p50/p99 latency, errors and 503s, how the
# server treated the slow connections, its RSS every 10 s, then checks that every acknowledged
# ticket, event and survey answer is in the store (PASS/FAIL lines; exit status 1 on failure).
# SERVE_ARGS are passed to `vitals serve`; SEED, MIX (weights of the clients' actions, see
# bench/soak.py), VERIFY_SAMPLE (tickets opened at the end, default 2000) and KEEP=1 (keep the
# work folder with the store and the server's log) also apply. The store grows during the run
# (ingest adds tickets at "now"): judge RSS beside the store's size, printed at the end.
# Machines here are shared and noisy (2 cores, the clients on the same cores as the server).
set -euo pipefail
cd "$(dirname "$0")/.."
export DURATION="${DURATION:-600}" CLIENTS="${CLIENTS:-50}" SLOW="${SLOW:-20}" IDLE="${IDLE:-10}"
TICKETS="${TICKETS:-20000}"
SERVE_ARGS="${SERVE_ARGS:-}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vitals/target}"

if [ -n "${VITALS:-}" ]; then
  BIN="$VITALS"
else
  cargo build --quiet -p vitals
  BIN="$CARGO_TARGET_DIR/debug/vitals"
fi
[ -x "$BIN" ] || { echo "no vitals binary at $BIN" >&2; exit 1; }

WORK="$(mktemp -d)"
PID=""
stop_server() {
  if [ -n "$PID" ]; then
    kill -TERM "$PID" 2> /dev/null || true
    for _ in $(seq 1 300); do kill -0 "$PID" 2> /dev/null || break; sleep 0.1; done
    if kill -0 "$PID" 2> /dev/null; then
      echo "the server did not stop within 30 s of SIGTERM: killed" >&2
      kill -KILL "$PID" 2> /dev/null || true
    fi
    wait "$PID" 2> /dev/null || true
    PID=""
  fi
}
cleanup() {
  stop_server
  if [ -n "${KEEP:-}" ]; then echo "work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

if [ -n "${STORE:-}" ]; then
  SOURCE="$STORE"
  CONFIG="${CONFIG:-}"
else
  CACHE="$HOME/.cache/vitals/bench"
  SOURCE="$CACHE/soak-demo-$TICKETS.duckdb"
  CONFIG="$CACHE/soak-demo-$TICKETS.toml"
  mkdir -p "$CACHE"
  if [ ! -f "$SOURCE" ] || [ ! -f "$CONFIG" ]; then
    echo "== vitals demo --tickets $TICKETS (once; kept as $SOURCE)"
    mkdir -p "$WORK/demo"
    ( cd "$WORK/demo" && /usr/bin/time -f "demo: %e s" "$BIN" demo --db soak-demo.duckdb --tickets "$TICKETS" > demo.log ) \
      || { tail -20 "$WORK/demo/demo.log" >&2; exit 1; }
    cp "$WORK/demo/soak-demo.toml" "$CONFIG"
    mv "$WORK/demo/soak-demo.duckdb" "$SOURCE"
    rm -rf "$WORK/demo"
  fi
fi
cp "$SOURCE" "$WORK/soak.duckdb"
if [ -f "$SOURCE.wal" ]; then cp "$SOURCE.wal" "$WORK/soak.duckdb.wal"; fi
CONFIG_ARGS=()
if [ -n "$CONFIG" ]; then CONFIG_ARGS=(--config "$CONFIG"); fi

echo "== serve $(du -h "$SOURCE" | cut -f1) store ($SOURCE)${SERVE_ARGS:+; serve $SERVE_ARGS}"
# shellcheck disable=SC2086 # SERVE_ARGS is a list of words
"$BIN" serve --db "$WORK/soak.duckdb" "${CONFIG_ARGS[@]}" --addr 127.0.0.1:0 $SERVE_ARGS \
  > "$WORK/serve.out" 2> "$WORK/serve.log" &
PID=$!
for _ in $(seq 1 1200); do
  if grep -q '^vitals serve: http://' "$WORK/serve.log"; then break; fi
  if ! kill -0 "$PID" 2> /dev/null; then cat "$WORK/serve.log" >&2; exit 1; fi
  sleep 0.1
done
ADDR=$(grep -o '^vitals serve: http://[0-9.:]*' "$WORK/serve.log" | sed 's|.*http://||' || true)
[ -n "$ADDR" ] || { echo "the server did not start within 2 minutes" >&2; cat "$WORK/serve.log" >&2; exit 1; }
ADMIN="${TOKEN:-$(grep -oE 'vt_[0-9A-Za-z_]+' "$WORK/serve.log" | head -1 || true)}"
if [ -z "$ADMIN" ]; then
  echo "the store already has tokens: set TOKEN to an admin token" >&2
  exit 1
fi
echo "server at http://$ADDR (pid $PID)"

status=0
python3 bench/soak.py --url "http://$ADDR" --admin-token "$ADMIN" --pid "$PID" || status=$?

if kill -0 "$PID" 2> /dev/null; then
  started=$(date +%s%N)
  stop_server
  echo "server stopped $(( ($(date +%s%N) - started) / 1000000 )) ms after SIGTERM; store $(du -h "$SOURCE" | cut -f1) → $(du -ch "$WORK"/soak.duckdb* | tail -1 | cut -f1) (with WAL and warm list)"
else
  wait "$PID" 2> /dev/null && code=0 || code=$?
  PID=""
  echo "FAIL the server exited during the soak (status $code)"
  status=1
fi
# Anything the server logged beyond its start-up lines (warnings, panics).
others=$(grep -vE '^(vitals serve: |No API token existed|  vt_|Create narrower ones|or POST /api/v1/tokens)' "$WORK/serve.log" || true)
if [ -n "$others" ]; then
  echo "== server log ($(echo "$others" | wc -l) lines beyond start-up; last 20)"
  echo "$others" | tail -20 | sed 's/^/  /'
fi
exit "$status"
