"""``python -m ui.launcher app.py [streamlit run options]``: ``streamlit run`` with the first page's
modules imported on a background thread as soon as the server process starts, before any session.

Streamlit runs every script in the server process, so a module imported once stays imported. A
first visitor's browser spends 1-2 s loading Streamlit's shell while the server does nothing; the
first script run then spent 1.1-1.5 s importing folium, pandas, geopandas, streamlit-folium, the
map's modules and pint's registry (issue 13, H2's trace). Here those imports run while the shell
loads. Nothing else runs: no session, no store opened, no sign-in, no audit row (importing these
modules has no side effect beyond building module-level objects such as ``geo.quantities.UREG``).

A page that imports a module while this thread is importing it waits on Python's per-module
import lock and then uses the finished module; it never imports it twice. A module that fails
to import here is only reported on stderr: Python removes it from ``sys.modules``, so the page
imports it itself and shows its own error as before. ``cli.py serve`` (``make run``) and the
browser tests' and benchmarks' servers (tests/browser_harness.py) start the dashboard this way;
``streamlit run app.py`` still works alone (without the head start).
"""
from __future__ import annotations

import ast
import importlib
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from streamlit.web import cli

# the first page's modules (app.py's default page, ui/pages/map.py, and what app.py runs before it)
# in the order the page imports them; the main script's own top-level imports come first
FIRST_PAGE = ("ui.login", "ui.sidebar", "folium", "folium.elements", "folium.plugins", "branca", "jinja2",
              "streamlit.components.v1", "geo.errors", "render.map.assets", "render.map.standalone",
              "render.map.mapview", "services.auth", "services.exports", "services.rollups", "services.tiles",
              "geo.quantities", "services.people")
# services.people: the headline's people downstream (geo.exposure, networkx and scipy: 0.8-1.2 s of the
# first map after sign-in at 5,917 sites, cProfile in AppTest, 2026-11-28). Then the other pages' imports
# (``PAGES``: altair, ReportLab's SVG renderer, the case and surface modules) and the PDF/SVG fonts
# (``render.fonts.fonts``, 0.5 s of the inventory page's first visit): a first visit to those pages
# imported them in its own run.
PAGES = Path(__file__).resolve().parent / "pages"
WARM = ("render.fonts",)  # modules whose ``fonts()`` cache is filled once imported (``_warm``)
# never imported here: a module that declares a Streamlit component registers it with the runtime only
# when imported inside a script run (streamlit.components.v1.component_registry.declare_component), so
# imported here its iframe would not be served (its own imports, folium and the rest, are above)
NEEDS_SCRIPT_RUN = frozenset({"streamlit_folium"})
DONE = "hgwatch launcher: imported before any session:"  # the line written when the thread ends


def script_imports(script: Path) -> list[str]:
    """The absolute modules ``script`` imports at its top level, in order (none if it cannot be read)."""
    try:
        tree = ast.parse(script.read_text(encoding="utf-8"), str(script))
    except (OSError, SyntaxError, ValueError):
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module != "__future__":
            names.append(node.module)
    return names


def preload(modules: Sequence[str]) -> tuple[list[str], list[str]]:
    """Import ``modules`` in order; (imported, failed with the reason). Never raises."""
    done: list[str] = []
    failed: list[str] = []
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException as exc:  # a failed preload (even a SystemExit) must not touch the server
            failed.append(f"{name} ({type(exc).__name__}: {exc})")
        else:
            done.append(name)
    return done, failed


def page_imports(folder: Path = PAGES) -> list[str]:
    """The absolute modules every page script in ``folder`` imports at its top level, pages in name order,
    with the project's modules a ``from package import module`` names (``from render.report import charts``)."""
    root = folder.parent.parent
    out: list[str] = []
    for page in sorted(folder.glob("*.py")):
        out += script_imports(page)
        try:
            tree = ast.parse(page.read_text(encoding="utf-8"), str(page))
        except (OSError, SyntaxError, ValueError):
            continue
        out += [f"{node.module}.{alias.name}" for node in tree.body
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                for alias in node.names if (root / node.module.replace(".", "/") / f"{alias.name}.py").is_file()]
    return out


