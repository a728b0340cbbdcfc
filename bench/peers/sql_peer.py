"""The benchmark's queries as hand-written SQL on DuckDB (the Python `duckdb` package; which
version is whatever `import duckdb` finds: run.sh puts the one asked for on PYTHONPATH).

    python sql_peer.py store STORE.duckdb OUT.json
        The queries over vitals' own store, opened read-only: its fact tables (fact_tickets,
        fact_resolved_spans) and its survey_responses records. Each query runs best of 3,
        each run in a fresh process that opens the store, runs the statement and fetches
        the rows (timed inside that process: the interpreter's start is not counted).
    python sql_peer.py csv DATA_DIR WORK.duckdb OUT.json
        "DuckDB loads the CSVs and derives the facts in SQL": every DATA_DIR/*.csv into a
        table (timed: load), then the facts the queries read derived in SQL (timed: facts),
        then the same queries over them (their cells are checked too).
    python sql_peer.py one STORE.duckdb QUERY TZ     (internal: one timed run, JSON on stdout)

The SQL derivation follows the rules of the canonical format (README.md, "Import") and vitals' timeline fold: events
ordered by time then event id; a resolution is a status to solved, or closed while not
resolved; a customer message or any other status while resolved reopens the ticket.
"""
import glob
import json
import os
import subprocess
import sys
import time

import duckdb

from common import (FROM_DATE, QUERIES, TO_DATE, clean, csat_top_box, log, period_utc, reporting_tz,
                    write_result)

CONFIG = os.environ.get("PEERS_CONFIG")  # the vitals.toml (time zone, CSAT top box)


def buckets(grain, tz):
    """`b(bucket, b_start, b_end)`: the period's local months or ISO weeks as UTC instants (naive,
    as the store keeps them), made in SQL from local midnights, so every DST rule holds; rows
    are placed by a range join on them (converting every row's instant to local time instead
    costs several times as much)."""
    p_from, p_to = period_utc(tz)
    fmt = {"month": "%Y-%m", "week": "%G-W%V"}[grain]
    return f"""b AS (
        SELECT strftime(l, '{fmt}') AS bucket,
               greatest(timezone('UTC', timezone('{tz}', l)), TIMESTAMP '{p_from}') AS b_start,
               least(timezone('UTC', timezone('{tz}', l + INTERVAL 1 {grain})), TIMESTAMP '{p_to}') AS b_end
        FROM (SELECT unnest(generate_series(date_trunc('{grain}', TIMESTAMP '{FROM_DATE}'),
                                            TIMESTAMP '{TO_DATE}' - INTERVAL 1 microsecond,
                                            INTERVAL 1 {grain})) AS l))"""


