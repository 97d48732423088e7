"""Map benchmark (not a test): time to first drawn map, bytes delivered before it, time for a
filter change, in headless Chromium with the network cut to loopback.

Cases: the demo workspace (HgWatch rows against a naive folium.GeoJson of the raw layers), and
10,000 sites + 50,000 water segments and 100,000 sites + 100,000 water segments, each drawn
with vector tiles (PMTiles from tippecanoe, protomaps-leaflet) and with today's rows path on the
same data in the same run. For vector tiles "cold" is a server just started that finds no
archive (the first build is included), "cold, built" one that finds the archives on disk.
Every server (and ``--server-stages``' child) reads its compiled modules from one cache
(``bytecode_env``), filled before the first one starts (``warm_bytecode``), as a deployed server
does: the shell's ``PYTHONDONTWRITEBYTECODE`` / ``PYTHONPYCACHEPREFIX`` no longer decide whether a
cold start compiles every module from source. Prints figures and ratios; never fails on time.
``--trace`` prints where each first visit's time went: the requests of the page and of the map's
iframe, the WebSocket messages, and ("srv") the script run's own steps on the same clock (the
page's imports, every ``Workspace.read``, ``build_map``, the end of the run; the page then runs as
``TIMED_APP``, the same page with those steps timed).

    .venv/bin/python benchmarks/bench_map.py [--quick] [--skip-rows-100k] [--cases large] [--trace]
        [--tree DIR]      # DIR: another tree (git archive COMMIT | tar -x -C DIR), timed in the same run
    .venv/bin/python benchmarks/bench_map.py --server-stages [--tree DIR]
"""
from __future__ import annotations

import argparse
import base64
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

if __package__ in (None, ""):  # run as a script: the project's root holds tests/ ($BENCH_TREE: another tree's code)
    import sys
    sys.path.insert(0, os.environ.get("BENCH_TREE") or str(Path(__file__).resolve().parents[1]))

from layers.store.workspace import DEFAULT_PATH, Workspace
from services.tiles import TILES_DIR
from tests.browser_harness import ROOT, NetLog, launch, running_servers

TARGETS = {"first_s": 3.0, "cold_s": 6.0, "mb": 5.0, "ratio": 5.0}
# drawn: every vector-tile layer has painted the tiles in view, or (rows) a path, a canvas or a
# cluster is on the map
DRAWN_JS = """() => { const f = [...document.querySelectorAll('iframe')].find(
    i => i.title === 'streamlit_folium.st_folium'); if (!f) return false;
    const w = f.contentWindow; if (!w || !w.map_div || !w.map_div.eachLayer || w.map_div.__bench) return false;
    let tiled = 0, pending = 0;
    w.map_div.eachLayer(l => { if (l.hgwCfg) { tiled++; if (!l.hgwDrawn) pending++; } });
    if (tiled) return pending === 0;
    const d = w.document; return d.querySelectorAll(
    'path.leaflet-interactive, canvas.leaflet-zoom-animated, .marker-cluster').length > 0; }"""
# where the time of one load went: resource timings of the page and of the map's iframe, on one
# clock (ms since the page's navigation started), and the moment the map was found drawn
TIMELINE_JS = """() => { const top = performance.timeOrigin, out = [];
    const add = (t0, es, where) => es.forEach(e => out.push([where, e.name.replace(location.origin, ''),
        t0 - top + e.startTime, t0 - top + e.responseEnd, e.transferSize || e.encodedBodySize || 0]));
    add(top, performance.getEntriesByType('resource'), 'page');
    const f = [...document.querySelectorAll('iframe')].find(i => i.title === 'streamlit_folium.st_folium');
    let drawn = performance.now();
    if (f) { const w = f.contentWindow; add(w.performance.timeOrigin, w.performance.getEntriesByType('resource'), 'map');
        const at = w.performance.timeOrigin - top, nav = w.performance.getEntriesByType('navigation')[0];
        out.push(['map', '(iframe document)', at, at, 0]);
        if (nav) out.push(['map', '(iframe DOMContentLoaded)', at + nav.domContentLoadedEventStart,
                           at + nav.domContentLoadedEventEnd, 0]); }
    out.push(['page', '(drawn, found by polling)', drawn, drawn, 0]);
    return out.sort((a, b) => a[2] - b[2]); }"""
