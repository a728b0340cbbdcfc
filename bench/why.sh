#!/usr/bin/env bash
# Benchmark of `vitals why` (issue 24): generate N tickets (default 1 000 000 over 12 months,
# every entity), import them, then time `vitals why` for CSAT, the median first response time
# and ticket volume over every default dimension (a month against the month before) against
# the plain query of the same two months (`vitals query --by time:month`), best of 2, whole
# process each. Prints both and their ratio (goal: under 3×). Reuse a store with
# BENCH_STORE=FILE BENCH_CONFIG=FILE; BENCH_MONTH picks the month (default 2026-05).
#   bench/why.sh [TICKETS]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/store.sh
source bench/store.sh
MONTH="${BENCH_MONTH:-2026-05}"
FROM="$MONTH-01"; TO="$(date -d "$FROM +1 month" +%F)"; BEFORE="$(date -d "$FROM -1 month" +%F)"

# Best of 2 wall-clock milliseconds of a command.
best_ms() {
  local best="" s e ms
  for _ in 1 2; do
    s=$(date +%s%N); "$@" > /dev/null; e=$(date +%s%N)
    ms=$(( (e - s) / 1000000 ))
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
  done
  echo "$best"
}

echo "== why $FROM..$TO against $BEFORE..$FROM (best of 2, ms)"
printf '%-28s %10s %10s %8s %s\n' metric query why ratio dimensions
for metric in csat first_response_time:median ticket_volume; do
  query=$(best_ms "$BIN" query --db "$DB" --config "$CONFIG" --metric "$metric" --by time:month --from "$BEFORE" --to "$TO" --json)
  why=$(best_ms "$BIN" why --db "$DB" --config "$CONFIG" --metric "$metric" --from "$FROM" --to "$TO" --json)
  dims=$("$BIN" why --db "$DB" --config "$CONFIG" --metric "$metric" --from "$FROM" --to "$TO" --json \
    | python3 -c "import json, sys; print(len(json.load(sys.stdin)['dimensions']))")
  printf '%-28s %10s %10s %7s× %s\n' "$metric" "$query" "$why" \
    "$(python3 -c "print(f'{$why / max($query, 1):.2f}')")" "$dims"
done
echo "goal: why under 3× the plain query of the two months"
