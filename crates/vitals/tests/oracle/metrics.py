#!/usr/bin/env python3
"""An independent reference implementation of the metric definitions in docs/metrics.md.

Reads a canonical data set (CSV files) with nothing but the Python standard library and
computes every metric of the vertical slice per local month (and per ticket channel for ticket
metrics), writing JSON rows {"metric", "dims", "value", "n"}. The end-to-end test compares vitals
against it on data neither has seen. It shares no code with vitals: only the written definitions.

usage: metrics.py DATA_DIR ZONE FROM TO   (FROM inclusive, TO exclusive, YYYY-MM-DD local dates)
"""
import csv
import json
import sys
from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

DATA, ZONE, FROM, TO = sys.argv[1], ZoneInfo(sys.argv[2]), sys.argv[3], sys.argv[4]


def rows(name):
    try:
        with open(f"{DATA}/{name}.csv", newline="") as f:
            yield from csv.DictReader(f)
    except FileNotFoundError:
        return


def ts(text):
    return datetime.fromisoformat(text) if text else None


def flag(text):
    return {"true": True, "false": False}.get((text or "").lower())


def month_starts():
    d = date.fromisoformat(FROM)
    end = date.fromisoformat(TO)
    out = []
    while d < end:
        out.append(d)
        d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return out


MONTHS = month_starts()
BOUNDS = [datetime(d.year, d.month, d.day, tzinfo=ZONE) for d in MONTHS] + [
    datetime.fromisoformat(TO).replace(tzinfo=ZONE)
]


def month_of(t):
    if t is None:
        return None
    local = t.astimezone(ZONE)
    key = f"{local.year:04d}-{local.month:02d}"
    lo, hi = BOUNDS[0], BOUNDS[-1]
    return key if lo <= t < hi else None


def secs(a, b):
    return (b - a).total_seconds()


def quantile(values, q):
    v = sorted(values)
    h = (len(v) - 1) * q
    lo = int(h)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (h - lo) * (v[hi] - v[lo])


out = []


def emit(metric, dims, value, n):
    out.append({"metric": metric, "dims": dims, "value": value, "n": n})


def emit_distribution(metric, groups):
    for dims, values in groups.items():
        if not values:
            continue
        d = dict(dims)
        emit(metric, d, sum(values) / len(values), len(values))
        emit(metric + ":median", d, quantile(values, 0.5), len(values))
        emit(metric + ":p90", d, quantile(values, 0.9), len(values))


def emit_rate(metric, groups):
    for dims, (num, den) in groups.items():
        if den:
            emit(metric, dict(dims), 100.0 * num / den, den)


# ---------------------------------------------------------------- tickets and their timelines
tickets = {r["ticket_id"]: r for r in rows("tickets")}
events = defaultdict(list)
for e in rows("ticket_events"):
    events[e["ticket_id"]].append(e)
calls_per_ticket = defaultdict(int)
for c in rows("calls"):
    if c.get("ticket_id"):
        calls_per_ticket[c["ticket_id"]] += 1

facts = {}
reply_waits = []  # (ticket, at, wait)
for tid, t in tickets.items():
    created = ts(t["created_at"])
    evs = sorted(events.get(tid, []), key=lambda e: (ts(e["at"]), e["event_id"]))
    clock, resolved = created, False
    f = dict(first_reply=None, first_res=None, spans=[], reopens=0, touches=0, customer=0, replies_before=0)
    agents = set()
    for e in evs:
        at, kind, role = ts(e["at"]), e["kind"], e.get("author_role") or None
        if role == "agent":
            f["touches"] += 1
        if kind == "message":
            if role == "customer":
                f["customer"] += 1
                if resolved:
                    resolved = False
                    f["reopens"] += 1
                    f["spans"][-1][1] = at
                if clock is None:
                    clock = at
            elif role == "agent" and flag(e.get("public")) is not False:
                if f["first_res"] is None:
                    f["replies_before"] += 1
                if e.get("author_id"):
                    agents.add(e["author_id"])
                if f["first_reply"] is None:
                    f["first_reply"] = at
                if clock is not None:
                    reply_waits.append((tid, at, secs(clock, at)))
                    clock = None
        elif kind == "status":
            if e["status"] in ("solved", "closed"):
                if not resolved:
                    resolved = True
                    if f["first_res"] is None:
                        f["first_res"] = at
                    f["spans"].append([at, None])
            elif resolved:
                resolved = False
                f["reopens"] += 1
                f["spans"][-1][1] = at
        elif kind == "assign" and e.get("agent_id"):
            agents.add(e["agent_id"])
    f["resolved"] = resolved
    f["full_res"] = f["spans"][-1][0] if resolved else None
    explicit = flag(t.get("first_contact_resolved"))
    derived = f["replies_before"] == 1 and f["reopens"] == 0 and len(agents) <= 1
    f["fcr"] = None if f["first_res"] is None else (explicit if explicit is not None else derived)
    f["created"] = created
    f["channel"] = t["channel"].lower()
    f["category"] = t.get("category") or None
    f["interactions"] = f["customer"] + calls_per_ticket[tid]
    facts[tid] = f