def sql_for(q, tz, top_box):
    p_from, p_to = period_utc(tz)
    period = lambda col: f"{col} >= TIMESTAMP '{p_from}' AND {col} < TIMESTAMP '{p_to}'"  # noqa: E731
    if q == "volume":
        return f"""
            WITH {buckets('month', tz)}
            SELECT b.bucket, t.channel, count(*)::DOUBLE, count(*)
            FROM fact_tickets t JOIN b ON t.created_at >= b.b_start AND t.created_at < b.b_end
            WHERE {period('t.created_at')}
            GROUP BY ALL"""
    if q == "frt":
        return f"""
            WITH {buckets('month', tz)}
            SELECT b.bucket, t.channel, median(t.frt_secs), count(*), avg(t.frt_secs), count(*)
            FROM fact_tickets t JOIN b ON t.first_reply_at >= b.b_start AND t.first_reply_at < b.b_end
            WHERE {period('t.first_reply_at')}
            GROUP BY ALL"""
    if q == "csat_nps":
        top = ", ".join(str(x) for x in top_box)
        return f"""
            WITH {buckets('month', tz)}
            SELECT b.bucket,
                   100.0 * avg(CASE WHEN s.score IN ({top}) THEN 1 ELSE 0 END) FILTER (WHERE s.survey = 'csat'),
                   count(*) FILTER (WHERE s.survey = 'csat'),
                   100.0 * avg(CASE WHEN s.score >= 9 THEN 1 WHEN s.score <= 6 THEN -1 ELSE 0 END)
                       FILTER (WHERE s.survey = 'nps'),
                   count(*) FILTER (WHERE s.survey = 'nps')
            FROM survey_responses s JOIN b ON s.answered_at >= b.b_start AND s.answered_at < b.b_end
            WHERE s.survey IN ('csat', 'nps') AND {period('s.answered_at')}
            GROUP BY ALL"""
    if q == "resolution_p90":
        return f"""
            WITH {buckets('week', tz)}
            SELECT t.category, b.bucket, quantile_cont(t.resolution_secs, 0.9), count(*)
            FROM fact_tickets t JOIN b ON t.full_resolved_at >= b.b_start AND t.full_resolved_at < b.b_end
            WHERE t.is_resolved AND {period('t.full_resolved_at')}
            GROUP BY ALL"""
    if q == "backlog":
        # The definition as it reads, every bucket end against every ticket and resolved span.
        return f"""
            WITH {buckets('month', tz)},
            created AS (
                SELECT b.bucket, count(*) FILTER (WHERE t.created_at < b.b_end) AS n
                FROM b CROSS JOIN fact_tickets t GROUP BY ALL),
            resolved AS (
                SELECT b.bucket, count(*) FILTER (WHERE s.created_at < b.b_end AND s.resolved_from < b.b_end
                                                  AND (s.resolved_to IS NULL OR s.resolved_to >= b.b_end)) AS n
                FROM b CROSS JOIN (SELECT sp.resolved_from, sp.resolved_to, t.created_at
                                   FROM fact_resolved_spans sp JOIN fact_tickets t USING (ticket_id)) s
                GROUP BY ALL)
            SELECT c.bucket, (c.n - r.n)::DOUBLE, c.n - r.n
            FROM created c JOIN resolved r USING (bucket)
            WHERE c.n - r.n <> 0"""
    raise ValueError(q)


def to_cells(q, rows):
    dims = len(QUERIES[q]["by"])
    stats = QUERIES[q]["metrics"]
    out = []
    for r in rows:
        vals = r[dims:]
        cell = {k: [clean(vals[2 * i]), int(vals[2 * i + 1] or 0)] for i, k in enumerate(stats)}
        out.append(list(r[:dims]) + [cell])
    return out


