#!/usr/bin/env python3
"""Soak test of `vitals serve` (bench/soak.sh starts the server and runs this; not part of CI).

Usage: soak.py --url http://127.0.0.1:PORT --admin-token vt_… [--pid PID] [--duration 600]
               [--clients 50] [--slow 20] [--idle 10] [--seed 1] [--verify-sample 2000]
               [--mix query=34,drill=10,ticket=8,sla=5,spikes=4,ingest=24,survey=15]
(the options also read DURATION, CLIENTS, SLOW, IDLE, SEED, VERIFY_SAMPLE, MIX from the
environment).

Standard library only (asyncio, raw HTTP/1.1 over keep-alive sockets). For --duration seconds,
--clients concurrent clients each loop over a mix of what a live deployment sees:
  - dashboard queries (POST /api/v1/query: headline cards with compare previous, series by
    time:day/week/month, breakdowns by channel, category, team, heat maps, filters), over
    periods varied within the store's extent and over three time zones so few are cache hits;
  - drill-downs (the records behind a cell, paged), GET /api/v1/tickets/{id}, /api/v1/sla,
    /api/v1/spikes;
  - ingest: POST /api/v1/records/tickets (1–20 new tickets) then their ticket_events (a
    customer message, an agent reply, solved), NDJSON, ids `soak-<run>-<client>-<n>-<i>`, every
    ticket marked with tier `soak-<run>`; every id whose request answered 200 with `accepted`
    = the lines sent is recorded as acknowledged;
  - survey links: POST /api/v1/surveys/links, GET /s/{token}, POST /s/{token} `score=4`; a link
    whose answer page said thanks (200) is acknowledged; one in ten is posted again and must be
    refused as used (409).
A 503 with Retry-After is back-pressure: counted, honoured and retried. Any other 5xx, an
unexpected 4xx, a timeout or a connection error is an error.
Beside them: --slow slowloris sockets (a request's headers one byte every few seconds) and
--idle idle keep-alive connections (half after one request, half never sending), reconnecting
when closed; the report says how many the server closed and after how long. The server's RSS
(VmRSS), threads and open files are sampled every 10 s (and /metrics scraped, as Prometheus
would). At the end every acknowledged record is checked for: ticket count by the run's tier,
a sample of tickets with their events, and every acknowledged survey answer among the CSAT
responses. Prints PASS/FAIL per check and exits 1 when one fails.
"""
import argparse
import asyncio
import datetime as dt
import json
import math
import os
import random
import sys
import time
import urllib.parse
from collections import Counter, defaultdict

REQUEST_TIMEOUT = 120.0  # seconds one request may take before it counts as an error
IDLE_REUSE = 4.0  # a keep-alive connection idle longer than this is reopened, not reused
MAX_503_RETRIES = 30
ZONES = ["Europe/Helsinki", "Europe/Helsinki", "Europe/Helsinki", "UTC", "America/New_York"]
KINDS = ["query", "drill", "ticket", "sla", "spikes", "ingest_tickets", "ingest_events",
         "survey_link", "survey_page", "survey_answer", "survey_reuse", "metrics"]
# What a client does next, with its weight.
ACTIONS = [("query", 34), ("drill", 10), ("ticket", 8), ("sla", 5), ("spikes", 4),
           ("ingest", 24), ("survey", 15)]


# --------------------------------------------------------------------------------------------
# A minimal HTTP/1.1 client over asyncio streams (keep-alive, Content-Length and chunked).

class Stale(Exception):
    """The server closed a kept-alive connection before answering (safe to resend once)."""


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body
        self.ok = False

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def describe(self):
        """`STATUS code` for the error tally (the API's error code, or `html` for pages)."""
        code = ""
        answer = self.json()
        if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
            code = answer["error"].get("code", "")
        elif self.body[:200].lstrip().lower().startswith((b"<!doctype", b"<html")):
            code = "html"
        elif self.body:
            code = self.body[:60].decode("utf-8", "replace").replace("\n", " ")
        return f"{self.status} {code}".strip()


async def read_head(reader):
    """Status and headers (lower-case names) of one response; Stale when nothing came."""
    line = await reader.readline()
    if not line:
        raise Stale()
    parts = line.decode("latin-1").split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError(f"bad status line {line[:80]!r}")
    status = int(parts[1])
    headers = {}
    while True:
        h = await reader.readline()
        if not h:
            raise asyncio.IncompleteReadError(b"", None)
        if h in (b"\r\n", b"\n"):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


async def read_body(reader, method, status, headers):
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return b"", False
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks = []
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks), False
            chunks.append(await reader.readexactly(size))
            await reader.readline()
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"])), False
    return await reader.read(), True  # until the server closes