def by_month_channel(anchor, value, keep=lambda f: True):
    groups = defaultdict(list)
    for f in facts.values():
        m = month_of(f[anchor] if isinstance(anchor, str) else anchor(f))
        if m and keep(f):
            groups[(("time:month", m), ("ticket:channel", f["channel"]))].append(value(f))
    return groups


def rate_month_channel(anchor, hit, keep=lambda f: True):
    groups = defaultdict(lambda: [0, 0])
    for f in facts.values():
        m = month_of(f[anchor])
        if m and keep(f):
            g = groups[(("time:month", m), ("ticket:channel", f["channel"]))]
            g[0] += 1 if hit(f) else 0
            g[1] += 1
    return groups


volume = by_month_channel("created", lambda f: 1)
for dims, v in volume.items():
    emit("ticket_volume", dict(dims), float(len(v)), len(v))
emit_distribution("first_response_time", by_month_channel("first_reply", lambda f: secs(f["created"], f["first_reply"]), lambda f: f["first_reply"]))
emit_distribution("resolution_time", by_month_channel("full_res", lambda f: secs(f["created"], f["full_res"]), lambda f: f["full_res"]))
emit_distribution("first_resolution_time", by_month_channel("first_res", lambda f: secs(f["created"], f["first_res"]), lambda f: f["first_res"]))
emit_distribution("agent_touches", by_month_channel("full_res", lambda f: float(f["touches"]), lambda f: f["full_res"]))
emit_distribution("interactions_per_ticket", by_month_channel("created", lambda f: float(f["interactions"])))
emit_rate("fcr", rate_month_channel("first_res", lambda f: f["fcr"], lambda f: f["fcr"] is not None))
emit_rate("resolution_rate", rate_month_channel("created", lambda f: f["resolved"]))
emit_rate("reopen_rate", rate_month_channel("first_res", lambda f: f["reopens"] > 0, lambda f: f["first_res"]))

waits = defaultdict(list)
for tid, at, w in reply_waits:
    m = month_of(at)
    if m:
        waits[(("time:month", m), ("ticket:channel", facts[tid]["channel"]))].append(w)
emit_distribution("average_response_time", waits)

for kind, key in (("channel_mix", "channel"), ("top_categories", "category")):
    per = defaultdict(lambda: defaultdict(int))
    for f in facts.values():
        m = month_of(f["created"])
        if m:
            per[m][f[key]] += 1
    dim = "ticket:channel" if key == "channel" else "ticket:category"
    for m, counts in per.items():
        total = sum(counts.values())
        for value, c in counts.items():
            emit(kind, {"time:month": m, dim: value}, 100.0 * c / total, total)

for i, m in enumerate(MONTHS):
    end = BOUNDS[i + 1]
    label = f"{m.year:04d}-{m.month:02d}"
    per = defaultdict(int)
    for f in facts.values():
        if f["created"] < end and not any(s < end and (e is None or e >= end) for s, e in f["spans"]):
            per[f["channel"]] += 1
    for ch, c in per.items():
        emit("backlog", {"time:month": label, "ticket:channel": ch}, float(c), c)

# ---------------------------------------------------------------- surveys
DEFAULT_SCALE = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7), "esat": (1, 5)}
surveys = defaultdict(lambda: defaultdict(list))
for r in rows("survey_responses"):
    m = month_of(ts(r["answered_at"]))
    if m:
        lo, hi = DEFAULT_SCALE[r["survey"]]
        lo = int(r["scale_min"]) if r.get("scale_min") else lo
        hi = int(r["scale_max"]) if r.get("scale_max") else hi
        surveys[r["survey"]][m].append((float(r["score"]), lo, hi))


def top_box(score, lo, hi):
    return score >= (hi - 1 if hi - lo >= 3 else hi)


