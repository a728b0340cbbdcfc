"""Shared by the peer scripts of bench/peers/ (pandas, polars, hand SQL on DuckDB): the five
benchmark queries, their period and time zone, and the one result format every path writes.

Every path writes a JSON file:
    {"path": NAME, "load_s": SECONDS or null, "facts_s": SECONDS or null,
     "queries": {QUERY: {"seconds": BEST_OF_3, "cells": [[DIMS..., {STAT: [VALUE, N]}], ...]}}}
Cells are keyed by their dimension values in the order of QUERIES[q]["by"]; compare.py checks
them cell by cell against vitals' `query --json` answers.
"""
import json
import sys
import time
import tomllib
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

# The benchmark's queries: vitals' flags and the statistics each cell carries, in the
# vitals JSON naming (metric or metric:stat).
QUERIES = {
    "volume": {
        "title": "volume by month × channel",
        "metrics": ["ticket_volume"],
        "by": ["time:month", "ticket:channel"],
    },
    "frt": {
        "title": "FRT median + mean by month × channel",
        "metrics": ["first_response_time:median", "first_response_time:mean"],
        "by": ["time:month", "ticket:channel"],
    },
    "csat_nps": {
        "title": "CSAT + NPS by month",
        "metrics": ["csat", "nps"],
        "by": ["time:month"],
    },
    "resolution_p90": {
        "title": "resolution p90 by category × week",
        "metrics": ["resolution_time:p90"],
        "by": ["ticket:category", "time:week"],
    },
    "backlog": {
        "title": "backlog at each month end",
        "metrics": ["backlog"],
        "by": ["time:month"],
    },
}

# The benchmark period (local dates in the reporting zone; `to` exclusive).
FROM_DATE = "2025-06-01"
TO_DATE = "2026-06-01"


def reporting_tz(config_path):
    """The reporting zone of a vitals.toml ([reporting] timezone), else UTC as vitals does."""
    with open(config_path, "rb") as f:
        conf = tomllib.load(f)
    return conf.get("reporting", {}).get("timezone", "UTC")


def csat_top_box(config_path):
    """The CSAT top box: [surveys.csat] top_box, else the default top-2 of the 1–5 scale."""
    with open(config_path, "rb") as f:
        conf = tomllib.load(f)
    return [float(x) for x in conf.get("surveys", {}).get("csat", {}).get("top_box", [4, 5])]


def local_midnight_utc(date_str, tz):
    """A local date's midnight as a naive UTC datetime (how the store keeps instants)."""
    d = datetime.fromisoformat(date_str).replace(tzinfo=ZoneInfo(tz))
    return d.astimezone(timezone.utc).replace(tzinfo=None)


def period_utc(tz):
    return local_midnight_utc(FROM_DATE, tz), local_midnight_utc(TO_DATE, tz)


def month_ends(tz):
    """(label, end as naive UTC) of every month in the period, for the backlog snapshots."""
    out = []
    y, m = map(int, FROM_DATE[:7].split("-"))
    while f"{y:04d}-{m:02d}-01" < TO_DATE:
        ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
        out.append((f"{y:04d}-{m:02d}", local_midnight_utc(f"{ny:04d}-{nm:02d}-01", tz)))
        y, m = ny, nm
    return out


def week_label(iso_year, iso_week):
    return f"{int(iso_year):04d}-W{int(iso_week):02d}"


def best_of_3(fn):
    """Runs fn three times; returns (best seconds, last result)."""
    best, result = None, None
    for _ in range(3):
        s = time.perf_counter()
        result = fn()
        t = time.perf_counter() - s
        best = t if best is None or t < best else best
    return best, result


def clean(v):
    """A JSON-safe float (NaN and None become null)."""
    if v is None:
        return None
    v = float(v)
    return None if v != v else v


def write_result(path_name, out_file, queries, load_s=None, facts_s=None, extra=None):
    doc = {"path": path_name, "load_s": load_s, "facts_s": facts_s, "queries": queries}
    if extra:
        doc.update(extra)
    with open(out_file, "w") as f:
        json.dump(doc, f)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


__all__ = [
    "QUERIES", "FROM_DATE", "TO_DATE", "reporting_tz", "csat_top_box", "period_utc",
    "month_ends", "week_label", "best_of_3", "clean", "write_result", "log", "timedelta",
]
