#!/usr/bin/env python3
"""Times every dashboard tab in headless Chromium (bench/dashboard.sh runs it).

Usage: dashboard_tabs.py BASE_URL TOKEN
For each tab: open it, wait until no panel is loading; cold (first visit: every query is
computed) and warm (second visit: the server's result cache). Prints the wall time, the
number of /api/v1/query calls and the slowest call (from the browser's resource timings).
"""
import os
import sys
import time

from playwright.sync_api import sync_playwright

BASE, TOKEN = sys.argv[1].rstrip("/"), sys.argv[2]
CHROMIUM = os.environ.get("VITALS_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
TABS = ["overview", "volume", "responsiveness", "resolution", "satisfaction", "sla", "calls",
        "agents", "customers", "social"]
SETTLED = "() => document.querySelector('.cards') && !document.querySelector('[aria-busy=\"true\"]')"
TIMINGS = """() => performance.getEntriesByType('resource')
  .filter(e => e.name.includes('/api/v1/query')).map(e => e.duration)"""


def visit(page, tab):
    start = time.perf_counter()
    page.goto(f"{BASE}/?tab={tab}")
    page.wait_for_function(SETTLED, timeout=600000)
    elapsed = time.perf_counter() - start
    durations = page.evaluate(TIMINGS)
    return elapsed, len(durations), max(durations or [0])


with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.request.post(BASE + "/api/v1/session", data={"token": TOKEN})
    page = context.new_page()
    print(f"{'tab':<16}{'cold s':>8}{'warm s':>8}{'queries':>9}{'slowest cold query ms':>24}")
    for tab in TABS:
        cold, queries, slowest = visit(page, tab)
        warm, _, _ = visit(page, tab)
        print(f"{tab:<16}{cold:>8.2f}{warm:>8.2f}{queries:>9}{slowest:>24.0f}", flush=True)
    browser.close()
