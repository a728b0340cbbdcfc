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
#   - the monthly report (both formats, best of 2).
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
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vitals/target}"
if [ -z "${VITALS_BIN:-}" ]; then
  cargo build --quiet -p vitals
fi
BIN="${VITALS_BIN:-$CARGO_TARGET_DIR/debug/vitals}"
PY="${VITALS_CHDB_PYTHON:-$HOME/.cache/vitals/chdb-venv/bin/python}"
if [ -n "${CH_BENCH_WORK:-}" ]; then
  WORK="$CH_BENCH_WORK"; mkdir -p "$WORK"; KEEP=1
else
  WORK="$(mktemp -d)"; KEEP=""
fi
SERVERS=()
cleanup() {
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
  "$PY" tests/clickhouse/chserver.py --shards "$shards" --dir "$dir" < "$dir/stdin" > "$dir/out" &
  SERVERS+=("$!")
  local keep
  exec {keep}> "$dir/stdin"
  for _ in $(seq 600); do grep -q '^ready' "$dir/out" 2>/dev/null && break; sleep 0.2; done
  mapfile -t URLS < <(awk '/^node/ {print $3}' "$dir/out")
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
    R[$engine,import]=$(secs "$BIN" import "$WORK/data" --db "$db" --config "$cfg")
    touch "$WORK/$engine.imported"
  else
    R[$engine,import]="(kept)"
  fi
  echo "import: ${R[$engine,import]} s"
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
  for entry in "${QUERIES[@]}"; do
    q="${entry%%$'\t'*}"; flags="${entry#*$'\t'}"
    # shellcheck disable=SC2086
    R[$engine,$q]=$(best 3 "$BIN" query --db "$db" --config "$changed" $flags --from 2025-06-01 --to 2026-06-01 --json)
    echo "query $q: ${R[$engine,$q]} s"
  done
  R[$engine,report]=$(VITALS_NOW=2027-01-01T00:00:00Z best 2 "$BIN" report --month "$MONTH" --db "$db" --config "$changed" --out "$WORK/report-$engine")
  echo "report $MONTH: ${R[$engine,report]} s"
done

echo
echo "== $TICKETS tickets: seconds (ratio to DuckDB)"
ROWS=(import derive1 derive2)
for entry in "${QUERIES[@]}"; do ROWS+=("${entry%%$'\t'*}"); done
ROWS+=(report)
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
