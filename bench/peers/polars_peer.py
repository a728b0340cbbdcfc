"""The benchmark's queries written in polars, straight from the canonical CSVs (bench/peers/).

    python polars_peer.py DATA_DIR OUT.json

Loads tickets, ticket_events and survey_responses eagerly (timed: the "load" row), then runs
each query best of 3 over the loaded frames (lazy plans, collected per query). Each query
derives what it needs from the raw events itself, by the rules pandas_peer.py states.
"""
import sys
import time

import polars as pl

from common import (QUERIES, best_of_3, clean, csat_top_box, log, month_ends, period_utc,
                    reporting_tz, write_result)

DATA, OUT = sys.argv[1], sys.argv[2]
TZ = reporting_tz(f"{DATA}/vitals.toml")
TOP_BOX = csat_top_box(f"{DATA}/vitals.toml")
P_FROM, P_TO = (pl.lit(t).cast(pl.Datetime("us")).dt.replace_time_zone("UTC") for t in period_utc(TZ))
FMT = "%Y-%m-%dT%H:%M:%S%#z"  # RFC 3339 with an offset or Z


def ts(name):
    return pl.col(name).str.to_datetime(FMT, time_zone="UTC", time_unit="us")


def load():
    t = pl.read_csv(f"{DATA}/tickets.csv", columns=["ticket_id", "created_at", "channel", "category"],
                    schema_overrides={c: pl.String for c in ["ticket_id", "created_at", "channel", "category"]},
                    ).with_columns(ts("created_at"))
    e = pl.read_csv(f"{DATA}/ticket_events.csv",
                    columns=["event_id", "ticket_id", "at", "kind", "author_role", "public", "status"],
                    schema_overrides={c: pl.String for c in ["event_id", "ticket_id", "at", "kind",
                                                             "author_role", "public", "status"]},
                    ).with_columns(ts("at"))
    s = pl.read_csv(f"{DATA}/survey_responses.csv", infer_schema=False)
    if "scale_min" in s.columns or "scale_max" in s.columns:
        sys.exit("polars_peer: per-response scales are not implemented (the generator writes none)")
    s = s.select(pl.col("survey"), pl.col("score").cast(pl.Float64), ts("answered_at"))
    return t, e, s


def in_period(name):
    return (pl.col(name) >= P_FROM) & (pl.col(name) < P_TO)


def month(name):
    return pl.col(name).dt.convert_time_zone(TZ).dt.strftime("%Y-%m").alias("_b")


def week(name):
    local = pl.col(name).dt.convert_time_zone(TZ)
    return pl.format("{}-W{}", local.dt.iso_year(), local.dt.week().cast(pl.String).str.zfill(2)).alias("_b")


def cells(frame, dims, stats):
    """Rows of frame (columns dims, then for each stat STAT and STAT_n) as result cells."""
    return [[r[d] for d in dims] + [{k: [clean(r[k]), int(r[k + "_n"])] for k in stats}]
            for r in frame.iter_rows(named=True)]


def own_events(e, t, keep):
    """The events `keep` selects, of known tickets (events of a ticket not in tickets.csv are
    orphans)."""
    return e.lazy().filter(keep).join(t.lazy().select("ticket_id"), on="ticket_id", how="semi")


def q_volume(t, e, s):
    g = (t.lazy().filter(in_period("created_at"))
         .group_by(month("created_at"), "channel")
         .agg(pl.len().cast(pl.Float64).alias("ticket_volume"), pl.len().alias("ticket_volume_n"))
         .collect())
    return cells(g, ["_b", "channel"], QUERIES["volume"]["metrics"])


def q_frt(t, e, s):
    first = (own_events(e, t, (pl.col("kind") == "message") & (pl.col("author_role") == "agent")
                        & (pl.col("public").fill_null("true") != "false"))
             .group_by("ticket_id").agg(pl.col("at").min().alias("first_reply_at")))
    frt = (pl.col("first_reply_at") - pl.col("created_at")).dt.total_microseconds() / 1e6
    g = (t.lazy().join(first, on="ticket_id")
         .filter(in_period("first_reply_at"))
         .group_by(month("first_reply_at"), "channel")
         .agg(frt.median().alias("first_response_time:median"),
              frt.mean().alias("first_response_time:mean"),
              pl.len().alias("first_response_time:median_n"),
              pl.len().alias("first_response_time:mean_n"))
         .collect())
    return cells(g, ["_b", "channel"], QUERIES["frt"]["metrics"])