def connect(path, read_only):
    con = duckdb.connect(path, read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    return con


def one(store, q, tz):
    s = time.perf_counter()
    con = connect(store, True)
    rows = con.execute(sql_for(q, tz, csat_top_box(CONFIG))).fetchall()
    con.close()
    secs = time.perf_counter() - s
    json.dump({"seconds": secs, "cells": to_cells(q, rows)}, sys.stdout)


def store(path, out):
    tz = reporting_tz(CONFIG)
    results = {}
    for q in QUERIES:
        best, cells = None, None
        for _ in range(3):
            r = json.loads(subprocess.run([sys.executable, __file__, "one", path, q, tz], check=True,
                                          capture_output=True, text=True).stdout)
            best = r["seconds"] if best is None else min(best, r["seconds"])
            cells = r["cells"]
        log(f"hand SQL (DuckDB {duckdb.__version__}) over vitals' facts, {q}: {best:.3f} s")
        results[q] = {"seconds": best, "cells": cells}
    write_result(f"sql-store-{duckdb.__version__}", out, results, extra={"version": duckdb.__version__})


# The facts the queries read, derived in SQL from the loaded records (the columns of vitals'
# tables of the same names that the queries use).
DERIVE = """
CREATE TABLE fact_resolved_spans AS
WITH rel AS (
    SELECT e.ticket_id, e."at", e.event_id,
           coalesce(e.kind = 'status' AND e.status IN ('solved', 'closed'), false) AS res
    FROM ticket_events e SEMI JOIN tickets t ON t.ticket_id = e.ticket_id
    WHERE e.kind = 'status' OR (e.kind = 'message' AND e.author_role = 'customer')),
changes AS (  -- the events that change the state: alternately a resolution and a reopen
    SELECT * FROM (
        SELECT *, coalesce(lag(res) OVER (PARTITION BY ticket_id ORDER BY "at", event_id), false) AS prev FROM rel)
    WHERE res <> prev),
spans AS (
    SELECT ticket_id, res, "at" AS resolved_from,
           lead("at") OVER (PARTITION BY ticket_id ORDER BY "at", event_id) AS resolved_to
    FROM changes)
SELECT ticket_id, resolved_from, resolved_to FROM spans WHERE res;

CREATE TABLE fact_tickets AS
WITH first_reply AS (
    SELECT ticket_id, min("at") AS first_reply_at FROM ticket_events
    WHERE kind = 'message' AND author_role = 'agent' AND coalesce(public, true)
    GROUP BY ticket_id),
full_res AS (SELECT ticket_id, resolved_from AS full_resolved_at FROM fact_resolved_spans WHERE resolved_to IS NULL)
SELECT t.ticket_id, t.created_at, t.channel, t.category,
       f.first_reply_at, (epoch_us(f.first_reply_at) - epoch_us(t.created_at)) / 1e6 AS frt_secs,
       r.full_resolved_at, (epoch_us(r.full_resolved_at) - epoch_us(t.created_at)) / 1e6 AS resolution_secs,
       r.full_resolved_at IS NOT NULL AS is_resolved
FROM tickets t LEFT JOIN first_reply f USING (ticket_id) LEFT JOIN full_res r USING (ticket_id);
"""

# The instants the queries read, as naive UTC timestamps (the store's convention).
INSTANTS = {"tickets": "created_at", "ticket_events": "at", "survey_responses": "answered_at"}


def csv(data, db, out):
    tz = reporting_tz(f"{data}/vitals.toml")
    for f in (db, db + ".wal"):
        if os.path.exists(f):
            os.remove(f)
    con = connect(db, False)
    s = time.perf_counter()
    records = 0
    for path in sorted(glob.glob(f"{data}/*.csv")):
        name = os.path.basename(path)[:-4]
        col = INSTANTS.get(name)
        types = f", types = {{'{col}': 'TIMESTAMPTZ'}}" if col else ""
        # timezone('UTC', x), not CAST(x AS TIMESTAMP): DuckDB 2.0.1 pushes that cast into the
        # CSV reader under CREATE TABLE … AS / INSERT and then drops the offset (local wall time).
        replace = f' REPLACE (timezone(\'UTC\', "{col}") AS "{col}")' if col else ""
        con.execute(f"CREATE TABLE {name} AS SELECT *{replace} FROM read_csv('{path}', header = true{types})")
        records += con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    load_s = time.perf_counter() - s
    s = time.perf_counter()
    con.execute(DERIVE)
    facts_s = time.perf_counter() - s
    con.close()
    log(f"hand SQL (DuckDB {duckdb.__version__}) from the CSVs: load {load_s:.2f} s ({records} records), "
        f"facts {facts_s:.2f} s")
    results = {}
    con = connect(db, True)
    for q in QUERIES:
        s = time.perf_counter()
        rows = con.execute(sql_for(q, tz, csat_top_box(f"{data}/vitals.toml"))).fetchall()
        results[q] = {"seconds": time.perf_counter() - s, "cells": to_cells(q, rows)}
    con.close()
    write_result(f"sql-csv-{duckdb.__version__}", out, results, load_s=load_s, facts_s=facts_s,
                 extra={"version": duckdb.__version__, "records": records})


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "one":
        one(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "store":
        store(sys.argv[2], sys.argv[3])
    elif cmd == "csv":
        CONFIG = f"{sys.argv[2]}/vitals.toml"
        csv(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
