"""Benchmark: time to open the map for 1, 5 and 20 simultaneous signed-in sessions, and what they cost the server.

The store: a copy of the demo workspace, or with ``--sites N`` a national one (the N sites and N/10 water
segments of ``bench_check.py`` imported, one recorded check: ``bench_api._national``); ``--postgis`` puts it
on a throwaway PostGIS. It gets 20 analyst accounts (``--one-account``: every session signs in as the
first). One Streamlit server serves it (``tests.browser_harness.running_servers``); headless Chromium
(``/usr/bin/chromium``, ``--no-sandbox --disable-gpu``) with every request outside loopback aborted opens N
fresh sessions at the same moment (one browser context each). Each session loads the sign-in page, signs
in with **Username**, **Password** and **Log in**, and waits until the map is drawn (Leaflet has painted
features in the map's frame: vector paths, markers, or pixels on a vector-tile canvas). A warm-up session
runs first and is not counted (the server's imports and first map build). ``--api-rate R``: meanwhile a
partner's client asks the partner API (a server on the same store) for R items pages a second, each one
an audit row in the store, as a partner crawling the API would.

Prints, per concurrency level, the p50 and max of the time from opening the page to the drawn map and
from the Log in click to the drawn map, and the server's CPU seconds (``/proc``; its children excluded)
and peak memory. ``--tree DIR`` runs the same levels on another checkout of HgWatch (``git archive``) on
the same store, one after the other: a before/after in one run. The clients share the machine's cores
with the server. Bounded: 1 + 1 + 5 + 20 sessions a tree, each given at most ``--timeout`` seconds.
A benchmark, not a test: it prints, never asserts.

Usage: ``python benchmarks/bench_sessions.py [--levels 1 5 20] [--timeout 300] [--sites N] [--postgis]
[--one-account] [--api-rate R] [--tree DIR]``
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
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
    if (d.querySelectorAll('path.leaflet-interactive, canvas.leaflet-zoom-animated, .marker-cluster,'
        + ' .leaflet-marker-icon').length > 0) return true;
    return [...d.querySelectorAll('.leaflet-hgwTiles-pane canvas')].some(c => {
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < px.length; i += 4) { if (px[i] > 0) return true; } return false; }); }"""


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


@contextlib.contextmanager
def partner_crawl(tree: Path, where: list[str], key: str, rate: float, env: dict[str, str]) -> Iterator[list[int]]:
    """``tree``'s partner API server on the store and a client with the partner's ``key`` asking it
    ``rate`` items pages a second (each an audit row) until the block ends; yields the answered statuses."""
    from bench_api import _get, _port

    port = _port()
    log = tempfile.TemporaryFile(mode="w+")  # the server's log: the reason of any answer but 200 is printed
    server = subprocess.Popen([sys.executable, "-m", "api", "--port", str(port), *where], cwd=tree, env=env,
                              stdout=subprocess.DEVNULL, stderr=log)
    statuses: list[int] = []
    stop = threading.Event()

    def crawl() -> None:
        page = 0
        while not stop.wait(1.0 / rate):
            try:
                con = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                statuses.append(_get(con, f"/collections/mining_sites/items?limit=10&offset={page * 10 % 100}",
                                     key)[0])
                con.close()
                page += 1
            except OSError:
                pass
    client = threading.Thread(target=crawl, daemon=True)
    try:
        client.start()
        yield statuses
    finally:
        stop.set()
        client.join(timeout=150)
        server.terminate()
        server.wait(timeout=30)
        log.seek(0)
        errors = [line.rstrip() for line in log if "Error" in line or "error" in line]
        if errors:
            print(f"  partner API server log, {len(errors)} error line(s), the last: {errors[-3:]}")
        log.close()


def main() -> None:
    """Make the store, add the accounts, start each tree's app and time each level."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--one-account", action="store_true",
                        help="every session signs in as the same analyst (one identity), not one account each")
    parser.add_argument("--sites", type=int, default=0, help="a national store of this many sites (0: the demo)")
    parser.add_argument("--postgis", action="store_true", help="the store on a throwaway PostGIS")
    parser.add_argument("--api-rate", type=float, default=0.0, help="partner API items pages a second meanwhile")
    parser.add_argument("--tree", help="also time this other checkout of HgWatch on the same store (before/after)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_api import _national
    from bench_store_write import bench_database, store_free_env

    from layers.store.open import open_store
    from layers.store.workspace import DEFAULT_PATH
    from services import auth, keys

    print(f"map for simultaneous signed-in sessions; load {os.getloadavg()}", flush=True)
    env = dict(store_free_env(), HGWATCH_BASEMAP="none", NO_PROXY="127.0.0.1")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        folder = Path(tmp)
        if args.postgis:
            from tests.postgis import running_server
            url = bench_database(stack.enter_context(running_server()), durable_commits=True)
            where, app_env = ["--database-url", url], {"HGWATCH_DATABASE_URL": url}
            if not args.sites:
                subprocess.run([sys.executable, str(ROOT / "cli.py"), *where, "db", "upgrade", "--from-workspace",
                                str(DEFAULT_PATH)], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        else:
            ws = folder / "ws.gpkg"
            where, app_env = ["--workspace", str(ws)], {"HGWATCH_WORKSPACE": str(ws)}
            if not args.sites:
                shutil.copyfile(DEFAULT_PATH, ws)
        if args.sites:
            _national(folder, where, args.sites, env)
        store = open_store(where[1])
        for i in range(max(args.levels)):
            auth.add_account(store, f"bench{i}", "analyst", PASSWORD)
        auth.add_account(store, "crawler", "partner", PASSWORD)
        key = keys.create(store, "crawler")
        print(f"store: {'PostGIS' if args.postgis else 'GeoPackage'}, layers "
              f"{[(i.layer, i.rows) for i in store.layers()]}", flush=True)
        for tree in [ROOT] + ([Path(args.tree).resolve()] if args.tree else []):
            tree_env = dict(env, **app_env, PYTHONPATH=str(tree))
            with contextlib.ExitStack() as during:
                crawled = during.enter_context(partner_crawl(tree, where, key, args.api_rate, tree_env)) \
                    if args.api_rate else None
                with running_servers(1, env=tree_env, cwd=tree, timeout_s=120) as (server,):
                    print(f"{tree}:", flush=True)
                    asyncio.run(levels(server.url, server.proc.pid, args.levels, args.timeout, args.one_account))
                if crawled is not None:
                    print(f"  partner API pages answered meanwhile: {len(crawled)}, statuses {sorted(set(crawled))}")
    print(f"load afterwards {os.getloadavg()}")


if __name__ == "__main__":
    main()
