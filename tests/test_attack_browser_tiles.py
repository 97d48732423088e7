"""The map's vector tiles in a real browser (Chromium through Playwright, network cut to loopback),
attacked as a partner would: an analyst opens the map first (its archives built), then a visitor
who is not signed in asks the server for every archive file the analyst's page named, then a
partner opens the map. Every websocket frame, every HTTP response (the archives' range requests
included) and every archive file fetched is searched for the values planted in every restricted
field of the demo's sites and samples. The analyst's page names exactly the archives the
partner's names (so an archive address taken from an analyst gives nothing a partner is not
served). The control: the analyst's download of the sites under the internal profile holds the
planted values.

Streamlit serves its static folder to anyone who has an address, signed in or not: what keeps an
archive private is only that its name is a hash of its content (``render.map.tiles.data_key``),
so an archive may hold nothing the least of its readers may not see.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from layers.store.workspace import DEFAULT_PATH
from services.tiles import available
from tests.browser_harness import CHROMIUM, NetLog, launch, map_frame, running_app
from tests.test_browser_roles import MARK, PASSWORD, Seen, _idle, _planted_demo

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or not DEFAULT_PATH.exists() or not available(),
                                reason="needs /usr/bin/chromium, the demo workspace, tippecanoe and protomaps-leaflet")
ARCHIVE = re.compile(rb"/app/static/tiles/([0-9a-f]{24})")
FILES = ("tiles.pmtiles", "rows.json", "index.json")


def _signed_in_map(page: Page, url: str, name: str) -> Seen:
    """Sign in as ``name`` and wait for the map page's map, recording everything received."""
    seen = Seen(page)
    page.goto(url)
    _idle(page)
    page.get_by_label("Username", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator('[data-testid="stSidebar"]').get_by_text(f"Signed in as {name}").wait_for(timeout=60_000)
    map_frame(page, timeout_ms=120_000).locator("canvas").first.wait_for(timeout=120_000)
    _idle(page)
    return seen


def _archives(seen: Seen) -> set[bytes]:
    return {m for blob in [*seen.frames, *seen.bodies] for m in ARCHIVE.findall(blob)}


def test_no_tile_archive_an_analyst_or_a_partner_is_served_holds_a_planted_value(tmp_path: Path) -> None:
    ws = _planted_demo(tmp_path)
    env = {"HGWATCH_WORKSPACE": str(ws), "HGWATCH_TILES_ABOVE": "25", "HGWATCH_BASEMAP": "none"}
    with running_app(env=env) as url, sync_playwright() as p:
        browser = launch(p)
        net = NetLog()
        page = browser.new_context(accept_downloads=True).new_page()
        page.route("**/*", net.route)
        analyst = _signed_in_map(page, url, "ana")
        page.locator('[data-testid="stRadio"]').filter(has_text="Export profile").get_by_role(
            "radio", name="internal", exact=True).check(force=True)
        _idle(page)
        # what the analyst's map page received, before its own internal download (whose HTTP response rightly
        # holds the planted values: when Playwright could read that body, the check below failed on it)
        analyst_leaks = analyst.leaks()
        with page.expect_download(timeout=120_000) as info:
            page.locator('[data-testid="stDownloadButton"] button').filter(has_text="Sites in view (geojson)").click()
        internal = Path(info.value.path()).read_bytes()
        page.context.close()

        visitor = browser.new_context().new_page()  # not signed in: the static folder needs no session
        visitor.route("**/*", net.route)
        fetched = {}
        for key in sorted(_archives(analyst)):
            for name in FILES:
                response = visitor.request.get(f"{url}/app/static/tiles/{key.decode()}/{name}")
                fetched[f"{key.decode()}/{name}"] = (response.status, response.body())
        visitor.context.close()

        page = browser.new_context().new_page()
        page.route("**/*", net.route)
        partner = _signed_in_map(page, url, "pat")
        browser.close()
    assert MARK in internal  # the control: the analyst's own download holds them
    assert len(_archives(analyst)) >= 2 and _archives(partner) == _archives(analyst)
    assert all(status == 200 for status, _ in fetched.values()), {k: s for k, (s, _) in fetched.items()}
    assert any(b"PMTiles" in body[:7] for _, body in fetched.values())  # real archives were fetched
    assert not [k for k, (_, body) in fetched.items() if MARK in body]
    assert not analyst_leaks and not partner.leaks(), (analyst_leaks[:5], partner.leaks()[:5])
    assert any("/app/static/tiles/" in u and u.endswith("tiles.pmtiles") for u in net.allowed)  # the maps read them
    assert not net.blocked, net.blocked[:5]