MARK_JS = """() => { const f = [...document.querySelectorAll('iframe')].find(
    i => i.title === 'streamlit_folium.st_folium'); f.contentWindow.map_div.__bench = 1; }"""


def large_workspace(path: Path, *, sites: int = 10_000, segments: int = 50_000,
                    seed: int = 1) -> Path:
    """A synthetic workspace: ``sites`` points and ``segments`` 5-vertex river segments
    (100 per river) in a 3 x 3 degree box in south-west Ghana."""
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(-3.2, -0.2, sites), rng.uniform(4.8, 7.8, sites)
    frame = gpd.GeoDataFrame({
        "site_id": [f"B{i:05d}" for i in range(sites)],
        "name": [f"bench site {i}" for i in range(sites)],
        "status": rng.choice(["active", "inactive", "abandoned"], sites),
        "uses_mercury": rng.random(sites) < 0.7,
        "amalgamation": rng.choice(["whole_ore", "concentrate", "none"], sites),
        "burning": rng.choice(["open", "retort", "none"], sites),
        "processing_method": rng.choice(["amalgamation", "gravity", "cyanidation"], sites),
        "gold_kg_per_year": np.round(rng.uniform(0.1, 20, sites), 2),
        "admin_area": rng.choice(["North", "Centre", "South"], sites),
        "survey_date": pd.to_datetime("2024-01-01") + pd.to_timedelta(
            rng.integers(0, 365, sites), unit="D"),
    }, geometry=shapely.points(lon, lat), crs=4326)
    rivers = segments // 100
    lines, ids, names = [], [], []
    for r in range(rivers):
        x, y = rng.uniform(-3.2, -0.2), rng.uniform(4.8, 7.8)
        for s in range(100):
            steps = rng.normal(0, 0.002, (4, 2)) + np.array([0.001, 0.0005])
            pts = np.vstack([[x, y], np.array([x, y]) + np.cumsum(steps, axis=0)])
            lines.append(shapely.linestrings(pts))
            x, y = pts[-1]
            ids.append(f"R{r:03d}-{s:03d}")
            names.append(f"River {r}")
    water = gpd.GeoDataFrame({"water_id": ids, "name": names, "kind": "river"},
                             geometry=lines, crs=4326)
    ws = Workspace(path)
    ws.write_layer("mining_sites", frame, source="benchmark synthetic", synthetic=True)
    ws.write_layer("water_bodies", water, source="benchmark synthetic", synthetic=True)
    return path


# bench_app.py run with the times of its script run written to $BENCH_RUNTIMES (--trace): the page's
# imports, every Workspace.read and build_map call, and the end of the run, on the machine's clock
TIMED_APP = """import ast, os, time
from pathlib import Path

def _mark(what, begin, end=None):
    with open(os.environ["BENCH_RUNTIMES"], "a") as fh:
        fh.write(f"{begin:.4f} {end if end is not None else begin:.4f} {what}\\n")

def _timed(what, inner):
    def wrapper(*a, **k):
        t0 = time.time()
        try:
            return inner(*a, **k)
        finally:
            _mark(what, t0, time.time())
    wrapper.bench_timed = True
    return wrapper

_t0 = time.time()
_path = Path(__file__).with_name("bench_app.py")
_tree = ast.parse(_path.read_text(encoding="utf-8"), str(_path))
_head = [n for n in _tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
_rest = [n for n in _tree.body if not isinstance(n, (ast.Import, ast.ImportFrom))]
_ns = dict(globals(), __file__=str(_path))
exec(compile(ast.Module(_head, []), str(_path), "exec"), _ns)
_mark("script run: imports of the page", _t0, time.time())
import layers.store.workspace as _ws
if not getattr(_ws.Workspace.read, "bench_timed", False):  # once per process, not once per run
    _ws.Workspace.read = _timed("script run: Workspace.read", _ws.Workspace.read)
_ns["build_map"] = _timed("script run: build_map (archives looked up or built)", _ns["build_map"])
exec(compile(ast.Module(_rest, []), str(_path), "exec"), _ns)
_mark("script run: ends", _t0, time.time())
"""


