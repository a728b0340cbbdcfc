#!/usr/bin/env bash
# Benchmark: `vitals import --from zendesk` on synthetic exports of 10 MB and 100 MB (one
# 50+ MB JSON document plus NDJSON audits). Prints wall time, throughput and peak RSS of
# each, and the ratios 100 MB / 10 MB: memory that stays flat while the input grows ten-fold
# is what "streams in bounded memory" means. Run on demand:
#   bench/import_source.sh [SMALL_MB] [LARGE_MB]
# Machines here are shared and noisy: compare figures only within one run.
set -euo pipefail
cd "$(dirname "$0")/.."
SMALL="${1:-10}"
LARGE="${2:-100}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vitals/target}"
cargo build --quiet --workspace
BIN="$CARGO_TARGET_DIR/debug/vitals"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

run() {
  local mb="$1"
  python3 bench/zendesk_export.py "$WORK/export$mb" "$mb"
  /usr/bin/time -f "%e %M" -o "$WORK/time$mb" "$BIN" import --from zendesk --db "$WORK/z$mb.duckdb" "$WORK/export$mb" > "$WORK/out$mb"
  grep -E "rows read|^import" "$WORK/out$mb"
  read -r wall rss < "$WORK/time$mb"
  python3 -c "print(f'$mb MB: {$wall:.1f} s wall, {$mb / $wall:.1f} MB/s, peak RSS {$rss / 1024:.0f} MB')"
}

run "$SMALL"
run "$LARGE"
read -r ws rs < "$WORK/time$SMALL"
read -r wl rl < "$WORK/time$LARGE"
python3 -c "print(f'ratios {$LARGE}/{$SMALL} MB: input x{$LARGE / $SMALL:.0f}, time x{$wl / $ws:.1f}, peak RSS x{$rl / $rs:.2f}')"
