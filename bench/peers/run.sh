#!/usr/bin/env bash
# vitals against its peers (issue 13): the benchmark's queries computed by vitals, by hand SQL
# on DuckDB (over vitals' own fact tables, and from the CSVs with the facts derived in SQL),
# by a pandas script and by a polars script, on the same generated data in one run. Prints
# the table (import/load, five queries, peak memory, vitals / hand SQL ratios) and checks that
# every path agrees with vitals cell by cell (value to 1e-6 relative, and n): a change that
# breaks agreement is a bug, whatever it gains. Exits 1 on any disagreement.
#   bench/peers/run.sh [TICKETS]                  # default 1 000 000
# Environment:
#   VITALS_BIN=PATH          the binary (default: `cargo build --workspace`, then
#                            $CARGO_TARGET_DIR/debug/vitals)
#   DUCKDB_VERSIONS="A B"    Python duckdb versions for the hand SQL, one column each; the first
#                            is the ratios' base (default: the `duckdb` crate's pin in Cargo.toml);
#                            e.g. DUCKDB_VERSIONS="1.4.5 2.0.1"
#   PEERS_VENV=DIR           the Python venv (default $HOME/.cache/vitals/peers-venv; made from
#                            requirements.txt on first use, other duckdb versions beside it)
#   PEERS_WORK=DIR           keep data, stores and results there, and reuse the generated data and
#                            the vitals store a previous run left (default: a temporary dir)
#   PYTHON=python3.11        the interpreter the venv is made with
#   DATAFRAMES="pandas polars"  the dataframe peers to run (default both; "" for hand SQL only, as
#                            bench/scale.sh does at 10 M tickets, where pandas needs ~35 GiB)
# Machines here are shared and noisy: compare figures only within one run.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
PEERS="$ROOT/bench/peers"
TICKETS="${1:-1000000}"
if [ -n "${VITALS_BIN:-}" ]; then
  BIN="$VITALS_BIN"
else
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vitals/target}"
  cargo build --quiet --workspace
  BIN="$CARGO_TARGET_DIR/debug/vitals"
fi
PINNED=$(sed -nE 's/^duckdb = \{ version = "=([0-9.]+)".*/\1/p' Cargo.toml)
DUCKDB_VERSIONS="${DUCKDB_VERSIONS:-$PINNED}"

# The venv: requirements.txt pins pandas, polars, pyarrow and the pinned duckdb; any other duckdb
# version goes in a folder of its own, put first on PYTHONPATH for the hand SQL of that version.
VENV="${PEERS_VENV:-$HOME/.cache/vitals/peers-venv}"
PY="$VENV/bin/python"
if ! cmp -s "$PEERS/requirements.txt" "$VENV/requirements.txt"; then
  echo "== venv $VENV"
  "${PYTHON:-python3}" -m venv "$VENV"
  "$PY" -m pip install --quiet --disable-pip-version-check -r "$PEERS/requirements.txt"
  cp "$PEERS/requirements.txt" "$VENV/requirements.txt"
fi
VENV_DUCKDB=$(sed -nE 's/^duckdb==(.+)$/\1/p' "$PEERS/requirements.txt")
duckdb_path() {  # the PYTHONPATH that makes `import duckdb` load version $1
  if [ "$1" = "$VENV_DUCKDB" ]; then echo ""; return; fi
  local dir="$VENV/duckdb-$1"
  if [ ! -d "$dir/duckdb" ]; then
    "$PY" -m pip install --quiet --disable-pip-version-check --no-deps --target "$dir" "duckdb==$1" >&2
  fi
  echo "$dir"
}
for v in $DUCKDB_VERSIONS; do
  got=$(PYTHONPATH="$(duckdb_path "$v")" "$PY" -c 'import duckdb; print(duckdb.__version__)')
  [ "$got" = "$v" ] || { echo "duckdb $v asked for, $got loaded" >&2; exit 2; }
done

if [ -n "${PEERS_WORK:-}" ]; then
  WORK="$PEERS_WORK"; mkdir -p "$WORK"
else
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT
fi
rm -rf "$WORK/results" "$WORK/vitals" "$WORK/times.tsv" "$WORK/mem.tsv"
mkdir -p "$WORK/results" "$WORK/vitals"
DATA="$WORK/data"; STORE="$WORK/vitals.duckdb"; CONFIG="$DATA/vitals.toml"
export PEERS_CONFIG="$CONFIG"
kb() { tail -1 "$1"; }  # the last line /usr/bin/time -f %M wrote

