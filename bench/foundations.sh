#!/usr/bin/env bash
# The store and query foundations, two binaries side by side on the same generated data, in
# one run (machines here are noisy: only ratios within a run mean anything):
#   - first import (read, validate, merge, derive from scratch)
#   - re-derivation of every ticket after a calendar change (`vitals derive`; a binary
#     without that command re-derives inside its next query, timed minus a plain query)
#   - re-import of 1% changed ticket records into the full store
#   - a 1 000-record batch (new events) merged into it
#   - backlog by day over a year; a weekday × hour heat map over a year (best of 3)
#   bench/foundations.sh BASE_BINARY NEW_BINARY [TICKETS]   (default 1 000 000)
# Build a baseline with: git worktree add /tmp/base COMMIT && (cd /tmp/base && cargo build --workspace)
# and copy its binary away before building the new one (both share one target directory).
set -euo pipefail
BASE="$1"; NEW="$2"; TICKETS="${3:-1000000}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$NEW" generate --out "$WORK/data" --tickets "$TICKETS" --months 12 --start 2025-06-01 > /dev/null
echo "data: $TICKETS tickets, $(cat "$WORK"/data/*.csv | wc -l) lines"

# 1% of tickets with a changed channel; 1 000 new events on existing tickets.
python3 - "$WORK" <<'EOF'
import csv, sys, os
work = sys.argv[1]
os.makedirs(f"{work}/changed", exist_ok=True)
os.makedirs(f"{work}/batch", exist_ok=True)
with open(f"{work}/data/tickets.csv") as f, open(f"{work}/changed/tickets.csv", "w", newline="") as out:
    r = csv.DictReader(f)
    w = csv.DictWriter(out, fieldnames=r.fieldnames)
    w.writeheader()
    for i, row in enumerate(r):
        if i % 100 == 0:
            row["channel"] = "chat" if row["channel"] != "chat" else "email"
            w.writerow(row)
with open(f"{work}/data/ticket_events.csv") as f, open(f"{work}/batch/ticket_events.csv", "w", newline="") as out:
    r = csv.DictReader(f)
    w = csv.DictWriter(out, fieldnames=r.fieldnames)
    w.writeheader()
    for i, row in enumerate(r):
        if i >= 1000:
            break
        row["event_id"] = "bench-new-" + row["event_id"]
        w.writerow(row)
EOF
cat > "$WORK/calendar.toml" <<'EOF'
[calendars.default]
timezone = "Europe/Helsinki"
mon = ["09:00-17:00"]
tue = ["09:00-17:00"]
wed = ["09:00-17:00"]
thu = ["09:00-17:00"]
fri = ["09:00-16:00"]
EOF

secs() { local s e; s=$(date +%s%N); "$@" > /dev/null 2>&1; e=$(date +%s%N); python3 -c "print(round(($e - $s) / 1e9, 3))"; }
best3() { local b=""; for _ in 1 2 3; do local t; t=$(secs "$@"); b=$(python3 -c "print(min($t, ${b:-1e9}))"); done; echo "$b"; }
BACKLOG=(--metric backlog --by time:day --from 2025-06-01 --to 2026-06-01 --tz Europe/Helsinki --json)
HEATMAP=(--metric ticket_volume --by time:weekday --by time:hour --from 2025-06-01 --to 2026-06-01 --tz Europe/Helsinki --json)

declare -A R
for name in base new; do
  bin=$BASE; [ "$name" = new ] && bin=$NEW
  db="$WORK/$name.duckdb"
  R[$name,import]=$(secs "$bin" import "$WORK/data" --db "$db")
  if "$bin" --help | grep -q "^  derive"; then
    R[$name,derive]=$(secs "$bin" derive --db "$db" --config "$WORK/calendar.toml")
  else
    with=$(secs "$bin" query --db "$db" --config "$WORK/calendar.toml" --metric ticket_volume --json)
    plain=$(secs "$bin" query --db "$db" --config "$WORK/calendar.toml" --metric ticket_volume --json)
    R[$name,derive]=$(python3 -c "print(round($with - $plain, 3))")
  fi
  R[$name,reimport]=$(secs "$bin" import "$WORK/changed" --db "$db" --config "$WORK/calendar.toml")
  R[$name,batch]=$(secs "$bin" import "$WORK/batch" --db "$db" --config "$WORK/calendar.toml")
  R[$name,backlog]=$(best3 "$bin" query --db "$db" --config "$WORK/calendar.toml" "${BACKLOG[@]}")
  R[$name,heatmap]=$(best3 "$bin" query --db "$db" --config "$WORK/calendar.toml" "${HEATMAP[@]}")
  "$bin" query --db "$db" --config "$WORK/calendar.toml" "${BACKLOG[@]}" | python3 -c "import json,sys; print(json.dumps(json.load(sys.stdin)['results'], sort_keys=True))" > "$WORK/$name.backlog.json"
done
if cmp -s "$WORK/base.backlog.json" "$WORK/new.backlog.json"; then echo "backlog by day: identical results"; else echo "backlog by day: RESULTS DIFFER"; fi
printf "%-44s %10s %10s %8s\n" "work ($TICKETS tickets)" "base s" "new s" "new/base"
for k in import derive reimport batch backlog heatmap; do
  label=$k
  case $k in
    import) label="first import (incl. derivation)";;
    derive) label="re-derive every ticket (calendar change)";;
    reimport) label="re-import 1% changed tickets";;
    batch) label="merge a 1 000-event batch";;
    backlog) label="backlog by day over a year (best of 3)";;
    heatmap) label="weekday x hour heat map, a year (best of 3)";;
  esac
  printf "%-44s %10s %10s %8s\n" "$label" "${R[base,$k]}" "${R[new,$k]}" "$(python3 -c "b=${R[base,$k]}; n=${R[new,$k]}; print(f'{n/b:.2f}' if b > 0 else '-')")"
done
