"""The case round trip in a real browser (Chromium through Playwright, network cut to loopback),
issue 12: a ``field`` account signs in, picks the case assigned to it on the workbench and moves
it to ``visited`` with a photo uploaded through the form; then an ``analyst`` signs in and closes
it along the allowed path (confirmed, remediation_ordered, resolved, closed). The store is read
afterwards: the status, the visit, the photo's bytes and SHA-256, and who made each move."""
from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import pypdf
import pytest
from PIL import Image
from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from layers.store import cases as stored
from layers.store.open import open_store
from layers.store.workspace import DEFAULT_PATH
from services import audit, auth, cases
from services.auth import Identity
from services.hgwatch import HgWatch
from settings import Settings
from tests.browser_harness import CHROMIUM, NetLog, launch, running_app, wait_idle

PASSWORD = "correct horse"
ANALYST_PATH = ["confirmed", "remediation_ordered", "resolved", "closed"]
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or not DEFAULT_PATH.exists(),
                                reason="needs /usr/bin/chromium and the demo workspace (run `make test`)")


def _idle(page: Page) -> None:
    page.wait_for_timeout(400)
    wait_idle(page)


def _sign_in(page: Page, url: str, name: str) -> None:
    page.goto(url)
    _idle(page)
    page.get_by_label("Username", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    _idle(page)
    page.locator('[data-testid="stSidebar"]').get_by_text(f"Signed in as {name}").wait_for(timeout=60_000)
    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Violations workbench").click()
    _idle(page)
    page.get_by_text("Work on case").wait_for(timeout=120_000)


def _choose(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label``: typed into its search, then Enter (a click
    can miss a list that opens below the fold); typed again when a re-render swallowed the text."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label)
    if box.locator(f'[value="{option}"], :text-is("{option}")').count():
        return  # already chosen (the first of the moves offered is preselected)
    for attempt in range(3):
        box.locator("input").click()
        box.locator("input").fill(option)
        try:
            page.get_by_role("option", name=option, exact=True).wait_for(timeout=15_000)  # the only one left
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
            _idle(page)
            continue
        box.locator("input").press("Enter")
        _idle(page)
        return


def _move(page: Page, target: str, *, photo: Path | None = None) -> None:
    form = page.locator('[data-testid="stForm"]').filter(has_text="Move the case")
    _choose(page, "New status", target)
    if photo is not None:
        form.locator("input[type=file]").first.set_input_files(str(photo))
        form.get_by_text(photo.name).wait_for(timeout=30_000)
    form.get_by_role("button", name="Move the case").click()
    _idle(page)
    page.get_by_text(f"case moved to {target}").wait_for(timeout=60_000)


def _download(page: Page, label: str) -> bytes:
    """The file a download button gives (clicked again when a click lands during a re-render)."""
    for attempt in range(3):
        try:
            with page.expect_download(timeout=60_000) as info:
                page.get_by_role("button", name=label).click()
            return Path(info.value.path()).read_bytes()
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            _idle(page)
    raise AssertionError("unreachable")


def test_a_field_account_visits_with_a_photo_and_an_analyst_closes_the_case(tmp_path: Path) -> None:
    ws = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    assert HgWatch(Settings(workspace=ws)).check().run_id is not None  # one case per violation
    store = open_store(ws)
    case = cases.list_cases(store, auth.LOCAL, status="new").query("rule_id == 'HG-WATER-100'").iloc[0]
    vid, area = str(case["violation_id"]), str(case["admin_area"])
    auth.add_account(store, "kofi", "field", PASSWORD, [area])
    auth.add_account(store, "ana", "analyst", PASSWORD)
    cases.assign(store, Identity("ana", "analyst"), vid, "kofi")
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (180, 40, 40)).save(buffer, format="JPEG")
    photo = tmp_path / "pit-at-the-bank.jpg"
    photo.write_bytes(buffer.getvalue())

    with running_app(env={"HGWATCH_WORKSPACE": str(ws)}) as url, sync_playwright() as p:
        browser = launch(p)
        net = NetLog()
        page = browser.new_context().new_page()
        page.route("**/*", net.route)
        _sign_in(page, url, "kofi")
        page.get_by_text("My cases", exact=True).click()
        _idle(page)
        _choose(page, "Work on case", vid)
        _move(page, "visited", photo=photo)
        assert page.locator('[data-testid="stException"]').count() == 0
        page.context.close()

        page = browser.new_context(accept_downloads=True).new_page()
        page.route("**/*", net.route)
        _sign_in(page, url, "ana")
        _choose(page, "Work on case", vid)
        for target in ANALYST_PATH:
            _move(page, target)
        page.get_by_text(f"{hashlib.sha256(photo.read_bytes()).hexdigest()}").first.wait_for(timeout=30_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        pdf = _download(page, "Dossier (PDF)")
        browser.close()
    assert not [u for u in net.blocked if "tile" not in u]

    with stored.reading(open_store(ws)) as tables:
        final = tables.get(vid)
        visits = tables.visits(vid)
        photos = tables.photos(vid, with_data=True)
    assert final is not None and final.status == "closed"
    assert [(v.who, v.visited_at is not None) for v in visits] == [("kofi", True)]
    assert [(p.name, p.data, p.sha256, p.who) for p in photos] == [
        (photo.name, photo.read_bytes(), hashlib.sha256(photo.read_bytes()).hexdigest(), "kofi")]
    moves = [(r.who, json.loads(r.after)["status"]) for r in audit.trail(open_store(ws))
             if r.target == vid and r.action == "case status"]
    assert moves == [("kofi", "visited")] + [("ana", s) for s in ANALYST_PATH]
    text = " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages).split())
    assert hashlib.sha256(photo.read_bytes()).hexdigest() in text and "closed" in text
    assert f"{float(case['distance_m']):,.2f} m" in text  # the case's distance, to 0.01 m
