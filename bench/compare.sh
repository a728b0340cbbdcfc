#!/usr/bin/env bash
# Compares import and query times of two vitals binaries on the same generated data, in one
# run (machines here are noisy: only ratios within a run mean anything).
#   bench/compare.sh BASE_BINARY NEW_BINARY [TICKETS]
set -euo pipefail
BASE="$1"; NEW="$2"; TICKETS="${3:-300000}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$NEW" generate --out "$WORK/data" --tickets "$TICKETS" --months 12 --start 2025-06-01 > /dev/null
secs() { local s e; s=$(date +%s%N); "$@" > /dev/null; e=$(date +%s%N); python3 -c "print(round(($e - $s) / 1e9, 2))"; }
for round in 1 2; do
  for name in base new; do
    bin=$BASE; [ "$name" = new ] && bin=$NEW
    rm -f "$WORK/$name.duckdb"
    t=$(secs "$bin" import "$WORK/data" --db "$WORK/$name.duckdb")
    q=$(secs "$bin" query --db "$WORK/$name.duckdb" --metric first_response_time:median --by time:month --by ticket:channel --json)
    echo "round $round $name: import ${t} s, FRT query ${q} s"
    eval "${name}_import_$round=$t"
  done
done
python3 -c "print(f'import time ratio new/base (best of 2): {min($new_import_1, $new_import_2) / min($base_import_1, $base_import_2):.3f}')"
