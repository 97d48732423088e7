"""Benchmark: time to open the map for 1, 5 and 20 simultaneous signed-in sessions on the demo.

A copy of the demo workspace (``data/demo_workspace.gpkg``) gets 20 analyst accounts; one
Streamlit server serves it (``tests.browser_harness.running_app``); headless Chromium
(``/usr/bin/chromium``, ``--no-sandbox --disable-gpu``) with every request outside loopback
aborted opens N fresh sessions at the same moment (one browser context each). Each session loads
the sign-in page, signs in with **Username**, **Password** and **Log in**, and waits until the map
is drawn (Leaflet has painted the demo's features in the map's frame). A warm-up session runs
first and is not counted (the server's imports and first map build). Prints, per concurrency
level, the p50 and max of the time from opening the page to the drawn map, and of the time from
the Log in click to the drawn map. Bounded: 1 + 1 + 5 + 20 sessions, each given at most
``--timeout`` seconds. A benchmark, not a test: it prints, never asserts.

Usage: ``python benchmarks/bench_sessions.py [--levels 1 5 20] [--timeout 300]``
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.async_api import Browser, Route, async_playwright  # noqa: E402

from tests.browser_harness import CHROMIUM, CHROMIUM_ARGS, LOCAL_HOSTS, running_servers  # noqa: E402

PASSWORD = "bench sessions pass"
# drawn: the map frame's Leaflet holds painted features (vector paths, a canvas, clusters or markers)
DRAWN_JS = """() => { const f = [...document.querySelectorAll('iframe')].find(
    i => i.title === 'streamlit_folium.st_folium'); if (!f || !f.contentWindow) return false;
    const d = f.contentWindow.document; if (!d || !d.querySelector('.leaflet-container')) return false;
    return d.querySelectorAll('path.leaflet-interactive, canvas.leaflet-zoom-animated, .marker-cluster,'
        + ' .leaflet-marker-icon').length > 0; }"""


async def _loopback_only(route: Route) -> None:
    url = route.request.url
    if url.startswith(("data:", "blob:", "about:")) or (urlparse(url).hostname or "") in LOCAL_HOSTS:
        await route.continue_()
    else:
        await route.abort()


async def session(browser: Browser, url: str, name: str, timeout_s: float) -> tuple[float, float] | str:
    """Seconds from opening the page, and from the Log in click, to the drawn map; or the error."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        page.set_default_timeout(timeout_s * 1000)
        await page.route("**/*", _loopback_only)
        start = time.perf_counter()
        await page.goto(url)
        await page.get_by_label("Username", exact=True).fill(name)
        await page.get_by_label("Password", exact=True).fill(PASSWORD)
        clicked = time.perf_counter()
        await page.get_by_role("button", name="Log in").click()
        await page.wait_for_function(DRAWN_JS, polling=50)
        done = time.perf_counter()
        return done - start, done - clicked
    except Exception as exc:  # a session that fails is reported, not fatal to the others
        return f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    finally:
        await context.close()


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) the server process has used so far, from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_peak_mb(pid: int) -> float:
    """The server's peak resident memory so far (``VmHWM``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


async def levels(url: str, pid: int, counts: list[int], timeout_s: float, one_account: bool) -> None:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            warm = await session(browser, url, "bench0", timeout_s)
            print(f"warm-up session (not counted): {warm if isinstance(warm, str) else f'{warm[0]:.2f} s'}", flush=True)
            print(f"{'sessions':>8} {'open->map p50':>14} {'max':>7} {'login->map p50':>15} {'max':>7}  failed"
                  "  server CPU (per session)  server peak")
            for n in counts:
                cpu = server_cpu(pid)
                results = await asyncio.gather(*(session(browser, url, "bench0" if one_account else f"bench{i}",
                                                         timeout_s) for i in range(n)))
                used = server_cpu(pid) - cpu
                ok = [r for r in results if not isinstance(r, str)]
                failed = [r for r in results if isinstance(r, str)]
                if ok:
                    total, login = [r[0] for r in ok], [r[1] for r in ok]
                    print(f"{n:>8} {statistics.median(total):>13.2f}s {max(total):>6.2f}s"
                          f" {statistics.median(login):>14.2f}s {max(login):>6.2f}s  {len(failed):>6}"
                          f"  {used:8.1f} s ({used / n:5.2f} s)  {server_peak_mb(pid):8.0f} MB", flush=True)
                for f in failed:
                    print(f"         failed: {f}")
        finally:
            await browser.close()


def main() -> None:
    """Copy the demo, add the accounts, start the app and time each level."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--one-account", action="store_true",
                        help="every session signs in as the same analyst (one identity), not one account each")
    args = parser.parse_args()
    from layers.store.open import open_store
    from layers.store.workspace import DEFAULT_PATH
    from services import auth

    print(f"map for simultaneous signed-in sessions on the demo; load {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "demo.gpkg"
        shutil.copyfile(DEFAULT_PATH, ws)
        store = open_store(ws)
        for i in range(max(args.levels)):
            auth.add_account(store, f"bench{i}", "analyst", PASSWORD)
        env = {"HGWATCH_WORKSPACE": str(ws), "HGWATCH_BASEMAP": "none"}
        with running_servers(1, env=env, timeout_s=120) as (server,):
            asyncio.run(levels(server.url, server.proc.pid, args.levels, args.timeout, args.one_account))
    print(f"load afterwards {os.getloadavg()}")


if __name__ == "__main__":
    main()