def _warm(warmed: list[str], failed: list[str]) -> None:
    """Fill the caches of ``WARM`` (ReportLab's font registry: reads the font files, opens no store)."""
    for name in WARM:
        try:
            importlib.import_module(name).fonts()
        except BaseException as exc:  # as ``preload``: never touch the server
            failed.append(f"{name}.fonts() ({type(exc).__name__}: {exc})")
        else:
            warmed.append(f"{name}.fonts()")


IDLE_SHARE = 0.1  # the other pages wait until the server's process used less than this share of a core ...
IDLE_WINDOW_S = 0.5  # ... over this long: a first session's map is not slowed by imports it does not need
IDLE_WAIT_S = 600.0  # then they are imported anyway


def _when_idle(window_s: float = IDLE_WINDOW_S, share: float = IDLE_SHARE, give_up_s: float = IDLE_WAIT_S) -> float:
    """Wait until this process (the server, every session in it) has been about idle for ``window_s``;
    the seconds waited. The other pages' imports hold Python's lock for seconds: on a 2-core server they
    slowed a first session that had just signed in (bench_map.py: cold first map with the archives built
    4.38 -> 5.01 s, 2026-11-28)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < give_up_s:
        cpu, wall = time.process_time(), time.perf_counter()
        time.sleep(window_s)
        if time.process_time() - cpu < share * (time.perf_counter() - wall):
            break
    return time.perf_counter() - t0


def _run(modules: Sequence[str], later: Sequence[str] = ()) -> None:
    t0 = time.perf_counter()
    done, failed = preload(modules)
    warmed: list[str] = []
    if later:  # the other pages' modules and the fonts, once no session is busy
        _when_idle()
        more, failed_later = preload(later)
        done += more
        failed += failed_later
        _warm(warmed, failed)
    for what in failed:
        print(f"hgwatch launcher: could not import {what}; the page imports it itself", file=sys.stderr, flush=True)
    print(f"{DONE} {len(done)} of {len(modules) + len(later)} modules in {time.perf_counter() - t0:.2f} s: {' '.join(done)}"
          + (f" (and {' '.join(warmed)})" if warmed else ""), file=sys.stderr, flush=True)


def start(script: Path, extra: Sequence[str] = FIRST_PAGE) -> threading.Thread:
    """Start the preload of ``script``'s imports and then ``extra`` (by default ``FIRST_PAGE``, then the
    other pages' imports and ``WARM``) on a daemon thread (it never holds the server up at exit)."""
    # the script's folder on sys.path first, as Streamlit's bootstrap puts it (a module beside the
    # script then imports here as it does in the page)
    sys.path.insert(0, str(script.resolve().parent))
    modules = [m for m in dict.fromkeys([*script_imports(script), *extra]) if m.split(".")[0] not in NEEDS_SCRIPT_RUN]
    later = [m for m in dict.fromkeys(page_imports() if extra is FIRST_PAGE else [])
             if m not in modules and m.split(".")[0] not in NEEDS_SCRIPT_RUN]
    thread = threading.Thread(target=_run, args=(modules, later), name="hgwatch-preload", daemon=True)
    thread.start()
    return thread


SERVED = Path(__file__).resolve().parent.parent / "served_app.py"  # SCRIPT as a streamlit.App behind ui.gate


def main(argv: Sequence[str] | None = None) -> None:
    """``streamlit run`` of SCRIPT with the same options, the preload started first; SCRIPT is served as
    ``served_app.py`` serves it (``$HGWATCH_MAIN_SCRIPT``): behind ``ui.gate.Gate``, so that
    ``/_stcore/metrics`` answers no one (until 2026-11-28 it told anyone, signed in or not, how many
    sessions were open and the cached functions by name)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0].startswith("-"):
        sys.exit("usage: python -m ui.launcher SCRIPT [streamlit run options]")
    script = Path(args[0]).resolve()
    start(script)
    os.environ["HGWATCH_MAIN_SCRIPT"] = str(script)
    sys.argv = ["streamlit", "run", str(SERVED), *args[1:]]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