def q_csat_nps(t, e, s):
    x = s.lazy().filter(in_period("answered_at")).with_columns(month("answered_at"))
    c = (x.filter(pl.col("survey") == "csat")
         .group_by("_b").agg((pl.col("score").is_in(TOP_BOX).mean() * 100).alias("v"), pl.len().alias("n"))
         .collect())
    n = (x.filter(pl.col("survey") == "nps")
         .group_by("_b").agg((((pl.col("score") >= 9).cast(pl.Int32) - (pl.col("score") <= 6).cast(pl.Int32))
                              .mean() * 100).alias("v"), pl.len().alias("n"))
         .collect())
    cells_ = {}
    for name, frame in (("csat", c), ("nps", n)):
        for r in frame.iter_rows(named=True):
            cells_.setdefault(r["_b"], {})[name] = [clean(r["v"]), int(r["n"])]
    return [[m, v] for m, v in sorted(cells_.items())]


def resolved_spans(t, e):
    """LazyFrame (ticket_id, resolved_from, resolved_to or null) of every resolved span."""
    state = (pl.col("kind") == "status") & pl.col("status").is_in(["solved", "closed"]).fill_null(False)
    r = (own_events(e, t, (pl.col("kind") == "status")
                    | ((pl.col("kind") == "message") & (pl.col("author_role") == "customer")))
         .sort("ticket_id", "at", "event_id")
         .with_columns(state.alias("res"))
         .with_columns(pl.col("res").shift(1).over("ticket_id").fill_null(False).alias("prev"))
         .filter(pl.col("res") != pl.col("prev"))  # alternating: resolution, reopen, …
         .with_columns(pl.col("at").shift(-1).over("ticket_id").alias("next_at"))
         .filter(pl.col("res")))
    return r.select("ticket_id", pl.col("at").alias("resolved_from"), pl.col("next_at").alias("resolved_to"))


def q_resolution_p90(t, e, s):
    secs = (pl.col("resolved_from") - pl.col("created_at")).dt.total_microseconds() / 1e6
    g = (resolved_spans(t, e).filter(pl.col("resolved_to").is_null())
         .join(t.lazy(), on="ticket_id")
         .filter(in_period("resolved_from"))
         .group_by("category", week("resolved_from"))
         .agg(secs.quantile(0.9, interpolation="linear").alias("resolution_time:p90"),
              pl.len().alias("resolution_time:p90_n"))
         .collect())
    return cells(g, ["category", "_b"], QUERIES["resolution_p90"]["metrics"])


def q_backlog(t, e, s):
    sp = resolved_spans(t, e).join(t.lazy().select("ticket_id", "created_at"), on="ticket_id")
    ends = month_ends(TZ)
    aggs_t, aggs_s = [], []
    for i, (_, end) in enumerate(ends):
        end = pl.lit(end).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        aggs_t.append((pl.col("created_at") < end).sum().alias(f"c{i}"))
        aggs_s.append(((pl.col("created_at") < end) & (pl.col("resolved_from") < end)
                       & (pl.col("resolved_to").is_null() | (pl.col("resolved_to") >= end))).sum().alias(f"c{i}"))
    created, covered = pl.collect_all([t.lazy().select(aggs_t), sp.select(aggs_s)])
    out = []
    for i, (label, _) in enumerate(ends):
        level = created[f"c{i}"][0] - covered[f"c{i}"][0]
        if level:
            out.append([label, {"backlog": [float(level), int(level)]}])
    return out


def main():
    s0 = time.perf_counter()
    frames = load()
    load_s = time.perf_counter() - s0
    log(f"polars {pl.__version__}: load {load_s:.2f} s")
    results = {}
    for name, fn in [("volume", q_volume), ("frt", q_frt), ("csat_nps", q_csat_nps),
                     ("resolution_p90", q_resolution_p90), ("backlog", q_backlog)]:
        secs, res = best_of_3(lambda: fn(*frames))
        log(f"polars {name}: {secs:.3f} s")
        results[name] = {"seconds": secs, "cells": res}
    write_result("polars", OUT, results, load_s=load_s, extra={"version": pl.__version__})


if __name__ == "__main__":
    main()