PYCACHE = Path(tempfile.gettempdir()) / "hgw-bench-pycache"  # the compiled modules of every server measured


def bytecode_env() -> dict[str, str]:
    """Python's bytecode settings for every process this benchmark times: compiled modules read from
    and written to ``PYCACHE``, whatever the shell says. With ``PYTHONDONTWRITEBYTECODE`` set and a
    ``PYTHONPYCACHEPREFIX`` of one's own (this project's helpers' shells), Python looks for compiled
    modules in that folder only and never writes one, so every server compiled pandas, folium,
    Streamlit's page modules and the app's own from source on its first script run: seconds of a
    cold start that a deployed server, whose packages pip compiled and whose own modules its first
    start compiled, never pays."""
    return {"PYTHONPYCACHEPREFIX": str(PYCACHE), "PYTHONDONTWRITEBYTECODE": ""}


def warm_bytecode(root: Path = ROOT) -> float:
    """Import the benchmark page's modules (``bench_app.py``'s imports, the server's own, the
    dashboard's service) once under ``bytecode_env`` with ``root``'s code, so that each server
    measured afterwards reads them compiled. Seconds taken (the compile, when ``PYCACHE`` lacked them)."""
    import ast
    import subprocess
    import sys
    tree = ast.parse(Path(__file__).with_name("bench_app.py").read_text(encoding="utf-8"))
    imports = [ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
               and not (isinstance(n, ast.ImportFrom) and n.module == "__future__")]
    code = "\n".join(imports + ["import streamlit.web.bootstrap", "import services.hgwatch"])
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, capture_output=True,
                   env={**os.environ, **bytecode_env(), "PYTHONPATH": str(root)})
    return time.perf_counter() - t0


def bench_app(tmp: Path, root: Path = ROOT) -> Path:
    """bench_app.py in ``tmp`` beside a link to the static folder of ``root`` (this project, or
    another tree whose code the page then runs: its tiles are written there), because Streamlit
    serves /app/static/ from the folder next to the main script."""
    script = tmp / "bench_app.py"
    shutil.copyfile(Path(__file__).with_name("bench_app.py"), script)
    vendor = root / "static" / "vendor"
    if root != ROOT and (vendor.is_symlink() or not vendor.exists()):
        # another tree: a copy of our installed Leaflet and protomaps files (Streamlit serves no
        # file whose real path lies outside the static folder)
        if vendor.is_symlink():
            vendor.unlink()
        shutil.copytree(ROOT / "static" / "vendor", vendor)
    (tmp / "static").symlink_to(root / "static", target_is_directory=True)
    (tmp / "bench_app_timed.py").write_text(TIMED_APP, encoding="utf-8")  # --trace runs this one
    return script


