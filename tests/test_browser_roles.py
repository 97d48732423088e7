"""Roles in a real browser (Chromium through Playwright, network cut to loopback): restricted
values planted in the workspace never reach a partner, by any road: every websocket frame the
page receives, every HTTP response and every download on every page is scanned. The same scan
finds them for an analyst who downloads under the internal profile, so the test is not vacuous.
A visitor who is not signed in gets only the sign-in form, at every address."""
from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, WebSocket, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from layers.store.open import open_store
from layers.store.workspace import DEFAULT_PATH, Workspace
from services import auth
from tests.browser_harness import CHROMIUM, NetLog, launch, running_app, wait_idle

MARK = b"PLANTEDSECRET"
PASSWORD = "correct horse"
PATHS = ["", "violations", "provenance", "imports", "inventory", "overlays"]
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or not DEFAULT_PATH.exists(),
                                reason="needs /usr/bin/chromium and the demo workspace (run `make test`)")


def _plant(ws: Path) -> None:
    """Every restricted field of the sites and samples holds a value carrying ``MARK``."""
    store = Workspace(ws)
    for layer in ("mining_sites", "samples"):
        gdf = store.read(layer)
        for name in store_restricted(layer):
            if name in gdf.columns or layer == "mining_sites":
                gdf[name] = [f"{MARK.decode()}-{name}-{i}" for i in range(len(gdf))]
        store.write_layer(layer, gdf, source=f"{layer} with planted values", replace_all=True)


def store_restricted(layer: str) -> tuple[str, ...]:
    from layers.catalogue import spec_for

    return spec_for(layer).restricted_fields


class Seen:
    """Everything the browser received: websocket frames, loopback HTTP bodies, downloads."""

    def __init__(self, page: Page) -> None:
        self.frames: list[bytes] = []
        self.bodies: list[bytes] = []
        self.urls: list[str] = []  # the address of each of ``bodies``, for the message
        self.downloads: dict[str, bytes] = {}
        page.on("websocket", self._socket)
        page.on("response", self._response)

    def _socket(self, ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: self.frames.append(
            payload.encode() if isinstance(payload, str) else bytes(payload)))

    def _response(self, response: Any) -> None:
        try:
            body = response.body()
        except Exception:  # a redirect or a body already gone: nothing to scan
            return
        self.bodies.append(body)
        self.urls.append(str(response.url))

    def holding(self, mark: bytes) -> list[str]:
        """Where ``mark`` was received: each websocket frame, HTTP response and download holding it."""
        found = [f"websocket frame {i}" for i, f in enumerate(self.frames) if mark in f]
        found += [f"HTTP response {i} ({u})" for i, (b, u) in enumerate(zip(self.bodies, self.urls)) if mark in b]
        return found + [f"download {n}" for n, b in self.downloads.items() if mark in b]

    def leaks(self) -> list[str]:
        return self.holding(MARK)


def _idle(page: Page) -> None:
    page.wait_for_timeout(400)
    wait_idle(page)


def _download_all(page: Page, seen: Seen, label: str) -> None:
    buttons = page.locator('[data-testid="stDownloadButton"] button')
    for i in range(buttons.count()):
        button = buttons.nth(i)
        name = f"{label}: {button.inner_text().strip()}"
        for attempt in range(4):  # a click that lands while Streamlit re-renders the button is lost
            try:  # on a loaded machine the button may not hold still for Playwright's 30 s: wait longer, then
                with page.expect_download(timeout=60_000) as info:  # click without waiting for it to be stable
                    button.click(timeout=60_000, force=attempt >= 2)
                break
            except PlaywrightTimeout:
                if attempt == 3:
                    raise
                _idle(page)
        seen.downloads[name] = Path(info.value.path()).read_bytes()


def _tour(page: Page, url: str, name: str, *, internal: bool) -> tuple[Seen, list[str]]:
    """Sign in as ``name``, open every page offered and download everything on it."""
    seen = Seen(page)
    page.goto(url)
    _idle(page)
    page.get_by_label("Username", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    _idle(page)
    page.locator('[data-testid="stSidebar"]').get_by_text(f"Signed in as {name}").wait_for(timeout=60_000)
    page.locator('[data-testid="stRadio"]').filter(has_text="Export profile").wait_for(timeout=120_000)
    radio = page.locator('[data-testid="stRadio"]').filter(has_text="Export profile")
    offered = [t.strip() for t in radio.locator("label").all_inner_texts()]
    if internal:  # a click during a re-render is lost: click again until the choice holds
        choice = radio.get_by_role("radio", name="internal", exact=True)
        for attempt in range(5):
            try:
                choice.check(force=True, timeout=60_000)
            except PlaywrightError:  # "did not change its state": the page re-rendered under the click
                if attempt == 4:
                    raise
            _idle(page)
            if choice.is_checked():
                break
        assert choice.is_checked(), "the analyst's 'internal' profile was never chosen"
    links = page.locator('[data-testid="stSidebarNavLink"]')
    titles = [t.strip() for t in links.all_inner_texts()]
    for i, title in enumerate(titles):
        if i:
            links.nth(i).click()
            _idle(page)
        elif title == "Map":  # the first page still draws the map after the sign-in's rerun: its downloads come with it
            page.wait_for_selector("iframe[title='streamlit_folium.st_folium']", timeout=120_000)
            _idle(page)
        _download_all(page, seen, title)
    assert page.locator('[data-testid="stException"]').count() == 0
    return seen, offered + titles


def _planted_demo(tmp_path: Path, plant: Callable[[Path], None] = _plant) -> Path:
    """A copy of the demo workspace in ``tmp_path`` with ``plant``'s values, and accounts pat (partner)
    and ana (analyst), both with ``PASSWORD``."""
    ws = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    plant(ws)
    store = open_store(ws)
    auth.add_account(store, "pat", "partner", PASSWORD)
    auth.add_account(store, "ana", "analyst", PASSWORD)
    return ws


def test_a_partner_receives_no_restricted_value_and_an_analyst_does(tmp_path: Path) -> None:
    ws = _planted_demo(tmp_path)
    with running_app(env={"HGWATCH_WORKSPACE": str(ws)}) as url, sync_playwright() as p:
        browser = launch(p)
        net = NetLog()
        # a visitor: only the sign-in form, at every address
        for path in PATHS:
            page = browser.new_context().new_page()
            page.route("**/*", net.route)
            visitor = Seen(page)
            page.goto(f"{url}/{path}")
            _idle(page)
            page.get_by_label("Username", exact=True).wait_for(timeout=30_000)
            assert page.get_by_label("Password", exact=True).is_visible()
            assert page.locator('[data-testid="stSidebarNavLink"]').count() == 0
            assert page.locator('[data-testid="stDownloadButton"], [data-testid="stMetric"], iframe').count() == 0
            assert not visitor.leaks(), path
            page.context.close()
        page = browser.new_context(accept_downloads=True).new_page()
        page.route("**/*", net.route)
        partner, seen_partner = _tour(page, url, "pat", internal=False)
        page.context.close()
        page = browser.new_context(accept_downloads=True).new_page()
        page.route("**/*", net.route)
        analyst, seen_analyst = _tour(page, url, "ana", internal=True)
        browser.close()
    assert "internal" not in seen_partner and "Import data" not in seen_partner
    assert "internal" in seen_analyst and "Import data" in seen_analyst
    assert len(partner.frames) > 20 and len(partner.downloads) >= 3  # the scan had something to scan
    assert not partner.leaks(), partner.leaks()[:20]
    assert any(n.startswith("download") for n in analyst.leaks()), analyst.leaks()[:20]
