#!/usr/bin/env python3
"""Times every dashboard tab in headless Chromium (bench/dashboard.sh runs it).

Usage: dashboard_tabs.py BASE_URL TOKEN     (DASHBOARD_TABS="overview sla": only those tabs)
For each tab: open it and time its first screen (cards and the panels in view loaded) and
the whole tab (scrolled through to the bottom without pausing, every panel loaded); cold
(first visit: every query is
computed) and warm (second visit: the server's result cache). Prints the times, the number
of /api/v1/query calls and the slowest cold call with its request (resource timings).
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


def visit(page, tab, bodies):
    start = time.perf_counter()
    page.goto(f"{BASE}/?tab={tab}")
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
    print(f"{'tab':<16}{'first screen cold/warm s':>26}{'whole tab cold/warm s':>24}{'queries':>9}  slowest cold query")
    for tab in TABS:
        bodies.clear()
        cold_first, cold_whole, queries, slowest = visit(page, tab, bodies)
        warm_first, warm_whole, _, _ = visit(page, tab, [])
        print(f"{tab:<16}{cold_first:>13.2f}/{warm_first:<12.2f}{cold_whole:>11.2f}/{warm_whole:<12.2f}{queries:>9}"
              f"  {slowest[0]:.0f} ms {slowest[1][:160]}", flush=True)
    browser.close()