for m, rs in surveys["csat"].items():
    emit("csat", {"time:month": m}, 100.0 * sum(top_box(*x) for x in rs) / len(rs), len(rs))
    emit("csat_mean", {"time:month": m}, sum(x[0] for x in rs) / len(rs), len(rs))
for m, rs in surveys["nps"].items():
    p = sum(1 for x in rs if x[0] >= 9)
    d = sum(1 for x in rs if x[0] < 7)
    n = len(rs)
    emit("nps", {"time:month": m}, 100.0 * (p - d) / n, n)
    emit("nps_promoters", {"time:month": m}, 100.0 * p / n, n)
    emit("nps_detractors", {"time:month": m}, 100.0 * d / n, n)
    emit("nps_passives", {"time:month": m}, 100.0 * (n - p - d) / n, n)
for m, rs in surveys["ces"].items():
    emit("ces", {"time:month": m}, sum(x[0] for x in rs) / len(rs), len(rs))
    emit("ces_easy", {"time:month": m}, 100.0 * sum(top_box(*x) for x in rs) / len(rs), len(rs))

# ---------------------------------------------------------------- calls
calls = defaultdict(list)
for c in rows("calls"):
    m = month_of(ts(c["offered_at"]))
    if m:
        calls[m].append(c)
for m, cs in calls.items():
    d = {"time:month": m}
    answered = [c for c in cs if c["answered_at"]]
    abandoned = [c for c in cs if (flag(c.get("abandoned")) if flag(c.get("abandoned")) is not None else not c["answered_at"])]
    emit_rate("answer_rate", {(("time:month", m),): (len(answered), len(cs))})
    emit_rate("abandon_rate", {(("time:month", m),): (len(abandoned), len(cs))})
    emit_distribution("average_wait_time", {(("time:month", m),): [secs(ts(c["offered_at"]), ts(c["answered_at"])) for c in answered]})
    short = [c for c in abandoned if secs(ts(c["offered_at"]), ts(c["ended_at"])) <= 5]
    within = [c for c in answered if secs(ts(c["offered_at"]), ts(c["answered_at"])) <= 20]
    emit_rate("service_level", {(("time:month", m),): (len(within), len(cs) - len(short))})
    handled = [
        sum(float(c[k] or 0) for k in ("talk_secs", "hold_secs", "wrap_secs"))
        for c in answered
        if any(c.get(k) for k in ("talk_secs", "hold_secs", "wrap_secs"))
    ]
    emit_distribution("average_handle_time_calls", {(("time:month", m),): handled})

# ---------------------------------------------------------------- customers, orders, costs
customers = [(ts(r["acquired_at"]), ts(r["churned_at"])) for r in rows("customers")]
orders = defaultdict(lambda: defaultdict(int))
for o in rows("orders"):
    m = month_of(ts(o["ordered_at"]))
    if m:
        orders[m][o["customer_id"]] += 1
costs = [r for r in rows("costs") if r["kind"] == "sales_marketing"]
for i, m in enumerate(MONTHS):
    b0, b1 = BOUNDS[i], BOUNDS[i + 1]
    label = f"{m.year:04d}-{m.month:02d}"
    s = [c for c in customers if c[0] < b0 and (c[1] is None or c[1] >= b0)]
    e = [c for c in customers if c[0] < b1 and (c[1] is None or c[1] >= b1)]
    new = [c for c in customers if b0 <= c[0] < b1]
    churned = [c for c in s if c[1] is not None and c[1] < b1]
    if s:
        emit("retention_rate", {"time:month": label}, 100.0 * (len(e) - len(new)) / len(s), len(s))
        emit("churn_rate", {"time:month": label}, 100.0 * len(churned) / len(s), len(s))
    d0, d1 = MONTHS[i], (MONTHS[i + 1] if i + 1 < len(MONTHS) else date.fromisoformat(TO))
    spend = 0.0
    for k in costs:
        p0, p1 = date.fromisoformat(k["period_start"]), date.fromisoformat(k["period_end"])
        overlap = (min(p1, d1) - max(p0, d0)).days
        if overlap > 0:
            spend += float(k["amount"]) * overlap / (p1 - p0).days
    if new and spend:
        emit("cac", {"time:month": label}, spend / len(new), len(new))
    buyers = orders.get(label, {})
    if buyers:
        emit("repeat_purchase_rate", {"time:month": label}, 100.0 * sum(1 for k in buyers.values() if k >= 2) / len(buyers), len(buyers))

json.dump(out, sys.stdout)
