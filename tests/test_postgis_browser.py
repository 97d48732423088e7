"""The dashboard on a real PostGIS, in headless Chromium (network cut to loopback), as an agency runs it
(tests/postgis_agency.py: the demo moved in with ``db upgrade --from-workspace``, a recorded run, one account
per role, ``streamlit run app.py`` with ``$HGWATCH_DATABASE_URL``), at a laptop's 1366x768.

An analyst and a field coordinator of one area work at once, on one server: a site of the area renamed from
psql is found by its new name in the coordinator's open workbench (every row of it, those with no nearest water
too: until 2026-11-27 the search never matched such a row, 260 of the demo's 325), the analyst assigns a case of
the area, the coordinator's open page shows it after a rerun, the coordinator records a visit with a photo,
and the analyst's open page shows that visit after a rerun (the PostGIS change stamp). The coordinator's
downloads hold the restricted values planted in its area's sites and none of those planted elsewhere; a
partner's tour of every page and download holds none at all."""
from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

from layers.catalogue import spec_for
from layers.store import cases as stored
from layers.store.open import open_store
from layers.store.workspace import DEFAULT_PATH, Workspace
from services import auth, cases, casework, workbench
from services.hgwatch import HgWatch, Query
from settings import Settings
from tests.browser_harness import CHROMIUM, ROOT, NetLog, launch
from tests.postgis import Server
from tests.postgis_agency import NAMES, PASSWORD, Agency, agency
from tests.test_browser_cases import _choose, _idle  # pick a selectbox option; wait for a rerun to settle
from tests.test_browser_roles import Seen, _download_all  # what a page received; every download on a page

AREA = "DEMO North"  # the coordinator's one area (31 of the demo's 150 sites)
INSIDE, OUTSIDE = b"PLANTEDIN", b"PLANTEDOUT"
VIEW = {"width": 1366, "height": 768}
SHOTS = ROOT / "test-artifacts"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or not DEFAULT_PATH.exists(),
                                reason="needs /usr/bin/chromium and the demo workspace (run `make test`)")


def _plant(ws: Path) -> None:
    """Every restricted field of the sites holds a mark: INSIDE for the coordinator's area, OUTSIDE elsewhere."""
    store = Workspace(ws)
    gdf = store.read("mining_sites")
    for name in spec_for("mining_sites").restricted_fields:
        gdf[name] = [f"{(INSIDE if a == AREA else OUTSIDE).decode()}-{name}-{i}"
                     for i, a in enumerate(gdf["admin_area"])]
    store.write_layer("mining_sites", gdf, source="mining sites with planted values", replace_all=True)


@pytest.fixture(scope="module")
def office(postgis_server: Server) -> Iterator[Agency]:
    with agency(postgis_server, "hp_browser", prepare=_plant, area=AREA) as running:
        yield running


def _open(browser: Browser, office: Agency, role: str) -> tuple[Page, Seen]:
    page = browser.new_context(viewport=VIEW, accept_downloads=True).new_page()
    page.route("**/*", NetLog().route)
    seen = Seen(page)
    page.goto(office.app_url)
    _idle(page)
    page.get_by_label("Username", exact=True).fill(NAMES[role])
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    _idle(page)
    page.locator('[data-testid="stSidebar"]').get_by_text(f"Signed in as {NAMES[role]}").wait_for(timeout=60_000)
    return page, seen


def _go(page: Page, title: str) -> None:
    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title).click()
    _idle(page)


def _rerun(page: Page) -> None:
    """What any click does: run the page again (Streamlit's R shortcut)."""
    page.locator('[data-testid="stMain"] h1').first.click()
    page.keyboard.press("r")
    _idle(page)


def _faults(page: Page, where: str) -> list[str]:
    shown = page.locator('[data-testid="stException"]').all_inner_texts()
    return [f"{where}: {text[:300]}" for text in shown]


def _profile(page: Page, name: str) -> None:
    radio = page.locator('[data-testid="stRadio"]').filter(has_text="Export profile")
    choice = radio.get_by_role("radio", name=name, exact=True)
    for _ in range(5):
        choice.check(force=True, timeout=60_000)
        _idle(page)
        if choice.is_checked():
            return
    raise AssertionError(f"the export profile {name!r} was never chosen")


def _photo(folder: Path) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 120, 180)).save(buffer, format="JPEG")
    path = folder / "bank-erosion.jpg"
    path.write_bytes(buffer.getvalue())
    return path


RENAMED = "verified from psql"


def _case_with_no_nearest_water(db_url: str) -> tuple[str, str, int]:
    """A new case of ``AREA`` whose site has a violation with no nearest water: its violation id, its site and
    how many rows of the workbench's table that site has."""
    svc = HgWatch(Settings(database_url=db_url))
    found, _ = svc.violations(Query())
    table = casework.with_cases(workbench.violations_table(found, svc.frames()["mining_sites"],
                                                           workbench.change_status(found, svc.runs()),
                                                           svc.frames().get("tailings")),
                                cases.list_cases(svc.store, auth.LOCAL), today=date.today())
    ours = table[(table["admin_area"] == AREA) & (table["status"] == "new")]
    site = str(ours[ours["nearest_water"].isna()]["site"].iloc[0])
    return str(ours[ours["site"] == site]["violation_id"].iloc[0]), site, int((table["site"] == site).sum())


