#!/usr/bin/env bash
# Benchmark: how long the dashboard takes to load each tab on a big store. Generates N
# tickets (default 1 000 000, a year, with surveys, calls and every other entity), imports
# them, starts `vitals serve`, and opens every tab in headless Chromium (Debian's, driven by
# Python Playwright, as the browser test): the time from navigation until no panel is
# loading, with an empty result cache (cold: every query computed) and again (warm: the
# server's cache). Prints per tab the number of queries and the slowest one. Run on demand:
#   bench/dashboard.sh [TICKETS]
#   STORE=big.duckdb CONFIG=vitals.toml TOKEN=vt_… bench/dashboard.sh   # an existing store
#   (TOKEN: a read token, needed once the store has tokens: `vitals token create --scope read`)
# Machines here are shared and noisy: compare figures only within one run.
set -euo pipefail
cd "$(dirname "$0")/.."
TICKETS="${1:-1000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vitals/target}"
cargo build --quiet --workspace
BIN="${VITALS_BIN:-$CARGO_TARGET_DIR/debug/vitals}"   # VITALS_BIN: another build, for before/after
WORK="$(mktemp -d)"
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  if [ -f "$WORK/warm.json.saved" ]; then mv "$WORK/warm.json.saved" "$DB.warm.json"; else rm -f "${DB:-/nonexistent}.warm.json"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -n "${STORE:-}" ]; then
  DB="$STORE"
  CONFIG="${CONFIG:-}"
else
  echo "== generate and import $TICKETS tickets"
  /usr/bin/time -f "generate: %e s" "$BIN" generate --out "$WORK/data" --tickets "$TICKETS" --months 12 --start 2025-06-01 | tail -1
  DB="$WORK/b.duckdb"
  CONFIG="$WORK/data/vitals.toml"
  /usr/bin/time -f "import: %e s" "$BIN" --config "$CONFIG" import "$WORK/data" --db "$DB" | tail -2
fi

# The server warms the queries its last run was asked (`STORE.warm.json`, refresh-ahead): set
# that list aside while measuring, so that "cold" is cold; it is put back at exit.
if [ -f "$DB.warm.json" ]; then mv "$DB.warm.json" "$WORK/warm.json.saved"; fi

echo "== serve"
CONFIG_ARGS=()
if [ -n "$CONFIG" ]; then CONFIG_ARGS=(--config "$CONFIG"); fi
"$BIN" "${CONFIG_ARGS[@]}" serve --db "$DB" --addr 127.0.0.1:0 2> "$WORK/serve.err" > /dev/null &
SERVER=$!
for _ in $(seq 1 600); do
  grep -q '^vitals serve: ' "$WORK/serve.err" 2>/dev/null && break
  sleep 0.5
done
URL=$(sed -nE 's/^vitals serve: (http[^ ]+).*/\1/p' "$WORK/serve.err")
TOKEN="${TOKEN:-$(grep -oE 'vt_[0-9a-f]+_[0-9a-f]+' "$WORK/serve.err" | head -1 || true)}"
if [ -z "$TOKEN" ]; then
  echo "the store already has tokens: set TOKEN to a read token" >&2
  exit 1
fi
echo "server at $URL"
python3 bench/dashboard_tabs.py "$URL" "$TOKEN"
