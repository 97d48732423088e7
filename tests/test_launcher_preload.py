"""ui/launcher.py (``cli.py serve``'s and the browser harness's dashboard start): the first page's
modules are imported on a background thread as soon as the server starts, before any session,
and nothing else happens; an import that fails there leaves the page served (it imports the module
itself); a component module (streamlit-folium) is left to the page, whose script run registers it."""
from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser_harness import ROOT, Server, launch, running_servers
from ui.launcher import DONE, script_imports

PROBE = '''import threading
if threading.current_thread().name == "hgwatch-preload":
    raise ImportError("refused on the preload thread (test)")
VALUE = 42
'''
PAGE = '''import hgw_preload_probe
import folium
import streamlit as st
from streamlit_folium import st_folium

st.title(f"probe {hgw_preload_probe.VALUE}")
st_folium(folium.Map(location=[5.0, -2.0], zoom_start=6), height=300, returned_objects=[])
'''


def _done_line(server: Server, timeout_s: float = 180) -> str:
    """The launcher's closing line on the server's stderr (waits for it; no session is opened)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lines = [line for line in server.stderr().splitlines() if line.startswith(DONE)]
        if lines:
            return lines[0]
        time.sleep(0.3)
    raise AssertionError(f"no launcher line:\n{server.stderr()[-3000:]}")


def test_the_first_pages_modules_are_imported_before_any_session(tmp_path: Path) -> None:
    ws = tmp_path / "never-opened.gpkg"
    with running_servers(1, "app.py", env={"HGWATCH_WORKSPACE": str(ws), "PYTHONPATH": str(ROOT)}) as (server,):
        line = _done_line(server)
        imported = line[len(DONE):].split(": ", 1)[1].split()
        count = line[len(DONE):].split(" modules")[0].split()
        assert count[0] == count[2], line  # every one imported
        for module in ("ui.login", "ui.sidebar", "folium", "render.map.mapview", "services.rollups",
                       "geo.quantities"):  # app.py's imports, the map page's, pint's registry
            assert module in imported, line
        assert "streamlit_folium" not in imported
        assert "could not import" not in server.stderr()
        assert not ws.exists()  # no store was opened (nor created) by the preload


def test_a_failed_preload_leaves_the_page_served_and_the_map_component_registered(tmp_path: Path) -> None:
    (tmp_path / "hgw_preload_probe.py").write_text(PROBE, encoding="utf-8")
    (tmp_path / "page.py").write_text(PAGE, encoding="utf-8")
    with running_servers(1, "page.py", env={"PYTHONPATH": str(ROOT)}, cwd=tmp_path) as (server,):
        line = _done_line(server)
        assert "could not import hgw_preload_probe (ImportError: refused on the preload thread (test))" \
            in server.stderr()
        assert "folium" in line.split() and "streamlit_folium" not in line.split()
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page()
            page.goto(server.url)
            page.get_by_role("heading", name="probe 42").wait_for(timeout=120_000)
            page.wait_for_selector("iframe[title='streamlit_folium.st_folium']", state="attached", timeout=120_000)
            src = page.get_attribute("iframe[title='streamlit_folium.st_folium']", "src") or ""
            browser.close()
        assert "/component/streamlit_folium" in src, src
        try:
            with urllib.request.urlopen(server.url + src[src.index("/component/"):], timeout=10) as r:
                status = r.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        assert status == 200  # the component was registered by the page's own import


def test_script_imports() -> None:
    assert script_imports(ROOT / "app.py") == ["streamlit", "ui", "ui"]
    bench = script_imports(ROOT / "benchmarks" / "bench_app.py")
    assert bench[:3] == ["os", "pickle", "folium"] and "streamlit_folium" in bench and "__future__" not in bench
