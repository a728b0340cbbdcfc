#!/usr/bin/env bash
# Stored facts (survey top box, review scores, mention sentiment, call waits: tables the
# writer keeps instead of SQL every query recomputes), two binaries side by side in one run
# (machines here are noisy: only ratios within a run mean anything). Each binary gets its own
# copy of a store; then:
#   - `vitals derive` once (for a binary that stores facts and a store that has none yet, this
#     is the one-time upgrade: the tables are built);
#   - a rebuild after a configuration change the stored facts read (a top box and a rubric
#     weight): `vitals derive` under the changed configuration;
#   - best of 3 of every metric that reads a stored fact, by month over the store's year, and
#     the results compared between the two binaries (values equal to 1e-12, relative: DuckDB's
#     parallel sums of doubles differ in the last bits from run to run).
#   bench/stored_facts.sh BASE_BINARY NEW_BINARY [STORE [CONFIG]]
# STORE defaults to the benchmark store of bench/serve.sh (~/.cache/vitals/bench/
# store-1000000.duckdb); it is copied, never modified.
set -euo pipefail
BASE="$1"; NEW="$2"
STORE="${3:-$HOME/.cache/vitals/bench/store-1000000.duckdb}"
CONFIG="${4:-${STORE%.duckdb}.toml}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
METRICS=(csat csat_mean nps ces ces_easy esat iqs adherence consistency_iqs consistency_csat
  average_wait_time answer_rate abandon_rate service_level average_handle_time_calls peak_hours
  social_mentions social_sentiment social_question_rate competitor_mentions social_topics)
cp "$CONFIG" "$WORK/changed.toml"
cat >> "$WORK/changed.toml" <<'EOF'

[surveys.stored_bench]
top_box = [5]

[quality.rubrics.stored_bench]
empathy = 2
EOF

secs() { local s e; s=$(date +%s%N); "$@" > /dev/null 2>&1; e=$(date +%s%N); python3 -c "print(round(($e - $s) / 1e9, 3))"; }
best3() { local b=""; for _ in 1 2 3; do local t; t=$(secs "$@"); b=$(python3 -c "print(min($t, ${b:-1e9}))"); done; echo "$b"; }

declare -A R
for name in base new; do
  bin=$BASE; [ "$name" = new ] && bin=$NEW
  db="$WORK/$name.duckdb"
  cp "$STORE" "$db"
  R[$name,derive]=$(secs "$bin" derive --db "$db" --config "$CONFIG")
  R[$name,rebuild]=$(secs "$bin" derive --db "$db" --config "$WORK/changed.toml")
  "$bin" derive --db "$db" --config "$CONFIG" > /dev/null
  total=0
  mkdir -p "$WORK/$name"
  for m in "${METRICS[@]}"; do
    t=$(best3 "$bin" query --db "$db" --config "$CONFIG" --metric "$m" --by time:month --json)
    R[$name,$m]=$t
    total=$(python3 -c "print(round($total + $t, 3))")
    "$bin" query --db "$db" --config "$CONFIG" --metric "$m" --by time:month --json > "$WORK/$name/$m.json"
  done
  R[$name,total]=$total
done

python3 - "$WORK" "${METRICS[@]}" <<'EOF'
import json, sys
work, metrics = sys.argv[1], sys.argv[2:]
def same(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-12 * max(abs(a), abs(b))
    return a == b
differ = [m for m in metrics
          if not same(*(json.load(open(f"{work}/{n}/{m}.json"))["results"] for n in ("base", "new")))]
print("results: " + ("identical (to 1e-12)" if not differ else "DIFFER for " + ", ".join(differ)))
EOF
printf "%-44s %9s %9s %9s\n" "work" "base s" "new s" "new/base"
row() { printf "%-44s %9s %9s %9s\n" "$1" "${R[base,$2]}" "${R[new,$2]}" "$(python3 -c "b=${R[base,$2]}; n=${R[new,$2]}; print(f'{n/b:.2f}' if b > 0 else '-')")"; }
row "vitals derive (new: builds the stored facts)" derive
row "derive after a top box / rubric change" rebuild
for m in "${METRICS[@]}"; do row "$m by month (best of 3)" "$m"; done
row "all of the above queries" total
