"""The benchmark's queries written in pandas, straight from the canonical CSVs (bench/peers/).

    python pandas_peer.py DATA_DIR OUT.json

Loads tickets, ticket_events and survey_responses (timed: the "load" row), then runs each
query best of 3 over the loaded frames. Each query derives what it needs from the raw events
itself (first replies, resolutions, resolved spans), by the rules of the canonical format (README.md, "Import") and
vitals' timeline fold: events ordered by time then event id; a resolution is a status to
solved, or closed while not resolved; a customer message or any other status while resolved
reopens. Instants are UTC; buckets are local months / ISO weeks of the reporting zone.
"""
import sys
import time

import numpy as np
import pandas as pd

from common import (QUERIES, best_of_3, clean, csat_top_box, log, month_ends, period_utc,
                    reporting_tz, week_label, write_result)

DATA, OUT = sys.argv[1], sys.argv[2]
TZ = reporting_tz(f"{DATA}/vitals.toml")
TOP_BOX = csat_top_box(f"{DATA}/vitals.toml")
P_FROM, P_TO = (pd.Timestamp(t, tz="UTC") for t in period_utc(TZ))


def ts(s):
    return pd.to_datetime(s, utc=True, format="ISO8601")


def load():
    t = pd.read_csv(f"{DATA}/tickets.csv", usecols=["ticket_id", "created_at", "channel", "category"],
                    dtype={"ticket_id": str, "channel": str, "category": str}, keep_default_na=False,
                    na_values=[""])
    t["created_at"] = ts(t["created_at"])
    e = pd.read_csv(f"{DATA}/ticket_events.csv",
                    usecols=["event_id", "ticket_id", "at", "kind", "author_role", "public", "status"],
                    dtype={"event_id": str, "ticket_id": str, "kind": str, "author_role": str,
                           "public": str, "status": str}, keep_default_na=False, na_values=[""])
    e["at"] = ts(e["at"])
    s = pd.read_csv(f"{DATA}/survey_responses.csv", dtype={"survey": str}, keep_default_na=False,
                    na_values=[""])
    if "scale_min" in s.columns or "scale_max" in s.columns:
        sys.exit("pandas_peer: per-response scales are not implemented (the generator writes none)")
    s["answered_at"] = ts(s["answered_at"])
    return t, e, s


def in_period(col):
    return (col >= P_FROM) & (col < P_TO)


def month(col):
    local = col.dt.tz_convert(TZ)
    return local.dt.year.astype(str) + "-" + local.dt.month.astype(str).str.zfill(2)


def week(col):
    iso = col.dt.tz_convert(TZ).dt.isocalendar()
    return iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)


def cells(frame, by, stats):
    """Rows of frame (dimension columns `by`, then (value, n) column pairs) as result cells."""
    out = []
    for row in frame.itertuples(index=False):
        dims = [None if pd.isna(v) else v for v in row[:len(by)]]
        vals = row[len(by):]
        out.append(dims + [{k: [clean(vals[2 * i]), int(vals[2 * i + 1])] for i, k in enumerate(stats)}])
    return out


def own_events(e, t):
    """Events of known tickets (events of a ticket not in tickets.csv are orphans)."""
    return e[e["ticket_id"].isin(t["ticket_id"])]


def q_volume(t, e, s):
    x = t[in_period(t["created_at"])]
    g = x.groupby([month(x["created_at"]), x["channel"]], dropna=False).size().reset_index(name="n")
    g["v"] = g["n"]
    return cells(g[["created_at", "channel", "v", "n"]], ["m", "c"], QUERIES["volume"]["metrics"])


def first_replies(t, e):
    r = own_events(e[(e["kind"] == "message") & (e["author_role"] == "agent") & (e["public"] != "false")], t)
    first = r.groupby("ticket_id")["at"].min().rename("first_reply_at")
    x = t.join(first, on="ticket_id", how="inner")
    x["frt"] = (x["first_reply_at"] - x["created_at"]).dt.total_seconds()
    return x


def q_frt(t, e, s):
    x = first_replies(t, e)
    x = x[in_period(x["first_reply_at"])]
    g = x.groupby([month(x["first_reply_at"]), x["channel"]], dropna=False)["frt"].agg(
        ["median", "count", "mean"]).reset_index()
    g["n2"] = g["count"]
    return cells(g[["first_reply_at", "channel", "median", "count", "mean", "n2"]], ["m", "c"],
                 QUERIES["frt"]["metrics"])


