#!/usr/bin/env bash
# Benchmark: generate N tickets (default 1 000 000, ~10 events each, with surveys and calls),
# import them, and time two queries over the whole set. Prints import throughput (records/s),
# fact-derivation time, peak memory and query latencies (best of 3). Run on demand:
#   bench/run.sh [TICKETS]
# Machines here are shared and noisy: compare figures only within one run.
set -euo pipefail
cd "$(dirname "$0")/.."
TICKETS="${1:-1000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vitals/target}"
cargo build --quiet --workspace
BIN="$CARGO_TARGET_DIR/debug/vitals"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "== generate $TICKETS tickets"
/usr/bin/time -f "generate: %e s, peak RSS %M KB" "$BIN" generate --out "$WORK/data" --tickets "$TICKETS" --months 12 --start 2025-06-01 | tail -1
RECORDS=$(cat "$WORK"/data/*.csv | wc -l)
BYTES=$(du -sb "$WORK/data" | cut -f1)
echo "records (incl. headers): $RECORDS, bytes: $BYTES"

echo "== import"
/usr/bin/time -f "import: %e s wall, peak RSS %M KB" -o "$WORK/import.time" "$BIN" import "$WORK/data" --db "$WORK/b.duckdb" > "$WORK/import.out"
cat "$WORK/import.out"
cat "$WORK/import.time"
WALL=$(sed -E 's/import: ([0-9.]+) s.*/\1/' "$WORK/import.time")
python3 -c "print(f'import throughput: {$RECORDS / $WALL:,.0f} records/s')"

best_of_3() {
  local best=""
  for _ in 1 2 3; do
    local s e ms
    s=$(date +%s%N); "$@" > /dev/null; e=$(date +%s%N)
    ms=$(( (e - s) / 1000000 ))
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
  done
  echo "$best"
}
echo "== queries over the whole set (best of 3, whole process incl. start-up)"
A=$(best_of_3 "$BIN" query --db "$WORK/b.duckdb" --metric first_response_time:median --by time:month --by ticket:channel --tz Europe/Helsinki --json)
echo "(a) FRT median by month x channel: ${A} ms"
B=$(best_of_3 "$BIN" query --db "$WORK/b.duckdb" --metric csat --metric nps --by time:month --tz Europe/Helsinki --json)
echo "(b) CSAT + NPS by month: ${B} ms"
C=$(best_of_3 "$BIN" catalogue)
echo "baseline (process start, no query): ${C} ms"