def _load(browser, url: str, timeout_s: float, trace: bool = False,
          runtimes: Path | None = None) -> tuple[object, float, dict[str, int]]:
    """Open ``url`` in a fresh context; seconds until the map has drawn, bytes by kind. With
    ``trace``, print the load's timeline, with the script run's own times from ``runtimes``."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    log = NetLog()
    context.route("**/*", log.route)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable", {})
    urls: dict[str, str] = {}
    got = {"streamlit shell": 0, "leaflet files": 0, "map component": 0, "websocket": 0, "tiles": 0}

    def kind(url: str) -> str:
        if "/app/static/vendor/" in url:
            return "leaflet files"
        if "/app/static/tiles/" in url:
            return "tiles"
        return "map component" if "/component/" in url else "streamlit shell"
    cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: got.__setitem__(
        kind(urls.get(e["requestId"], "")),
        got[kind(urls.get(e["requestId"], ""))] + int(e.get("encodedDataLength", 0))))

    frames: list[tuple[float, int]] = []  # (CDP timestamp, bytes) of every WebSocket message
    start: list[float] = []  # CDP timestamp of the page's own request

    def frame(e: dict) -> None:
        data = e["response"].get("payloadData", "")
        size = len(base64.b64decode(data)) if e["response"].get("opcode") == 2 else len(data)
        got["websocket"] += size
        frames.append((float(e["timestamp"]), size))
    cdp.on("Network.webSocketFrameReceived", frame)
    cdp.on("Network.requestWillBeSent", lambda e: start.append(float(e["timestamp"])) if not start else None)
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function(DRAWN_JS, timeout=timeout_s * 1000, polling=50)
    seconds = time.perf_counter() - t0
    if trace:
        server: list[tuple[float, float, str]] = []
        if runtimes is not None and runtimes.is_file():
            origin = float(page.evaluate("performance.timeOrigin")) / 1000  # the page's clock, in s since the epoch
            for line in runtimes.read_text(encoding="utf-8").splitlines():
                begin, end, what = line.split(" ", 2)
                if float(begin) >= origin:  # this load's run (an earlier one wrote before it)
                    server.append(((float(begin) - origin) * 1000, (float(end) - origin) * 1000, what))
        print_timeline(page.evaluate(TIMELINE_JS), [((t - start[0]) * 1000, n) for t, n in frames] if start else [],
                       server)
    return page, seconds, dict(got)  # a copy: later traffic is not this load


def print_timeline(entries: list[list[Any]], frames: list[tuple[float, int]],
                   server: Sequence[tuple[float, float, str]] = ()) -> None:
    """One line per request of the map's iframe (and per group of the page's own), with the
    WebSocket messages of the script run and the script run's own steps (``server``: begin, end,
    what; "srv"), in ms since navigation."""
    rows = [(e[2], e[3], e[0], str(e[1]), int(e[4])) for e in entries if e[0] == "map" or str(e[1]).startswith("(")]
    shell = [e for e in entries if e[0] == "page" and not str(e[1]).startswith("(")]
    if shell:
        rows.append((min(e[2] for e in shell), max(e[3] for e in shell), "page",
                     f"Streamlit shell: {len(shell)} files", sum(int(e[4]) for e in shell)))
    big = [f for f in frames if f[1] > 2000]
    if frames:
        rows.append((frames[0][0], frames[0][0], "ws", "first WebSocket message", frames[0][1]))
    rows += [(t, t, "ws", "WebSocket message (> 2 kB)", n) for t, n in big]
    rows += [(begin, end, "srv", what, 0) for begin, end, what in server]
    for begin, end, where, name, size in sorted(rows):
        print(f"    {begin:8.0f} -> {end:8.0f} ms  {where:4s} {size / 1e3:9.1f} kB  {name[-90:]}")


def measure(script: Path, workspace: Path, variant: str,
            timeout_s: float = 600, trace: bool = False, root: Path = ROOT) -> dict[str, float]:
    """In headless Chromium: a cold first visit (server just started: imports and map build
    included), a warm first visit (another visitor; server caches warm), then a filter change
    on the warm page (the filtered map is built for the first time). For vector tiles, a second
    server then finds the archives on disk ("cold, built")."""
    from playwright.sync_api import sync_playwright

    sub = f"bench-{os.getpid()}-{variant}-{workspace.stem}"
    runtimes = script.with_name(f"runtimes-{variant}-{workspace.stem}.txt") if trace else None
    env = {"BENCH_WORKSPACE": str(workspace), "BENCH_VARIANT": variant, "PYTHONPATH": str(root),
           "BENCH_TILES": sub, "BENCH_RUNTIMES": str(runtimes or ""), **bytecode_env()}
    if trace:  # the same page, its script run's steps timed (TIMED_APP)
        script = script.with_name("bench_app_timed.py")
    try:
        with running_servers(1, str(script), env=env, cwd=root) as (server,), sync_playwright() as p:
            url = server.url
            browser = launch(p)
            if trace:
                print("  timeline of the cold first visit:", flush=True)
            _, cold, _ = _load(browser, url, timeout_s, trace, runtimes)
            if trace:
                print("  timeline of the warm first visit:", flush=True)
            page, warm, got = _load(browser, url, timeout_s, trace, runtimes)
            page.evaluate(MARK_JS)  # type: ignore[attr-defined]
            t1 = time.perf_counter()
            page.get_by_text("active", exact=True).click(timeout=timeout_s * 1000)  # type: ignore[attr-defined]
            page.wait_for_function(DRAWN_JS, timeout=timeout_s * 1000, polling=50)  # type: ignore[attr-defined]
            change = time.perf_counter() - t1
            browser.close()
        built = cold
        if variant == "tiles":
            with running_servers(1, str(script), env=env, cwd=root) as (server,), sync_playwright() as p:
                url = server.url
                browser = launch(p)
                if trace:
                    print("  timeline of the cold first visit, archives on disk:", flush=True)
                _, built, _ = _load(browser, url, timeout_s, trace, runtimes)
                browser.close()
    finally:
        shutil.rmtree(root / TILES_DIR.relative_to(ROOT) / sub, ignore_errors=True)
    map_bytes = got["websocket"] + got["leaflet files"] + got["map component"] + got["tiles"]
    return {"cold_s": cold, "built_s": built, "first_s": warm, "filter_s": change,
            "mb": map_bytes / 1e6, "total_mb": (map_bytes + got["streamlit shell"]) / 1e6,
            "tiles_mb": got["tiles"] / 1e6, "shell_mb": got["streamlit shell"] / 1e6}


def _row(case: str, variant: str, r: dict[str, float]) -> str:
    built = f", cold built {r['built_s']:5.2f} s" if variant in ("tiles", "tree") else ""
    return (f"{case:26s} {variant:8s} first map {r['first_s']:6.2f} s (cold {r['cold_s']:6.2f} s"
            f"{built})  map bytes {r['mb']:6.2f} MB (tiles {r['tiles_mb']:5.2f}, page "
            f"{r['total_mb']:6.2f} MB)  filter change {r['filter_s']:6.2f} s")


def _load_avg() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def stages_child(workspace: Path) -> None:
    """One map-page run of the dashboard's own path (``services.hgwatch``, the local analyst,
    every rule) on ``workspace``, step by step: imports, reading the layers, the rules,
    the headline, the map with its archives built, the map again in a fresh service with the
    archives on disk (inside it: data_key hashing, the rule zone, the tiled layers), pickling
    and the st_folium payload. Prints one line per step."""
    import pickle
    times: dict[str, float] = {}

    def step(name: str, make: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        out = make()
        times[name] = time.perf_counter() - t0
        print(f"  {name:44s} {times[name]:6.2f} s", flush=True)
        return out

    def timed(module: object, attr: str, label: str) -> None:
        inner = getattr(module, attr)

        def wrapper(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return inner(*a, **k)
            finally:
                times[label] = times.get(label, 0.0) + time.perf_counter() - t0
        setattr(module, attr, wrapper)
    step("import services (store, rules, view)", lambda: __import__("services.hgwatch"))
    step("import map modules (folium, st_folium)", lambda: (__import__("services.tiles"), __import__("streamlit_folium")))
    import streamlit_folium as sf

    import render.map.mapview as mv
    import render.map.tiles as rt
    import services.tiles as stl
    from services.auth import LOCAL
    from services.hgwatch import HgWatch, Query
    from settings import Settings
    sub = f"bench-stages-{os.getpid()}"
    stl.TILES_DIR = stl.TILES_DIR / sub
    if "folder: Path = TILES_DIR" in __import__("inspect").getsource(stl.map_options):  # an older tree
        stl.map_options.__defaults__ = (stl.TILES_DIR, stl.TILES_URL)
    for module, attr, label in ((rt, "data_key", "    inside: data_key hashing"),  # (an older tree lacks some)
                                (rt, "build", "    inside: tippecanoe + rows files"),
                                (mv, "rule_zone", "    inside: rule zone buffers"),
                                (mv, "zone_buffers", "    inside: rule zone buffers (tiled violations)"),
                                (mv, "_add_violations", "    inside: violations (zone, rings)"),
                                (mv, "tiled_layers", "    inside: tiled layers (lookup or build)")):
        if hasattr(module, attr):
            timed(module, attr, label)
    try:
        for fresh in ("archives built", "archives on disk"):
            svc = HgWatch(Settings.from_env(None, workspace=workspace), LOCAL)
            q = Query(rule_ids=tuple(r.id for r in svc.rules().rules))
            step(f"read layers ({fresh})", svc.frames)
            step("rules (violations)", partial(svc.violations, q))
            step("headline", partial(svc.headline, q))
            before = dict(times)
            m = step(f"map ({fresh})", partial(svc.map, q))
            for label in sorted(k for k in times if k.startswith("    inside")):
                print(f"  {label:44s} {times[label] - before.get(label, 0.0):6.2f} s")
        data = step("pickle.dumps of the map", lambda: pickle.dumps(m))
        m = step("pickle.loads (every warm rerun)", lambda: pickle.loads(data))
        payload = step("st_folium payload (render, map script)", lambda: (
            m.get_root().render(), sf._get_html(m), sf._get_header(m), sf._get_map_string(m))[-1])
        print(f"  map script {len(payload) / 1e6:.2f} MB, pickled map {len(data) / 1e6:.2f} MB, "
              f"{len(svc.violations(q)[0]):,} violations", flush=True)
    finally:
        shutil.rmtree(stl.TILES_DIR, ignore_errors=True)


def server_stages(workspace: Path, tree: str | None) -> None:
    """``stages_child`` in a new process for this tree and, with ``tree``, for the code in that
    folder (e.g. ``git archive <commit> | tar -x -C DIR``; its static/vendor linked to ours)."""
    import subprocess
    import sys
    for label, where in (("this tree", None), (f"tree {tree}", tree)):
        if label != "this tree" and not where:
            continue
        env = dict(os.environ, BENCH_TREE=where or "", **bytecode_env())
        print(f"  compiled modules ready in {warm_bytecode(Path(where) if where else ROOT):.1f} s ({PYCACHE})", flush=True)
        if where:
            vendor = Path(where) / "static" / "vendor"
            if not vendor.exists():
                vendor.parent.mkdir(parents=True, exist_ok=True)
                vendor.symlink_to(ROOT / "static" / "vendor", target_is_directory=True)
        print(f"server stages, {label}, {_load_avg()}:", flush=True)
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--stages-child", str(workspace)],
                       env=env, cwd=where or ROOT, check=False)
        print(f"  (after: {_load_avg()})", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="1,000 + 5,000 and 10,000 + 10,000 instead of 10k + 50k and 100k + 100k")
    parser.add_argument("--skip-rows-100k", action="store_true",
                        help="do not draw the largest case the rows way (it is slow)")
    parser.add_argument("--server-stages", action="store_true",
                        help="only time the dashboard's server steps for 100,000 sites + 100,000 segments")
    parser.add_argument("--tree", help="also time the code in this folder (before/after): with --server-stages its "
                        "server steps, else its vector-tile map of every case in the same run")
    parser.add_argument("--cases", choices=("all", "large"), default="all",
                        help="large: only the largest case, vector tiles (with --skip-rows-100k)")
    parser.add_argument("--trace", action="store_true",
                        help="print where each first visit's time went (requests, WebSocket messages, "
                        "the script run's imports, reads and map build)")
    parser.add_argument("--stages-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stages_child:
        stages_child(Path(args.stages_child))
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="hgw-bench-"))
    if args.server_stages:
        try:
            path = large_workspace(tmp / "large100000.gpkg", sites=100_000, segments=100_000)
            server_stages(path, args.tree)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return 0
    print(_load_avg(), flush=True)
    try:
        demo = tmp / "demo.gpkg"
        shutil.copyfile(DEFAULT_PATH, demo)
        sizes = [(1_000, 5_000), (10_000, 10_000)] if args.quick else [(10_000, 50_000), (100_000, 100_000)]
        cases: list[tuple[str, Path, tuple[str, ...]]] = [("demo", demo, ("hgwatch", "naive"))]
        if args.cases == "large":
            cases, sizes = [], sizes[-1:]
        for n_sites, n_segs in sizes:
            t = time.perf_counter()
            path = large_workspace(tmp / f"large{n_sites}.gpkg", sites=n_sites, segments=n_segs)
            print(f"built a workspace of {n_sites:,} sites and {n_segs:,} water segments in "
                  f"{time.perf_counter() - t:.1f} s", flush=True)
            last = (n_sites, n_segs) == sizes[-1]
            variants: tuple[str, ...] = ("tiles",) if last and args.skip_rows_100k else ("tiles", "hgwatch")
            cases.append((f"{n_sites // 1000}k sites + {n_segs // 1000}k segments", path, variants))
        script = bench_app(tmp)
        tree = Path(args.tree).resolve() if args.tree else None
        if tree is not None:
            (tmp / "tree").mkdir()
            tree_script = bench_app(tmp / "tree", tree)
        for where in (ROOT, tree) if tree is not None else (ROOT,):
            print(f"compiled modules of {where} ready in {warm_bytecode(where):.1f} s ({PYCACHE})", flush=True)
        results = {}
        for case, path, variants in cases:
            for variant in variants:
                results[(case, variant)] = r = measure(script, path, variant, trace=args.trace)
                print(_row(case, variant, r), flush=True)
                if tree is not None and variant == "tiles":
                    print(f"  the tree {tree}, same case, {_load_avg()}:", flush=True)
                    results[(case, "tree")] = r = measure(tree_script, path, variant, trace=args.trace, root=tree)
                    print(_row(case, "tree", r), flush=True)
                    print(f"  {_load_avg()}", flush=True)
        print("\nmap bytes = WebSocket payload (map data and page protobufs) + Leaflet and "
              "protomaps files + map component + vector tiles fetched before the first draw; "
              "the Streamlit shell itself is the same for every variant.")
        print("ratios (other / new): map bytes, first map, cold first map, filter change:")
        for case, _, variants in cases:
            if (case, "tree") in results:
                a, b = results[(case, "tiles")], results[(case, "tree")]
                print(f"  {case:26s} tree / this tree: first x{b['first_s'] / a['first_s']:.2f}  cold built "
                      f"x{b['built_s'] / a['built_s']:.2f}  cold x{b['cold_s'] / a['cold_s']:.2f}  "
                      f"filter x{b['filter_s'] / a['filter_s']:.2f}")
            new, old = (("hgwatch", "naive") if "naive" in variants else ("tiles", "hgwatch"))
            if (case, old) not in results:
                continue
            a, b = results[(case, new)], results[(case, old)]
            print(f"  {case:26s} {old} / {new}: bytes x{b['mb'] / a['mb']:.1f}  first "
                  f"x{b['first_s'] / a['first_s']:.1f}  cold x{b['cold_s'] / a['cold_s']:.1f}  "
                  f"filter x{b['filter_s'] / a['filter_s']:.1f}")
        case = cases[-1][0]
        big = results[(case, "tiles")]
        print(_load_avg())
        print(f"\ntargets, {case}, vector tiles: first map {big['first_s']:.2f} s warm "
              f"(< {TARGETS['first_s']} s), {big['built_s']:.2f} s from a cold server with the "
              f"tiles built, {big['cold_s']:.2f} s cold including the first build "
              f"(< {TARGETS['cold_s']} s), {big['mb']:.2f} MB before the first draw "
              f"(< {TARGETS['mb']} MB)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