# Data and vitals' import (kept in PEERS_WORK and reused while the tickets count is the same).
if [ "$(cat "$WORK/imported" 2>/dev/null | cut -f1)" != "$TICKETS" ]; then
  rm -rf "$DATA" "$STORE" "$STORE.wal" "$WORK/imported"
  echo "== generate $TICKETS tickets"
  "$BIN" generate --out "$DATA" --tickets "$TICKETS" --months 12 --start 2025-06-01 | tail -1
  echo "== vitals import"
  s=$(date +%s%N)
  /usr/bin/time -f %M -o "$WORK/import.mem" "$BIN" import "$DATA" --db "$STORE" --config "$CONFIG" | sed '/^note:/d'
  e=$(date +%s%N)
  printf '%s\t%s\t%s\n' "$TICKETS" "$(python3 -c "print(($e - $s) / 1e9)")" "$(kb "$WORK/import.mem")" > "$WORK/imported"
else
  echo "== reusing the data and the vitals store in $WORK (import figures from when it was made)"
fi
printf 'vitals\timport\t%s\n' "$(cut -f2 "$WORK/imported")" >> "$WORK/times.tsv"
printf 'vitals\timport\t%s\n' "$(cut -f3 "$WORK/imported")" >> "$WORK/mem.tsv"
echo "data: $TICKETS tickets, $(cat "$DATA"/*.csv | wc -l) lines, $(du -sh "$DATA" | cut -f1) of CSV; store $(du -sh "$STORE" | cut -f1)"

echo "== vitals queries (whole process, best of 3)"
QMEM=0
while IFS=$'\t' read -r q flags; do
  best=""
  for _ in 1 2 3; do
    s=$(date +%s%N)
    # shellcheck disable=SC2086
    /usr/bin/time -f %M -o "$WORK/q.mem" "$BIN" query --db "$STORE" --config "$CONFIG" $flags \
      --from 2025-06-01 --to 2026-06-01 --json > "$WORK/vitals/$q.json"
    e=$(date +%s%N)
    ns=$((e - s)); if [ -z "$best" ] || [ "$ns" -lt "$best" ]; then best=$ns; fi
    m=$(kb "$WORK/q.mem"); if [ "$m" -gt "$QMEM" ]; then QMEM=$m; fi
  done
  secs=$(python3 -c "print($best / 1e9)")
  echo "vitals $q: $secs s"
  printf 'vitals\t%s\t%s\n' "$q" "$secs" >> "$WORK/times.tsv"
done < <(cd "$PEERS" && "$PY" -c '
from common import QUERIES
for q, d in QUERIES.items():
    print(q, " ".join([f"--metric {m}" for m in d["metrics"]] + [f"--by {b}" for b in d["by"]]), sep="\t")')
printf 'vitals\tqueries\t%s\n' "$QMEM" >> "$WORK/mem.tsv"

cd "$PEERS"
for v in $DUCKDB_VERSIONS; do
  pp="$(duckdb_path "$v")"
  echo "== hand SQL, DuckDB $v: from the CSVs"
  PYTHONPATH="$pp" /usr/bin/time -f %M -o "$WORK/m" "$PY" sql_peer.py csv "$DATA" "$WORK/sql-$v.duckdb" "$WORK/results/sql-csv-$v.json"
  printf 'sql-csv-%s\tload\t%s\n' "$v" "$(kb "$WORK/m")" >> "$WORK/mem.tsv"
  rm -f "$WORK/sql-$v.duckdb" "$WORK/sql-$v.duckdb.wal"
  echo "== hand SQL, DuckDB $v: over vitals' store (read-only)"
  PYTHONPATH="$pp" /usr/bin/time -f %M -o "$WORK/m" "$PY" sql_peer.py store "$STORE" "$WORK/results/sql-store-$v.json"
  printf 'sql-store-%s\tqueries\t%s\n' "$v" "$(kb "$WORK/m")" >> "$WORK/mem.tsv"
done
for p in ${DATAFRAMES-pandas polars}; do
  echo "== $p"
  /usr/bin/time -f %M -o "$WORK/m" "$PY" "${p}_peer.py" "$DATA" "$WORK/results/$p.json"
  printf '%s\tall\t%s\n' "$p" "$(kb "$WORK/m")" >> "$WORK/mem.tsv"
done

echo
echo "== $TICKETS tickets; $("$BIN" --version 2>/dev/null || echo "vitals (no --version)"); $("$PY" -c 'import pandas, polars; print(f"pandas {pandas.__version__}, polars {polars.__version__}")')"
PEERS_DUCKDB_VERSIONS="$DUCKDB_VERSIONS" "$PY" compare.py "$WORK"
