#!/usr/bin/env python3
"""Times every dashboard tab in headless Chromium (bench/dashboard.sh runs it).

Usage: dashboard_tabs.py BASE_URL TOKEN     (DASHBOARD_TABS="overview sla": only those tabs)
First the first visit after the server started (store pages and result cache cold). Then for
each tab: a visit in UTC (other requests over the same rows: warms the store as a running
server's is, leaves the tab's own requests uncached), then the tab's first screen (cards and
the panels in view loaded) and whole tab (scrolled through to the bottom without pausing,
every panel loaded), cold (every query computed) and warm (the server's result cache). Prints
the times, the number of /api/v1/query calls and the slowest cold call with its request.
DASHBOARD_REQUESTS=DIR writes each tab's cold requests to DIR/TAB.jsonl (one body a line,
slowest first), to replay with `vitals query --request`.
"""
import os
import sys
import time

from playwright.sync_api import sync_playwright

BASE, TOKEN = sys.argv[1].rstrip("/"), sys.argv[2]
CHROMIUM = os.environ.get("VITALS_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
TABS = os.environ.get("DASHBOARD_TABS", "").split() or ["overview", "volume", "responsiveness", "resolution", "satisfaction", "sla", "calls",
        "agents", "customers", "social"]
SETTLED = "() => document.querySelector('.cards') && !document.querySelector('[aria-busy=\"true\"]')"
# The first screen: the cards and every panel in the viewport loaded (panels further down may
# still be loading in the background).
IN_VIEW_SETTLED = """() => document.querySelector('.cards') && [...document.querySelectorAll('[aria-busy="true"]')]
  .every((e) => { const r = e.getBoundingClientRect(); return r.top >= innerHeight || r.bottom <= 0; })"""
# A reader scrolling down the tab: each panel not yet filled is brought into view for two
# frames (long enough for its observer to start it), without waiting for its answer.
SCROLL_THROUGH = """async () => {
  const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  for (const p of document.querySelectorAll('#main [data-pending]')) { p.scrollIntoView(); await frame(); }
}"""
TIMINGS = """() => performance.getEntriesByType('resource')
  .filter(e => e.name.includes('/api/v1/query')).map(e => e.duration)"""


def visit(page, tab, bodies, extra=""):
    start = time.perf_counter()
    page.goto(f"{BASE}/?tab={tab}{extra}")
    page.wait_for_function(IN_VIEW_SETTLED, timeout=600000)
    first = time.perf_counter() - start
    page.wait_for_function(SETTLED, timeout=600000)
    while page.locator("#main [data-pending]").count():
        page.evaluate(SCROLL_THROUGH)
        page.wait_for_function(SETTLED, timeout=600000)
    whole = time.perf_counter() - start
    durations = page.evaluate(TIMINGS)
    return first, whole, len(durations), max(bodies, key=lambda b: b[0], default=(0, ""))


with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.request.post(BASE + "/api/v1/session", data={"token": TOKEN})
    page = context.new_page()
    bodies = []
    page.on("requestfinished", lambda r: bodies.append((r.timing["responseEnd"], r.post_data or ""))
            if "/api/v1/query" in r.url else None)
    # The first visit after the server started: the store's pages are not in memory yet either.
    start_first, start_whole, _, _ = visit(page, TABS[0], [], "&tz=UTC")
    print(f"first visit after the server started ({TABS[0]} in UTC; store and result cache cold): "
          f"first screen {start_first:.2f} s, whole tab {start_whole:.2f} s")
    print("cold: the result cache empty for the tab's queries, the store warmed by a visit in another zone")
    print(f"{'tab':<16}{'first screen cold/warm s':>26}{'whole tab cold/warm s':>24}{'queries':>9}  slowest cold query")
    for tab in TABS:
        if tab != TABS[0]:
            visit(page, tab, [], "&tz=UTC")
        bodies.clear()
        cold_first, cold_whole, queries, slowest = visit(page, tab, bodies)
        if os.environ.get("DASHBOARD_REQUESTS"):
            with open(os.path.join(os.environ["DASHBOARD_REQUESTS"], f"{tab}.jsonl"), "w") as out:
                out.writelines(body + "\n" for _, body in sorted(bodies, reverse=True))
        warm_first, warm_whole, _, _ = visit(page, tab, [])
        print(f"{tab:<16}{cold_first:>13.2f}/{warm_first:<12.2f}{cold_whole:>11.2f}/{warm_whole:<12.2f}{queries:>9}"
              f"  {slowest[0]:.0f} ms {slowest[1][:160]}", flush=True)
    browser.close()
