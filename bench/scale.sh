#!/usr/bin/env bash
# The scale run (issue 13): 10 M tickets (~139 M records, ~10 GB of CSV) on this machine.
# Generates the data (streaming), imports it, and prints import time and throughput, peak
# memory, store size, the five benchmark queries against hand SQL over the same facts
# (bench/peers, without pandas and polars, which do not fit in memory at this size), the
# monthly report and the dashboard's Overview (cold and warm, in Chromium). Run on demand;
# it takes about an hour and needs ~20 GB of disk:
#   bench/scale.sh [TICKETS]                    # default 10 000 000
#   SCALE_WORK=DIR bench/scale.sh               # keep data and store in DIR (reused next time)
# Machines here are shared and noisy: compare figures only within one run.
set -euo pipefail
cd "$(dirname "$0")/.."
TICKETS="${1:-10000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vitals/target}"
if [ -z "${VITALS_BIN:-}" ]; then
  cargo build --quiet --workspace
  export VITALS_BIN="$CARGO_TARGET_DIR/debug/vitals"
fi
if [ -n "${SCALE_WORK:-}" ]; then
  WORK="$SCALE_WORK"; mkdir -p "$WORK"
else
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT
fi
STORE="$WORK/vitals.duckdb"; CONFIG="$WORK/data/vitals.toml"

echo "#### import and the benchmark queries against hand SQL ($TICKETS tickets)"
DATAFRAMES="" PEERS_WORK="$WORK" bench/peers/run.sh "$TICKETS"
echo "import: $(cut -f2 "$WORK/imported") s wall, peak RSS $(( $(cut -f3 "$WORK/imported") / 1024 )) MiB"
python3 -c "
lines = sum(1 for f in __import__('glob').glob('$WORK/data/*.csv') for _ in open(f)) - len(__import__('glob').glob('$WORK/data/*.csv'))
print(f'records: {lines:,}; import throughput: {lines / float(open(\"$WORK/imported\").read().split()[1]):,.0f} records/s')"
echo "store: $(du -sh "$STORE" | cut -f1)"

echo "#### the monthly report"
BENCH_STORE="$STORE" BENCH_CONFIG="$CONFIG" bench/report.sh

echo "#### the dashboard's Overview"
TOKEN=$("$VITALS_BIN" token create --db "$STORE" --scope read --name "scale-bench" | grep -oE 'vt_[0-9a-f]+_[0-9a-f]+' | head -1)
DASHBOARD_TABS="overview" STORE="$STORE" CONFIG="$CONFIG" TOKEN="$TOKEN" bench/dashboard.sh
"$VITALS_BIN" token revoke --db "$STORE" "$TOKEN" > /dev/null