def _search(page: Page, text: str) -> None:
    box = page.get_by_label("Site or water body contains")
    box.fill(text)
    box.press("Enter")
    _idle(page)


def test_analyst_and_coordinator_at_once_then_a_partner(office: Agency, tmp_path: Path) -> None:
    vid, site, rows = _case_with_no_nearest_water(office.db_url)
    photo = _photo(tmp_path)
    digest = hashlib.sha256(photo.read_bytes()).hexdigest()
    faults: list[str] = []
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        field, field_seen = _open(browser, office, "field")
        analyst, _ = _open(browser, office, "analyst")
        for page in (field, analyst):
            _go(page, "Violations workbench")
            page.get_by_text("Work on case").wait_for(timeout=120_000)
        # a GIS officer renames the site from psql; the coordinator's open page finds every row of it by that name
        with psycopg.connect(office.db_url) as con:
            con.execute("UPDATE mining_sites SET name = %s WHERE site_id = %s", [RENAMED, site])
        _search(field, RENAMED)
        shown = field.get_by_text(re.compile(r"^[\d,]+ of [\d,]+ violations")).inner_text()
        assert shown.startswith(f"{rows} of "), f"{site} renamed {RENAMED!r} has {rows} rows; the page says {shown!r}"
        _search(field, "")
        # the coordinator's "My cases" is empty; the analyst assigns it one, on its own page
        field.get_by_text("My cases", exact=True).click()
        _idle(field)
        assert field.get_by_text(re.compile(r"^0 of [\d,]+ violations")).count() == 1
        _choose(analyst, "Work on case", vid)
        _choose(analyst, "Assign to", NAMES["field"])
        analyst.get_by_role("button", name="Assign").click()
        _idle(analyst)
        analyst.get_by_text(f"case assigned to {NAMES['field']}").wait_for(timeout=60_000)
        # the coordinator's page, open all along, lists it after a rerun
        _rerun(field)
        field.get_by_text(re.compile(r"^1 of [\d,]+ violations")).wait_for(timeout=60_000)
        _choose(field, "Work on case", vid)
        form = field.locator('[data-testid="stForm"]').filter(has_text="Move the case")
        _choose(field, "New status", "visited")
        form.locator("input[type=file]").first.set_input_files(str(photo))
        form.get_by_text(photo.name).wait_for(timeout=30_000)
        form.get_by_role("button", name="Move the case").click()
        _idle(field)
        field.get_by_text("case moved to visited").wait_for(timeout=60_000)
        field.screenshot(path=str(SHOTS / "postgis_field_workbench.png"))
        faults += _faults(field, "coordinator, workbench")
        # the analyst's page, open all along, shows the visit and its photo after a rerun
        _rerun(analyst)
        analyst.get_by_text(re.compile(r"^status visited; assignee " + NAMES["field"])).first.wait_for(timeout=60_000)
        analyst.get_by_text(digest).first.wait_for(timeout=30_000)
        analyst.screenshot(path=str(SHOTS / "postgis_analyst_workbench.png"))
        faults += _faults(analyst, "analyst, workbench")
        analyst.context.close()
        # the coordinator's map and downloads, under the internal profile
        _go(field, "Map")
        field.wait_for_selector("iframe[title='streamlit_folium.st_folium']", timeout=120_000)
        _profile(field, "internal")
        _download_all(field, field_seen, "Map")
        field.screenshot(path=str(SHOTS / "postgis_field_map.png"))
        faults += _faults(field, "coordinator, map")
        field.context.close()
        # a partner: every page, every download
        partner, partner_seen = _open(browser, office, "partner")
        links = partner.locator('[data-testid="stSidebarNavLink"]')
        titles = [t.strip() for t in links.all_inner_texts()]
        for i, title in enumerate(titles):
            if i:
                links.nth(i).click()
                _idle(partner)
            elif title == "Map":  # the first page still draws the map after the sign-in's rerun: its downloads come with it
                partner.wait_for_selector("iframe[title='streamlit_folium.st_folium']", timeout=120_000)
                _idle(partner)
            faults += _faults(partner, f"partner, {title}")
            _download_all(partner, partner_seen, title)
        browser.close()
    with stored.reading(open_store("", office.db_url)) as tables:
        final, visits, photos = tables.get(vid), tables.visits(vid), tables.photos(vid, with_data=True)
    assert not faults, "\n".join(faults)
    assert final is not None and (final.status, final.assignee) == ("visited", NAMES["field"])
    assert [v.who for v in visits] == [NAMES["field"]]
    assert [(ph.sha256, ph.who) for ph in photos] == [(digest, NAMES["field"])]
    assert field_seen.holding(INSIDE) and len(field_seen.downloads) >= 3  # the searches are not blind
    assert not field_seen.holding(OUTSIDE), field_seen.holding(OUTSIDE)[:10]
    assert "Import data" not in titles and len(partner_seen.downloads) >= 3
    assert not partner_seen.holding(INSIDE) + partner_seen.holding(OUTSIDE)
