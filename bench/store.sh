# Sourced by the benchmark scripts (bench/report.sh, bench/why.sh): builds the binary (BIN;
# VITALS_BIN names another build), makes a work folder (WORK, removed on exit) and sets the
# store to run on (DB and CONFIG): BENCH_STORE and BENCH_CONFIG when given, else TICKETS
# (the script's first argument, default 1 000 000) generated over 12 months from 2025-06-01,
# every entity, and imported with the configuration the generator writes.
TICKETS="${1:-1000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vitals/target}"
cargo build --quiet -p vitals
BIN="${VITALS_BIN:-$CARGO_TARGET_DIR/debug/vitals}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

if [ -n "${BENCH_STORE:-}" ]; then
  DB="$BENCH_STORE"; CONFIG="${BENCH_CONFIG:?BENCH_CONFIG with BENCH_STORE}"
else
  echo "== generate and import $TICKETS tickets"
  /usr/bin/time -f "generate: %e s" "$BIN" generate --out "$WORK/data" --tickets "$TICKETS" --months 12 --start 2025-06-01 | tail -1
  DB="$WORK/b.duckdb"; CONFIG="$WORK/data/vitals.toml"
  /usr/bin/time -f "import: %e s, peak RSS %M KB" "$BIN" import "$WORK/data" --db "$DB" --config "$CONFIG" | tail -1
fi