class Http:
    """One keep-alive connection, reopened when closed."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None
        self.last = 0.0

    def close(self):
        if self.writer is not None:
            try:
                self.writer.close()
            except Exception:
                pass
        self.reader = self.writer = None

    async def request(self, method, path, headers, body=b""):
        if self.writer is not None and time.monotonic() - self.last > IDLE_REUSE:
            self.close()
        for attempt in (0, 1):
            fresh = self.writer is None
            if fresh:
                self.reader, self.writer = await asyncio.open_connection(
                    self.host, self.port, limit=1 << 22)
            try:
                return await self.exchange(method, path, headers, body)
            except (Stale, ConnectionResetError, BrokenPipeError) as e:
                self.close()
                if fresh or attempt:
                    raise ConnectionError(f"closed before answering ({type(e).__name__})")
                STALE_RETRIES[0] += 1
            except BaseException:
                self.close()
                raise

    async def exchange(self, method, path, headers, body):
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                "User-Agent: vitals-soak", "Accept: */*"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        if body or method in ("POST", "PUT", "PATCH"):
            head.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await self.writer.drain()
        status, rheaders = await read_head(self.reader)
        rbody, closed = await read_body(self.reader, method, status, rheaders)
        if closed or rheaders.get("connection", "").lower() == "close":
            self.close()
        self.last = time.monotonic()
        return Response(status, rheaders, rbody)


STALE_RETRIES = [0]


# --------------------------------------------------------------------------------------------
# Figures.

class Stats:
    def __init__(self):
        self.requests = Counter()
        self.latency = defaultdict(list)  # ms of every answered request
        self.errors = defaultdict(Counter)
        self.busy = Counter()  # 503 with Retry-After

    def error(self, kind, what):
        self.errors[kind][what] += 1

    def error_total(self):
        """Errors of the soak's own requests (set-up and verification report theirs apart)."""
        return sum(sum(self.errors[k].values()) for k in KINDS)


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)  # nearest rank
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


