#!/usr/bin/env bash
# Long fuzz runs: every property of crates/vitals/tests/import_fuzz.rs for SECONDS each
# (default 600 = 10 minutes), one after another; prints the cases each ran, then a summary.
#
#   bench/fuzz_long.sh [SECONDS] [FILTER]
#
# FILTER picks properties by name (e.g. `fuzz_zendesk`); the default runs them all.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-600}"
FILTER="${2:-}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vitals/target}"

# Build once, then run a private copy of the test binary: sources edited during a long run
# neither rebuild it nor change what is being fuzzed.
built=$(cargo test --workspace --test import_fuzz --no-run 2>&1 |
    sed -n 's/.*Executable tests\/import_fuzz.rs (\(.*\))/\1/p')
[ -x "$built" ] || { echo "could not build the fuzz test binary" >&2; exit 1; }
binary=$(mktemp -d)/import_fuzz
cp "$built" "$binary"
targets=$("$binary" --list 2>/dev/null |
    sed -n 's/: test$//p' | grep -- "$FILTER" || true)
[ -n "$targets" ] || { echo "no property matches '$FILTER'" >&2; exit 1; }

summary=""
for t in $targets; do
    echo "== $t: ${SECONDS_PER_TARGET} s"
    log=$(FUZZ_SECONDS="$SECONDS_PER_TARGET" PROPTEST_CASES="${PROPTEST_CASES:-64}" \
        "$binary" --exact "$t" --nocapture --test-threads 1 2>&1) || {
        echo "$log" | tail -40
        echo "FAILED: $t" >&2
        exit 1
    }
    line=$(echo "$log" | grep -o 'fuzz [a-z ]*: [0-9]* cases in [0-9.]* s' | tail -1)
    echo "$line"
    summary+="$t: ${line#fuzz }"$'\n'
done
echo
echo "== cases per property"
printf '%s' "$summary"
