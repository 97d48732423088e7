"""``/_stcore/metrics`` gives nothing to anyone on the dashboard as it is served (``python -m ui.launcher``:
``make run``, ``cli.py serve``), and the dashboard still works, on a real server and in headless Chromium.

Found in review of 2026-11-28: Streamlit 1.67 answered it without sign-in (open sessions, connects,
session time: how many people use the dashboard and when; the cached functions by name), and no
Streamlit option turns it off (``ui/gate.py``).
"""
from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from render.map.assets import installed
from tests.browser_harness import CHROMIUM, launch, map_frame, running_app, wait_idle
from ui.gate import closed


def _get(url: str, method: str = "GET") -> tuple[int, str]:
    request = urllib.request.Request(url, method=method, headers={"Accept": "application/openmetrics-text"})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def test_closed_paths() -> None:
    assert closed("/_stcore/metrics") and closed("/_stcore/metrics/") and closed("/hgwatch/_stcore/metrics")
    assert not closed("/_stcore/health") and not closed("/_stcore/metricsx") and not closed("/")


@pytest.mark.skipif(not Path(CHROMIUM).exists() or not installed(),
                    reason="needs /usr/bin/chromium and static/vendor (`make test`)")
def test_the_metrics_endpoint_answers_no_one_and_the_map_still_draws(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with running_app(env={"HGWATCH_BASEMAP": "none"}) as url, sync_playwright() as p:
        base = url.rstrip("/")
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        wait_idle(page)
        frame = map_frame(page)  # a session is open and the map drew: there is something to count
        assert frame.locator(".leaflet-interactive").count() > 0
        assert page.get_by_text("Sites in view", exact=True).count() >= 1  # the headline
        for path in ("/_stcore/metrics", "/_stcore/metrics/", "/_stcore/metrics?families=active_sessions"):
            status, body = _get(base + path)
            assert status == 404, (path, status, body[:300])
            assert "session" not in body and "# TYPE" not in body, body[:300]
        assert _get(base + "/_stcore/metrics", "OPTIONS")[0] == 404
        assert _get(base + "/_stcore/health") == (200, "ok")
        assert _get(base + "/app/static/vendor/leaflet-1.9.3/leaflet.js")[0] == 200  # the offline Leaflet
        browser.close()
