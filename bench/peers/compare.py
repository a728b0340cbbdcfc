"""Checks that every path of bench/peers/ agrees with vitals cell by cell, and prints the table.

    python compare.py WORK_DIR

WORK_DIR/vitals/QUERY.json are vitals' `query --json` answers, WORK_DIR/times.tsv holds lines
`PATH<TAB>ROW<TAB>SECONDS` and WORK_DIR/mem.tsv `PATH<TAB>PHASE<TAB>KB` (written by run.sh),
WORK_DIR/results/*.json the peers' results (common.py's format). A cell agrees when the same
dimension values carry, for every statistic, the same n and a value equal to 1e-6 relative.
Cells without a value (n = 0) are left out on every side. Exits 1 on any disagreement.
"""
import glob
import json
import os
import sys

from common import QUERIES

WORK = sys.argv[1]
REL = 1e-6
SHOW = 5


def vitals_cells(q):
    with open(f"{WORK}/vitals/{q}.json") as f:
        doc = json.load(f)
    out = []
    for r in doc["results"]:
        dims = [r["dimensions"].get(b) for b in QUERIES[q]["by"]]
        stats = {k: [m.get("value"), m.get("n")] for k, m in r["metrics"].items()}
        out.append(dims + [stats])
    return out


def normalise(cells):
    """{dims tuple: {stat: (value, n)}}, cells and stats without a value left out."""
    out = {}
    for c in cells:
        stats = {k: (v[0], v[1]) for k, v in c[-1].items() if v[0] is not None and v[1]}
        if stats:
            key = tuple(c[:-1])
            if key in out:
                raise SystemExit(f"duplicate cell {key}")
            out[key] = stats
    return out


def close(a, b):
    return abs(a - b) <= REL * max(abs(a), abs(b)) or abs(a - b) < 1e-9


def diff(ref, got):
    """The differing cells of got against ref, as printable lines."""
    lines = []
    for key in sorted(set(ref) | set(got), key=lambda k: [str(x) for x in k]):
        a, b = ref.get(key), got.get(key)
        if a is None or b is None:
            lines.append(f"{key}: vitals {a} / peer {b}")
            continue
        for stat in sorted(set(a) | set(b)):
            x, y = a.get(stat), b.get(stat)
            if x is None or y is None or x[1] != y[1] or not close(x[0], y[0]):
                lines.append(f"{key} {stat}: vitals {x} / peer {y}")
    return lines


def read_tsv(name):
    out = {}
    path = f"{WORK}/{name}"
    if os.path.exists(path):
        for line in open(path):
            p, row, val = line.rstrip("\n").split("\t")
            out[(p, row)] = float(val)
    return out


def fmt_s(v):
    if v is None:
        return "–"
    return f"{v:.3f} s" if v < 10 else f"{v:.1f} s"


def fmt_mem(kb):
    return "–" if kb is None else f"{kb / 1048576:.2f} GiB"


def main():
    results = {}
    for f in sorted(glob.glob(f"{WORK}/results/*.json")):
        with open(f) as fh:
            doc = json.load(fh)
        results[doc["path"]] = doc
    times, mem = read_tsv("times.tsv"), read_tsv("mem.tsv")
    versions = os.environ.get("PEERS_DUCKDB_VERSIONS", "").split()
    sql_paths = [f"sql-store-{v}" for v in versions if f"sql-store-{v}" in results]
    sql_paths += sorted(p for p in results if p.startswith("sql-store-") and p not in sql_paths)
    columns = ["vitals"] + sql_paths + [p for p in ("pandas", "polars") if p in results]

    # Agreement.
    ok = True
    print("== agreement with vitals (every cell: value to 1e-6 relative and n)")
    for q in QUERIES:
        ref = normalise(vitals_cells(q))
        verdicts = []
        for p in sorted(results):
            got = normalise(results[p]["queries"][q]["cells"])
            d = diff(ref, got)
            if d:
                ok = False
                verdicts.append(f"{p} DISAGREE ({len(d)} cells)")
                for line in d[:SHOW]:
                    verdicts.append(f"      {line}")
            else:
                verdicts.append(f"{p} AGREE")
        print(f"{QUERIES[q]['title']} ({len(ref)} cells): " + "; ".join(v for v in verdicts if not v.startswith(" ")))
        for v in verdicts:
            if v.startswith(" "):
                print(v)

    # The table.
    def head(p):
        if p.startswith("sql-store-"):
            return f"hand SQL, DuckDB {p[len('sql-store-'):]}"
        return p if p != "vitals" else "vitals"

    ratio_base = sql_paths[0] if sql_paths else None
    print()
    hdr = ["work"] + [head(p) for p in columns]
    if ratio_base:
        hdr.append(f"vitals / hand SQL {ratio_base[len('sql-store-'):]}")
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))

    load = ["import / load"]
    for p in columns:
        if p == "vitals":
            load.append(f"{fmt_s(times.get(('vitals', 'import')))} (all files)")
        elif p.startswith("sql-store-"):
            v = p[len("sql-store-"):]
            doc = results.get(f"sql-csv-{v}", {})
            load.append(f"load {fmt_s(doc.get('load_s'))} + facts {fmt_s(doc.get('facts_s'))} (all files)")
        else:
            load.append(f"{fmt_s(results[p]['load_s'])} (3 files)")
    if ratio_base:
        doc = results.get(f"sql-csv-{ratio_base[len('sql-store-'):]}", {})
        vi = times.get(("vitals", "import"))
        if vi and doc.get("load_s") is not None:
            load.append(f"{vi / (doc['load_s'] + doc['facts_s']):.2f}×")
        else:
            load.append("–")
    print("| " + " | ".join(load) + " |")

    for q in QUERIES:
        row = [QUERIES[q]["title"]]
        for p in columns:
            if p == "vitals":
                row.append(fmt_s(times.get(("vitals", q))))
            else:
                row.append(fmt_s(results[p]["queries"][q]["seconds"]))
        if ratio_base:
            v, b = times.get(("vitals", q)), results[ratio_base]["queries"][q]["seconds"]
            row.append(f"{v / b:.2f}×" if v and b else "–")
        print("| " + " | ".join(row) + " |")

    row = ["peak memory"]
    for p in columns:
        if p == "vitals":
            row.append(f"import {fmt_mem(mem.get(('vitals', 'import')))}, queries {fmt_mem(mem.get(('vitals', 'queries')))}")
        elif p.startswith("sql-store-"):
            v = p[len("sql-store-"):]
            row.append(f"load {fmt_mem(mem.get((f'sql-csv-{v}', 'load')))}, queries {fmt_mem(mem.get((p, 'queries')))}")
        else:
            row.append(fmt_mem(mem.get((p, "all"))))
    if ratio_base:
        row.append("")
    print("| " + " | ".join(row) + " |")
    print()
    print("Queries: vitals = whole `vitals query` process, best of 3; hand SQL = open the store "
          "read-only + run + fetch in a fresh process, best of 3 (interpreter start not counted); "
          "pandas, polars = each query from the loaded frames, deriving what it needs from the "
          "events, best of 3 in one process. Only ratios within one run mean anything.")
    print("ALL PATHS AGREE" if ok else "DISAGREEMENT: see above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