def q_csat_nps(t, e, s):
    x = s[in_period(s["answered_at"])]
    x = x.assign(m=month(x["answered_at"]))
    c = x[x["survey"] == "csat"]
    cg = c.assign(top=c["score"].isin(TOP_BOX)).groupby("m")["top"].agg(["mean", "count"])
    n = x[x["survey"] == "nps"]
    ng = n.assign(net=(n["score"] >= 9).astype(int) - (n["score"] <= 6).astype(int)).groupby("m")[
        "net"].agg(["mean", "count"])
    out = []
    for m in sorted(set(cg.index) | set(ng.index)):
        cell = {}
        if m in cg.index:
            cell["csat"] = [clean(cg.loc[m, "mean"] * 100), int(cg.loc[m, "count"])]
        if m in ng.index:
            cell["nps"] = [clean(ng.loc[m, "mean"] * 100), int(ng.loc[m, "count"])]
        out.append([m, cell])
    return out


def resolved_spans(t, e):
    """(ticket_id, resolved_from, resolved_to or NaT) for every resolved span."""
    r = own_events(e[(e["kind"] == "status") | ((e["kind"] == "message") & (e["author_role"] == "customer"))], t)
    r = r.sort_values(["ticket_id", "at", "event_id"])
    state = ((r["kind"] == "status") & r["status"].isin(["solved", "closed"])).to_numpy()
    tid = r["ticket_id"].to_numpy()
    same = np.zeros(len(r), dtype=bool)
    same[1:] = tid[1:] == tid[:-1]
    prev = np.zeros(len(r), dtype=bool)
    prev[1:] = state[:-1]
    prev &= same
    trans = r[state != prev]  # alternating: resolution, reopen, resolution, …
    tt = trans["ticket_id"].to_numpy()
    at = trans["at"].dt.tz_localize(None).to_numpy()
    starts = np.flatnonzero(state[state != prev])
    nxt = starts + 1
    has_end = nxt < len(trans)
    has_end[has_end] = tt[nxt[has_end]] == tt[starts[has_end]]
    to = np.full(len(starts), np.datetime64("NaT"), dtype=at.dtype)
    to[has_end] = at[nxt[has_end]]
    return pd.DataFrame({"ticket_id": tt[starts],
                         "resolved_from": pd.to_datetime(at[starts], utc=True),
                         "resolved_to": pd.to_datetime(to, utc=True)})


def q_resolution_p90(t, e, s):
    sp = resolved_spans(t, e)
    full = sp[sp["resolved_to"].isna()]  # resolved at the end of its timeline: the latest solve
    x = t.merge(full[["ticket_id", "resolved_from"]], on="ticket_id")
    x = x[in_period(x["resolved_from"])]
    x["secs"] = (x["resolved_from"] - x["created_at"]).dt.total_seconds()
    grouped = x.groupby([x["category"], week(x["resolved_from"])], dropna=False)["secs"]
    g = pd.concat([grouped.quantile(0.9).rename("p90"), grouped.count().rename("n")], axis=1)
    return cells(g.reset_index(), ["c", "w"], QUERIES["resolution_p90"]["metrics"])


def q_backlog(t, e, s):
    sp = resolved_spans(t, e).merge(t[["ticket_id", "created_at"]], on="ticket_id")
    out = []
    for label, end in month_ends(TZ):
        end = pd.Timestamp(end, tz="UTC")
        created = int((t["created_at"] < end).sum())
        covered = int(((sp["created_at"] < end) & (sp["resolved_from"] < end)
                       & (sp["resolved_to"].isna() | (sp["resolved_to"] >= end))).sum())
        if created - covered:
            out.append([label, {"backlog": [float(created - covered), created - covered]}])
    return out


def main():
    s0 = time.perf_counter()
    frames = load()
    load_s = time.perf_counter() - s0
    log(f"pandas {pd.__version__}: load {load_s:.2f} s")
    results = {}
    for name, fn in [("volume", q_volume), ("frt", q_frt), ("csat_nps", q_csat_nps),
                     ("resolution_p90", q_resolution_p90), ("backlog", q_backlog)]:
        secs, res = best_of_3(lambda: fn(*frames))
        log(f"pandas {name}: {secs:.3f} s")
        results[name] = {"seconds": secs, "cells": res}
    write_result("pandas", OUT, results, load_s=load_s, extra={"version": pd.__version__})


if __name__ == "__main__":
    main()
