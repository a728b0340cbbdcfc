#!/usr/bin/env bash
# What a cold `vitals query` process costs over the query itself (issue 13's goal: at most
# 30 ms). On an existing store, best of 15 each, one after another:
#   - `vitals query` of one day's ticket volume, the whole process (start, catalogue and
#     configuration, opening the store, the derivation-state check, the statement, JSON out);
#   - the same work done by the engine alone: DuckDB (the version vitals pins, from
#     bench/peers' venv) opening the store read-only and counting that day's tickets, timed
#     inside one Python process, so the interpreter's start is not counted;
#   - `vitals --version`, the floor of any process.
# Prints the three and the difference between the first two. Run on demand:
#   bench/cold.sh STORE [CONFIG]
# Machines here are shared and noisy: compare figures only within one run.
set -euo pipefail
cd "$(dirname "$0")/.."
STORE="$1"; CONFIG="${2:-}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vitals/target}"
if [ -z "${VITALS_BIN:-}" ]; then
  cargo build --quiet --workspace
  VITALS_BIN="$CARGO_TARGET_DIR/debug/vitals"
fi
VENV="${PEERS_VENV:-$HOME/.cache/vitals/peers-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "no venv at $VENV: run bench/peers/run.sh once (it makes it), or set PEERS_VENV" >&2
  exit 2
fi
CONFIG_ARGS=()
if [ -n "$CONFIG" ]; then CONFIG_ARGS=(--config "$CONFIG"); fi
DAY_FROM=2026-03-01; DAY_TO=2026-03-02
RUNS=15

best_ms() {  # best wall time of RUNS runs of the command, in ms (3 decimals)
  local best=""
  for _ in $(seq "$RUNS"); do
    local s e
    s=$(date +%s%N); "$@" > /dev/null; e=$(date +%s%N)
    if [ -z "$best" ] || [ $((e - s)) -lt "$best" ]; then best=$((e - s)); fi
  done
  python3 -c "print(f'{$best / 1e6:.1f}')"
}

QUERY=$(best_ms "$VITALS_BIN" "${CONFIG_ARGS[@]}" query --db "$STORE" --metric ticket_volume \
  --from "$DAY_FROM" --to "$DAY_TO" --tz UTC --json)
VERSION=$(best_ms "$VITALS_BIN" --version)
read -r ENGINE COUNT < <("$VENV/bin/python" - "$STORE" "$DAY_FROM" "$DAY_TO" "$RUNS" <<'EOF'
import sys, time
import duckdb
store, day_from, day_to, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
best, count = None, None
for _ in range(runs):
    start = time.perf_counter()
    con = duckdb.connect(store, read_only=True)
    count = con.execute(
        "SELECT count(*) FROM fact_tickets WHERE created_at >= CAST(? AS TIMESTAMP) AND created_at < CAST(? AS TIMESTAMP)",
        [day_from, day_to]).fetchone()[0]
    con.close()
    took = time.perf_counter() - start
    best = took if best is None else min(best, took)
print(f"{best * 1000:.1f} {count}")
EOF
)
VITALS_COUNT=$("$VITALS_BIN" "${CONFIG_ARGS[@]}" query --db "$STORE" --metric ticket_volume \
  --from "$DAY_FROM" --to "$DAY_TO" --tz UTC --csv | tail -1 | cut -d, -f1)
echo "one day's ticket volume ($DAY_FROM, UTC): vitals $VITALS_COUNT tickets, DuckDB alone $COUNT"
echo "vitals query, whole process:            $QUERY ms"
echo "DuckDB alone, open + statement + close: $ENGINE ms"
echo "vitals --version (process floor):       $VERSION ms"
python3 -c "print(f'cold process over the query itself:     {$QUERY - $ENGINE:.1f} ms (goal: at most 30 ms)')"
