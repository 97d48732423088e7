"""The dashboard's first visits at a country's size (5,917 real footprints, 100 rivers, 7,249 places):
what the launcher imports before any session.

Profiled on 2026-11-28 (AppTest under cProfile, and the server's CPU seconds of a first visit in
headless Chromium, this tree against /tmp/before18 alternately, load 6-9 from other work): the first
map after sign-in imported the headline's people-downstream modules (geo.exposure with networkx and
scipy, 0.8-1.2 s), and the inventory page's first visit imported altair and ReportLab's SVG renderer
and registered the fonts (0.7 + 0.5 + 0.5 s). The launcher now imports them, and every page's modules,
on its thread before any session: server CPU of the first map 1.34-1.43 s -> 1.02-1.26 s, of the
inventory's first visit 1.51-1.67 s -> 0.93-1.04 s.
"""
from __future__ import annotations

import threading
from pathlib import Path

from tests.browser_harness import ROOT, running_servers
from tests.test_launcher_preload import _done_line
from ui.launcher import DONE, page_imports


def test_every_pages_modules_and_the_fonts_are_ready_before_any_session(tmp_path: Path) -> None:
    ws = tmp_path / "never-opened.gpkg"
    with running_servers(1, "app.py", env={"HGWATCH_WORKSPACE": str(ws), "PYTHONPATH": str(ROOT)}) as (server,):
        line = _done_line(server)
        stderr = server.stderr()
    imported = line[len(DONE):].split(": ", 1)[1].split(" (and ")[0].split()
    for module in ("services.people", "render.report.charts", "render.report.areamap", "services.registers",
                   "services.cases", "services.contamination"):
        assert module in imported, line
    assert "(and render.fonts.fonts())" in line, line
    assert "streamlit_folium" not in imported  # registered by the page's own run
    assert "could not import" not in stderr
    assert not ws.exists()  # no store was opened (nor created)


def test_a_from_import_of_a_project_module_is_named() -> None:
    names = page_imports()
    assert "render.report.charts" in names and "services.workbench" in names  # ``from x import module``
    assert "render.report.charts.altair" not in names and not [n for n in names if n.startswith("ui.pages")]


def test_the_other_pages_wait_while_the_server_is_busy() -> None:
    """The other pages' imports wait for an idle server (bench_map.py: they slowed a session that had just
    signed in, cold first map with the archives built 4.38 -> 5.01 s): while a thread of this process keeps
    a core busy, the wait lasts until it gives up; once idle, it ends."""
    from ui.launcher import _when_idle

    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            sum(range(1000))
    worker = threading.Thread(target=busy)
    worker.start()
    try:
        assert _when_idle(window_s=0.1, share=0.001, give_up_s=1.0) >= 1.0  # busy all along: it gave up
    finally:
        stop.set()
        worker.join()
    assert _when_idle(window_s=0.1, share=0.5, give_up_s=60.0) < 60.0  # idle: it ends without giving up