class Soak:
    def __init__(self, args):
        u = urllib.parse.urlsplit(args.url)
        self.host, self.port = u.hostname, u.port or 80
        self.args = args
        self.run = args.run or format(int(time.time()) % 0xFFFFFF, "06x")
        self.tier = f"soak-{self.run}"
        self.mix = ACTIONS
        if args.mix:  # e.g. "query=50,ingest=10": those weights, the others 0
            given = dict((k, float(v)) for k, v in (x.split("=") for x in args.mix.split(",")))
            unknown = set(given) - {k for k, _ in ACTIONS}
            if unknown:
                raise SystemExit(f"--mix: unknown {sorted(unknown)}; known {[k for k, _ in ACTIONS]}")
            self.mix = [(k, given.get(k, 0)) for k, _ in ACTIONS]
        self.stats = Stats()
        self.deadline = 0.0
        self.stop = asyncio.Event()
        self.server_gone = False
        # Acknowledged records.
        self.tickets = {}  # ticket id → acknowledged event ids
        self.ticket_list = []  # the same ids, for random picks
        self.events = 0
        self.answers = []  # link ids whose answer page said thanks
        self.uncertain = Counter()  # requests whose outcome is unknown (timeouts, resets)
        self.samples = []  # (seconds, rss kB, threads, fds)
        self.loop_lag = 0.0
        self.scraped = ""  # the last /metrics answer
        self.slow = {k: {"opened": 0, "closed": [], "answers": Counter(), "completed": 0,
                         "held": [], "errors": Counter()}
                     for k in ("slowloris", "idle_after_request", "idle_fresh")}

    # ---- one request, with back-pressure and error accounting ------------------------------
    async def call(self, http, kind, method, path, token=None, body=b"", ctype=None,
                   expect=(200,), origin=False):
        headers = {"Origin": f"http://{self.host}:{self.port}"} if origin else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if ctype:
            headers["Content-Type"] = ctype
        if isinstance(body, str):
            body = body.encode()
        retries = 0
        while True:
            self.stats.requests[kind] += 1
            started = time.monotonic()
            try:
                r = await asyncio.wait_for(http.request(method, path, headers, body),
                                           REQUEST_TIMEOUT)
            except asyncio.TimeoutError:
                http.close()
                self.stats.error(kind, "timeout")
                return None
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as e:
                http.close()
                self.stats.error(kind, f"connection: {e}"[:80])
                return None
            self.stats.latency[kind].append((time.monotonic() - started) * 1000)
            if r.status == 503 and "retry-after" in r.headers:
                self.stats.busy[kind] += 1
                retries += 1
                if retries > MAX_503_RETRIES:
                    self.stats.error(kind, "503 retried too often")
                    return None
                try:
                    wait = float(r.headers["retry-after"])
                except ValueError:
                    wait = 1.0
                await asyncio.sleep(min(max(wait, 0.1), 30))
                continue
            r.ok = r.status in expect
            if not r.ok:
                self.stats.error(kind, r.describe())
            return r

    # ---- set-up: tokens and what the store holds -------------------------------------------
    async def setup(self):
        http = Http(self.host, self.port)
        tokens = {}
        for name, scopes in (("read", ["read"]), ("ingest", ["ingest"])):
            r = await self.call(http, "setup", "POST", "/api/v1/tokens", self.args.admin_token,
                                json.dumps({"name": f"soak {name} {self.run}", "scopes": scopes}),
                                "application/json", expect=(200, 201))
            if r is None or not r.ok:
                raise SystemExit(f"cannot create a {name} token: {r and r.describe()} "
                                 f"{r and r.body[:300]!r}")
            tokens[name] = r.json()["token"]
        self.read, self.ingest = tokens["read"], tokens["ingest"]

        async def q(request):
            r = await self.call(http, "setup", "POST", "/api/v1/query", self.read,
                                json.dumps(request), "application/json")
            if r is None or not r.ok:
                raise SystemExit(f"set-up query {json.dumps(request)} failed: "
                                 f"{r and r.describe()} {r and r.body[:300]!r}")
            return r.json()

        months = [dims(row).get("time:month")
                  for row in (await q({"metrics": ["ticket_volume"], "by": ["time:month"],
                                       "timezone": "UTC"}))["results"]]
        months = sorted(m for m in months if m)
        if not months:
            raise SystemExit("the store has no tickets")
        self.first = dt.date.fromisoformat(months[0] + "-01")
        last = dt.date.fromisoformat(months[-1] + "-01")
        self.end = add_months(last, 1)  # exclusive
        self.months = months
        self.values = {}
        for d in ("ticket:channel", "ticket:category", "ticket:team", "ticket:priority"):
            answer = await q({"metrics": ["ticket_volume"], "by": [d]})
            self.values[d] = sorted({dims(row).get(d) for row in answer["results"]} - {None})
        page = await q({"metrics": ["ticket_volume"], "by": ["time:month"], "timezone": "UTC",
                        "records": True, "cell": {"time:month": months[-1]}, "page_size": 500})
        self.store_ids = [rec["id"] for rec in page.get("records", []) if rec.get("id")]
        print(f"store: tickets {self.first} – {self.end} ({len(months)} months); channels "
              f"{self.values['ticket:channel']}; teams {self.values['ticket:team']}; "
              f"{len(self.store_ids)} ticket ids to open", flush=True)
        http.close()

    # ---- what the checks compare against -------------------------------------------------------
    async def counts(self, http):
        """(tickets of this run's tier, CSAT responses answered around now)."""
        today = dt.datetime.now(dt.timezone.utc).date()
        r = await self.call(http, "verify", "POST", "/api/v1/query", self.read, json.dumps({
            "metrics": ["ticket_volume"], "timezone": "UTC",
            "from": str(today - dt.timedelta(days=2)), "to": str(today + dt.timedelta(days=2)),
            "filters": [{"dimension": "ticket:tier", "is": [self.tier]}]}), "application/json")
        tickets = metric_n(r, "ticket_volume")
        r = await self.call(http, "verify", "POST", "/api/v1/query", self.read, json.dumps(
            self.survey_window({"metrics": ["csat"]})), "application/json")
        return tickets, metric_n(r, "csat")

    def survey_window(self, request):
        today = dt.datetime.now(dt.timezone.utc).date()
        request.update({"timezone": "UTC", "from": str(self.started_on - dt.timedelta(days=1)),
                        "to": str(today + dt.timedelta(days=2))})
        return request

    # ---- dashboard-like requests -----------------------------------------------------------------
    def period(self, rng):
        """A period within the store's extent: a month, a quarter, 7/30/90 days, or everything."""
        span = (self.end - self.first).days
        pick = rng.random()
        if pick < 0.1:
            return None, None
        if pick < 0.45:
            m = dt.date.fromisoformat(rng.choice(self.months) + "-01")
            return m, add_months(m, 1)
        if pick < 0.6:
            m = dt.date.fromisoformat(rng.choice(self.months[:max(1, len(self.months) - 2)]) + "-01")
            return m, min(add_months(m, 3), self.end)
        days = rng.choice([7, 7, 14, 30, 30, 90])
        start = self.first + dt.timedelta(days=rng.randrange(max(1, span - days)))
        return start, min(start + dt.timedelta(days=days), self.end)

    def query_body(self, rng):
        start, end = self.period(rng)
        days = (end - start).days if start else (self.end - self.first).days
        grain = "time:day" if days <= 31 else "time:week" if days <= 120 else "time:month"
        request = {"timezone": rng.choice(ZONES)}
        if start:
            request.update({"from": str(start), "to": str(end)})
        shape = rng.randrange(10)
        if shape == 0:  # headline cards
            request.update(metrics=["ticket_volume", "first_response_time:median",
                                    "resolution_time:median", "fcr", "csat", "nps"],
                           compare="previous")
        elif shape == 1:  # volume per channel series
            request.update(metrics=["ticket_volume"], by=[grain, "ticket:channel"])
        elif shape == 2:  # FRT band
            request.update(metrics=["first_response_time:median", "first_response_time:p90"],
                           by=[grain])
        elif shape == 3:  # CSAT / NPS with confidence
            request.update(metrics=["csat", "nps"], by=[grain])
        elif shape == 4:  # breakdown table
            dim = rng.choice(["ticket:team", "ticket:channel", "ticket:category", "ticket:priority"])
            request.update(metrics=["ticket_volume", "first_response_time:median",
                                    "resolution_time:median", "fcr", "reopen_rate"], by=[dim])
        elif shape == 5:  # heat map
            request.update(metrics=[rng.choice(["ticket_volume", "first_response_time:median"])],
                           by=["time:weekday", "time:hour"])
        elif shape == 6:  # SLA
            request.update(metrics=["sla_compliance"], by=[grain, "sla:target"])
        elif shape == 7:  # resolution
            request.update(metrics=["resolution_time:median", "resolution_time:p90", "fcr",
                                    "resolution_rate"], by=[grain], compare="previous")
        elif shape == 8:  # calls
            request.update(metrics=["service_level", "average_wait_time:median", "abandon_rate"],
                           by=[grain])
        else:  # categories over time, or backlog over a short period
            if days <= 31 and start:
                request.update(metrics=["backlog"], by=["time:day"])
            else:
                request.update(metrics=["ticket_volume"], by=[grain, "ticket:category"])
        if rng.random() < 0.35 and not request["metrics"][0] in ("service_level", "backlog"):
            dim = rng.choice(["ticket:channel", "ticket:team", "ticket:category"])
            if self.values.get(dim) and dim not in request.get("by", []):
                how = "is" if rng.random() < 0.7 else "is_not"
                request["filters"] = [{"dimension": dim, how: [rng.choice(self.values[dim])]}]
        return request

    def drill_body(self, rng):
        metric = rng.choice(["ticket_volume", "csat", "first_response_time:median",
                             "resolution_time:median", "fcr", "ticket_volume"])
        month = rng.choice(self.months)
        m = dt.date.fromisoformat(month + "-01")
        request = {"metrics": [metric], "timezone": rng.choice(ZONES), "records": True,
                   "page": rng.choice([1, 1, 1, 2, 3]), "page_size": rng.choice([25, 50, 100])}
        if rng.random() < 0.5:
            request.update({"from": str(m), "to": str(add_months(m, 1)), "by": ["time:month"],
                            "cell": {"time:month": month}})
        else:
            start, end = self.period(rng)
            if start:
                request.update({"from": str(start), "to": str(end)})
            dim = "ticket:channel"
            request.update({"by": [dim], "cell": {dim: rng.choice(self.values[dim])}})
        return request

    # ---- one client ----------------------------------------------------------------------------
    async def client(self, i):
        rng = random.Random(self.args.seed * 1000 + i)
        http = Http(self.host, self.port)
        names, weights = zip(*self.mix)
        n = 0
        while time.monotonic() < self.deadline and not self.stop.is_set():
            n += 1
            action = rng.choices(names, weights)[0]
            if action == "query":
                await self.call(http, "query", "POST", "/api/v1/query", self.read,
                                json.dumps(self.query_body(rng)), "application/json")
            elif action == "drill":
                r = await self.call(http, "drill", "POST", "/api/v1/query", self.read,
                                    json.dumps(self.drill_body(rng)), "application/json")
                if r is not None and r.ok and "records" not in (r.json() or {}):
                    self.stats.error("drill", "200 without records")
            elif action == "ticket":
                pool = self.ticket_list if self.ticket_list and rng.random() < 0.5 else self.store_ids
                if not pool:
                    continue
                tid = rng.choice(pool)
                await self.call(http, "ticket", "GET", f"/api/v1/tickets/{urllib.parse.quote(tid)}",
                                self.read)
            elif action == "sla":
                state = rng.choice(["", "", "?state=breached", "?state=at_risk"])
                await self.call(http, "sla", "GET", f"/api/v1/sla{state}", self.read)
            elif action == "spikes":
                params = {"by": rng.choice(["ticket:category", "ticket:channel", None])}
                start, end = self.period(rng)
                if start and (end - start).days >= 28:
                    params.update({"from": str(start), "to": str(end)})
                qs = urllib.parse.urlencode({k: v for k, v in params.items() if v})
                await self.call(http, "spikes", "GET", "/api/v1/spikes" + (f"?{qs}" if qs else ""),
                                self.read)
            elif action == "ingest":
                await self.ingest_batch(http, rng, i, n)
            else:
                await self.survey(http, rng)
        http.close()

    async def ingest_batch(self, http, rng, client, n):
        size = rng.choice([1, 1, 1, 2, 5, 10, 20])  # a help desk's pushes, mostly small
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        tickets, events = [], []
        for k in range(size):
            tid = f"soak-{self.run}-{client}-{n}-{k}"
            created = now - dt.timedelta(minutes=30, seconds=rng.randrange(600))
            tickets.append({
                "ticket_id": tid, "created_at": iso(created),
                "channel": rng.choice(self.values["ticket:channel"] or ["email"]),
                "category": rng.choice(self.values["ticket:category"] or ["general"]),
                "priority": rng.choice(self.values["ticket:priority"] or ["normal"]),
                "team": rng.choice(self.values["ticket:team"] or ["soak"]),
                "customer_id": f"soak-customer-{rng.randrange(5000)}", "tier": self.tier})
            reply = created + dt.timedelta(seconds=rng.randrange(60, 900))
            solved = reply + dt.timedelta(seconds=rng.randrange(60, 600))
            agent = f"soak-agent-{rng.randrange(20)}"
            events += [
                {"event_id": f"{tid}-m", "ticket_id": tid, "at": iso(created), "kind": "message",
                 "author_role": "customer", "public": True},
                {"event_id": f"{tid}-r", "ticket_id": tid, "at": iso(reply), "kind": "message",
                 "author_role": "agent", "author_id": agent, "agent_id": agent, "public": True},
                {"event_id": f"{tid}-s", "ticket_id": tid, "at": iso(solved), "kind": "status",
                 "status": "solved", "author_role": "agent", "author_id": agent}]
        accepted = await self.post_records(http, "ingest_tickets", "tickets", tickets, "ticket_id")
        if not accepted:
            return
        for tid in accepted:
            if tid not in self.tickets:
                self.tickets[tid] = set()
                self.ticket_list.append(tid)
        events = [e for e in events if e["ticket_id"] in accepted]
        for eid_tid in await self.post_records(http, "ingest_events", "ticket_events", events,
                                               "event_id", key2="ticket_id"):
            eid, tid = eid_tid
            self.tickets[tid].add(eid)
            self.events += 1

    async def post_records(self, http, kind, entity, records, key, key2=None):
        """Posts records as NDJSON; returns the keys (or (key, key2)) the server accepted."""
        body = "\n".join(json.dumps(r) for r in records) + "\n"
        r = await self.call(http, kind, "POST", f"/api/v1/records/{entity}", self.ingest, body,
                            "application/x-ndjson")
        if r is None:
            self.uncertain[kind] += 1
            return set()
        if not r.ok:
            return set()
        answer = r.json() or {}
        rejected = answer.get("rejected") or []
        if rejected:
            self.stats.error(kind, f"rejected: {rejected[0].get('reason', '')}"[:80])
        bad = {x.get("line") for x in rejected}
        kept = [rec for line, rec in enumerate(records, 1) if line not in bad]
        if answer.get("accepted") != len(kept):
            self.stats.error(kind, f"accepted {answer.get('accepted')} of {len(records)} "
                                   f"with {len(rejected)} rejected")
            return set()
        return {(rec[key], rec[key2]) if key2 else rec[key] for rec in kept}

    async def survey(self, http, rng):
        pool = self.ticket_list if self.ticket_list and rng.random() < 0.7 else self.store_ids
        if not pool:
            return
        r = await self.call(http, "survey_link", "POST", "/api/v1/surveys/links", self.ingest,
                            json.dumps({"survey": "csat", "ticket_id": rng.choice(pool)}),
                            "application/json", expect=(200, 201))
        if r is None or not r.ok:
            return
        link = r.json() or {}
        url, link_id = link.get("url"), link.get("link_id")
        if not url or not link_id:
            self.stats.error("survey_link", "answer without url or link_id")
            return
        if rng.random() < 0.25:  # an e-mail button: the link with a score pre-chosen
            url = next((o["url"] for o in link.get("one_click", []) if o.get("score") == 4), url)
        path = urllib.parse.urlsplit(url).path if url.startswith("http") else url
        r = await self.call(http, "survey_page", "GET", path)
        if r is not None and r.ok and b"<form" not in r.body:
            self.stats.error("survey_page", "200 without a form")
        form = "score=4" + ("&comment=soak+test" if rng.random() < 0.3 else "")
        r = await self.call(http, "survey_answer", "POST", path, body=form,
                            ctype="application/x-www-form-urlencoded", origin=True)
        if r is None:
            self.uncertain["survey_answer"] += 1
            return
        if not r.ok:
            return
        self.answers.append(link_id)
        if rng.random() < 0.1:  # a double click: the link is single-use
            await self.call(http, "survey_reuse", "POST", path, body="score=5",
                            ctype="application/x-www-form-urlencoded", expect=(409,), origin=True)

    # ---- slow clients --------------------------------------------------------------------------
    async def slowloris(self, j):
        rng = random.Random(self.args.seed * 7919 + j)
        tally = self.slow["slowloris"]
        await asyncio.sleep(rng.random() * 3)
        request = (f"GET /api/v1/sla HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                   f"User-Agent: vitals-soak-slowloris\r\nAccept: */*\r\n"
                   f"Authorization: Bearer {self.read}\r\n\r\n").encode()
        while not self.stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError as e:
                tally["errors"][f"connect: {e}"[:60]] += 1
                await self.sleep_or_stop(1)
                continue
            tally["opened"] += 1
            opened = time.monotonic()
            outcome, last = None, False
            answers = sum(tally["answers"].values())
            try:
                for k, byte in enumerate(request):
                    writer.write(bytes([byte]))
                    await writer.drain()
                    last = k == len(request) - 1
                    outcome = await self.wait_for_close(
                        reader, REQUEST_TIMEOUT if last else rng.uniform(2, 4), tally, opened)
                    if outcome is not None or self.stop.is_set():
                        break
                if last and sum(tally["answers"].values()) > answers:  # answered once all sent
                    tally["completed"] += 1
            except (ConnectionResetError, BrokenPipeError):
                tally["closed"].append(time.monotonic() - opened)
                outcome = "closed"
            except OSError as e:
                tally["errors"][f"{type(e).__name__}"] += 1
                outcome = "error"
            if outcome is None:
                tally["held"].append(time.monotonic() - opened)
            writer.close()

    async def wait_for_close(self, reader, seconds, tally, since):
        """Waits `seconds` for the server to answer or close the connection: None when it did
        neither, "closed" when it closed it (after an answer or not), "answered" when it
        answered and kept it open. Closes are noted in `tally` with the seconds since `since`."""
        end = time.monotonic() + seconds
        answered = False
        while not self.stop.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return "answered" if answered else None
            try:
                data = await asyncio.wait_for(reader.read(65536), min(left, 1.0))
            except asyncio.TimeoutError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            if not data:
                tally["closed"].append(time.monotonic() - since)
                return "closed"
            if data.startswith(b"HTTP/") and not answered:
                tally["answers"][int(data.split(b" ", 2)[1])] += 1
                answered = True
                end = min(end, time.monotonic() + 2)  # then see whether it closes
        return "answered" if answered else None

    async def idle(self, j):
        kind = "idle_after_request" if j % 2 == 0 else "idle_fresh"
        tally = self.slow[kind]
        await asyncio.sleep(random.Random(j).random() * 3)
        while not self.stop.is_set():
            http = Http(self.host, self.port)
            since = time.monotonic()
            try:
                tally["opened"] += 1
                if kind == "idle_after_request":
                    r = await asyncio.wait_for(http.request(
                        "GET", "/healthz", {"Authorization": f"Bearer {self.read}"}), REQUEST_TIMEOUT)
                    tally["answers"][r.status] += 1
                    since = time.monotonic()
                    if http.writer is None:  # the server closed it with the answer
                        tally["closed"].append(0.0)
                        continue
                else:
                    http.reader, http.writer = await asyncio.open_connection(self.host, self.port)
                outcome = await self.wait_for_close(http.reader, 1e9, tally, since)
                if outcome is None:
                    tally["held"].append(time.monotonic() - since)
            except (OSError, ConnectionError, asyncio.TimeoutError, ValueError) as e:
                tally["errors"][f"{type(e).__name__}: {e}"[:60]] += 1
                await self.sleep_or_stop(1)
            finally:
                http.close()

    async def sleep_or_stop(self, seconds):
        try:
            await asyncio.wait_for(self.stop.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    # ---- the server's memory ---------------------------------------------------------------------
    def sample(self, t0):
        pid = self.args.pid
        if not pid:
            return
        try:
            status = open(f"/proc/{pid}/status").read()
            fds = len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            self.server_gone = True
            self.stop.set()
            return
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        rss = int(fields.get("VmRSS", "0 kB").split()[0])
        threads = int(fields.get("Threads", "0").strip())
        self.samples.append((round(time.monotonic() - t0), rss, threads, fds))

    async def sampler(self, t0):
        http = Http(self.host, self.port)
        expected = time.monotonic()
        while not self.stop.is_set():
            self.sample(t0)
            r = await self.call(http, "metrics", "GET", "/metrics", self.read)
            if r is not None and r.ok:
                self.scraped = r.body.decode("utf-8", "replace")
            expected += self.args.sample_every
            await self.sleep_or_stop(max(0, expected - time.monotonic()))
            self.loop_lag = max(self.loop_lag, time.monotonic() - expected)
        http.close()

    # ---- the whole run -------------------------------------------------------------------------
    async def main(self):
        await self.setup()
        self.started_on = dt.datetime.now(dt.timezone.utc).date()
        check_http = Http(self.host, self.port)
        tickets_before, answers_before = await self.counts(check_http)
        t0 = time.monotonic()
        self.deadline = t0 + self.args.duration
        print(f"soak: {self.args.duration} s, {self.args.clients} clients, {self.args.slow} "
              f"slowloris, {self.args.idle} idle connections; run {self.run} (tier {self.tier})",
              flush=True)
        background = [asyncio.create_task(self.sampler(t0))]
        background += [asyncio.create_task(self.slowloris(j)) for j in range(self.args.slow)]
        background += [asyncio.create_task(self.idle(j)) for j in range(self.args.idle)]
        clients = [asyncio.create_task(self.client(i)) for i in range(self.args.clients)]
        progress = asyncio.create_task(self.progress(t0))
        await asyncio.gather(*clients)
        elapsed = time.monotonic() - t0
        self.sample(t0)
        r = await self.call(check_http, "metrics", "GET", "/metrics", self.read)
        if r is not None and r.ok:
            self.scraped = r.body.decode("utf-8", "replace")
        self.stop.set()
        progress.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        self.report(elapsed)
        failures = 0 if not self.server_gone else 1
        if self.server_gone:
            print("FAIL server: the server process is gone (crashed?)")
            return 1
        failures += await self.verify(check_http, tickets_before, answers_before)
        errors = self.stats.error_total()
        print(f"{'PASS' if errors == 0 else 'FAIL'} requests: {errors} errors (5xx other than "
              f"503 with Retry-After, unexpected 4xx, timeouts, connection errors)")
        failures += errors > 0
        print(f"{'PASS' if failures == 0 else 'FAIL'} soak: {failures} check(s) failed")
        return 1 if failures else 0

    async def progress(self, t0):
        while True:
            await asyncio.sleep(30)
            done = sum(self.stats.requests.values())
            rss = self.samples[-1][1] / 1024 if self.samples else float("nan")
            print(f"  {time.monotonic() - t0:5.0f} s: {done} requests, {self.stats.error_total()} "
                  f"errors, {len(self.tickets)} tickets and {len(self.answers)} answers "
                  f"acknowledged, RSS {rss:.0f} MB", flush=True)

    def report(self, elapsed):
        s = self.stats
        print(f"\n== requests ({elapsed:.0f} s, {self.args.clients} clients; "
              f"{sum(s.requests[k] for k in KINDS) / elapsed:.1f} requests/s)")
        print(f"{'kind':<16}{'requests':>9}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}"
              f"{'errors':>8}{'503s':>6}")
        for kind in KINDS:
            if not s.requests[kind]:
                continue
            lat = s.latency[kind]
            print(f"{kind:<16}{s.requests[kind]:>9}{percentile(lat, 50):>10.1f}"
                  f"{percentile(lat, 99):>10.1f}{max(lat, default=float('nan')):>10.1f}"
                  f"{sum(s.errors[kind].values()):>8}{s.busy[kind]:>6}")
        if s.error_total():
            print("errors:")
            for kind in s.errors:
                for what, n in s.errors[kind].most_common():
                    print(f"  {kind}: {what} ×{n}")
        print(f"stale keep-alive connections resent once: {STALE_RETRIES[0]}; "
              f"requests whose outcome is unknown: {dict(self.uncertain) or 0}; "
              f"client event-loop lag max {self.loop_lag * 1000:.0f} ms")
        print(f"acknowledged: {len(self.tickets)} tickets, {self.events} events, "
              f"{len(self.answers)} survey answers "
              f"({(len(self.tickets) + self.events) / elapsed:.0f} records/s)")

        print("\n== slow clients (closed by the server: count, seconds open min/median/max)")
        for kind, t in self.slow.items():
            closed = sorted(t["closed"])
            held = sorted(t["held"])
            line = f"{kind:<19} opened {t['opened']:>4}, closed by server {len(closed):>4}"
            if closed:
                line += (f" after {closed[0]:.1f}/{closed[len(closed) // 2]:.1f}/"
                         f"{closed[-1]:.1f} s")
            line += f"; held open to the end {len(held)}"
            if held:
                line += f" (up to {held[-1]:.0f} s)"
            if t["completed"]:
                line += f"; requests completed {t['completed']}"
            if t["answers"]:
                line += f"; answers {dict(t['answers'])}"
            if t["errors"]:
                line += f"; errors {dict(t['errors'])}"
            print(line)

        if self.scraped:
            by_status, values = Counter(), {}
            for line in self.scraped.splitlines():
                if line.startswith("vitals_http_requests_total{"):
                    status = line.split('status="', 1)[1].split('"', 1)[0]
                    by_status[status] += int(float(line.rsplit(" ", 1)[1]))
                elif line and not line.startswith("#") and "{" not in line:
                    name, _, value = line.partition(" ")
                    values[name] = value
            wanted = ["vitals_commits_total", "vitals_records_committed_total",
                      "vitals_query_cache_hits_total", "vitals_query_cache_misses_total",
                      "vitals_ingest_queue_depth"]
            print("server's /metrics at the last scrape: requests by status "
                  f"{dict(sorted(by_status.items()))}; "
                  + ", ".join(f"{k[7:]} {values[k]}" for k in wanted if k in values))

        if self.samples:
            print(f"\n== server RSS every {self.args.sample_every:.0f} s (MB), threads, open files")
            print("  " + " ".join(f"{rss / 1024:.0f}" for _, rss, _, _ in self.samples))
            rss = [r for _, r, _, _ in self.samples]
            first, last = self.samples[0], self.samples[-1]
            mid = self.samples[len(self.samples) // 2]
            half = rss[len(rss) // 2:]
            slope = (last[1] - mid[1]) / 1024 / max(1, last[0] - mid[0]) * 60
            print(f"  RSS first {rss[0] / 1024:.1f}, last {rss[-1] / 1024:.1f}, max "
                  f"{max(rss) / 1024:.1f} MB; second half {min(half) / 1024:.1f}–"
                  f"{max(half) / 1024:.1f} MB ({slope:+.1f} MB/min); threads {first[2]} → {last[2]} (max "
                  f"{max(x[2] for x in self.samples)}); open files {first[3]} → {last[3]} (max "
                  f"{max(x[3] for x in self.samples)})")

    async def verify(self, http, tickets_before, answers_before):
        print("\n== verification")
        failures = 0
        tickets_after, answers_after = await self.counts(http)
        acked = len(self.tickets)
        counted = None if tickets_after is None else tickets_after - (tickets_before or 0)
        ok = counted is not None and counted >= acked
        failures += not ok
        extra = "" if not ok or counted == acked else (
            f"; {counted - acked} more than acknowledged (from requests whose answer was lost: "
            f"{self.uncertain['ingest_tickets']})")
        print(f"{'PASS' if ok else 'FAIL'} tickets: {acked} acknowledged, {counted} counted "
              f"(ticket_volume of tier {self.tier}){extra}")

        ids = list(self.tickets)
        random.Random(self.args.seed).shuffle(ids)
        ids = ids[:self.args.verify_sample]
        missing, missing_events, checked_events = [], [], 0
        queue = asyncio.Queue()
        for tid in ids:
            queue.put_nowait(tid)

        async def worker():
            nonlocal checked_events
            conn = Http(self.host, self.port)
            while not queue.empty():
                tid = queue.get_nowait()
                r = await self.call(conn, "verify", "GET",
                                    f"/api/v1/tickets/{urllib.parse.quote(tid)}", self.read)
                if r is None or not r.ok:
                    missing.append(tid)
                    continue
                timeline = {e.get("event_id") for e in (r.json() or {}).get("timeline", [])}
                checked_events += len(self.tickets[tid])
                missing_events.extend(sorted(self.tickets[tid] - timeline))
            conn.close()

        await asyncio.gather(*(worker() for _ in range(8)))
        ok = not missing and not missing_events
        failures += not ok
        print(f"{'PASS' if ok else 'FAIL'} ticket records: {len(ids) - len(missing)} of {len(ids)} "
              f"sampled acknowledged tickets found, with {checked_events - len(missing_events)} of "
              f"{checked_events} acknowledged events"
              + (f"; missing e.g. {(missing + missing_events)[:5]}" if not ok else ""))

        # Every acknowledged answer among the CSAT responses of the run's days.
        found, page, total = set(), 1, None
        while True:
            r = await self.call(http, "verify", "POST", "/api/v1/query", self.read, json.dumps(
                self.survey_window({"metrics": ["csat"], "records": True, "page": page,
                                    "page_size": 1000})), "application/json")
            if r is None or not r.ok:
                break
            answer = r.json() or {}
            records = answer.get("records", [])
            total = answer.get("n", total)
            found.update(rec.get("id") for rec in records)
            if len(records) < 1000:
                break
            page += 1
        lost = [a for a in self.answers if a not in found]
        counted = None if answers_after is None else answers_after - (answers_before or 0)
        ok = total is not None and not lost and counted is not None and counted >= len(self.answers)
        failures += not ok
        print(f"{'PASS' if ok else 'FAIL'} survey answers: {len(self.answers)} acknowledged, "
              f"{len(self.answers) - len(lost)} found among the {total} CSAT responses of the "
              f"run's days (csat n {answers_before} → {answers_after})"
              + (f"; missing e.g. {lost[:5]}" if lost else ""))
        return failures


def dims(row):
    d = row.get("dimensions", {})
    return dict(d) if isinstance(d, list) else d


def metric_n(r, key):
    if r is None or not r.ok:
        return None
    results = (r.json() or {}).get("results", [])
    if not results:
        return 0
    m = results[0].get("metrics", {})
    m = dict(m) if isinstance(m, list) else m
    return (m.get(key) or {}).get("n", 0)


def add_months(d, n):
    y, m = divmod(d.month - 1 + n, 12)
    return dt.date(d.year + y, m + 1, 1)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--admin-token", required=True)
    p.add_argument("--pid", type=int, default=int(env("VITALS_PID", "0")))
    p.add_argument("--duration", type=float, default=float(env("DURATION", "600")))
    p.add_argument("--clients", type=int, default=int(env("CLIENTS", "50")))
    p.add_argument("--slow", type=int, default=int(env("SLOW", "20")))
    p.add_argument("--idle", type=int, default=int(env("IDLE", "10")))
    p.add_argument("--seed", type=int, default=int(env("SEED", "1")))
    p.add_argument("--verify-sample", type=int, default=int(env("VERIFY_SAMPLE", "2000")))
    p.add_argument("--sample-every", type=float, default=10.0)
    p.add_argument("--mix", default=env("MIX", ""),
                   help="weights of the clients' actions, e.g. query=34,drill=10,ticket=8,sla=5,"
                        "spikes=4,ingest=24,survey=15 (the default)")
    p.add_argument("--run", default=env("RUN", ""), help="tag of this run's ids (default: time)")
    args = p.parse_args()
    sys.exit(asyncio.run(Soak(args).main()))


if __name__ == "__main__":
    main()
