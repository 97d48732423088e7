"""What the dashboard tells a user, found in the national walk of 2026-11-28 (four roles, 5,917 real
footprints): the Import page's intro named five of the formats the readers accept and not the upload
limit; the Registers page sent a partner to "the Import data page", which a partner does not have; the
inventory map's legend was 110 pt wide whatever its text, 3 pt to spare after its title in our font.
"""
from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from reportlab.pdfbase.pdfmetrics import stringWidth
from streamlit.testing.v1 import AppTest

from layers.io.sniff import KINDS
from render.fonts import fonts
from render.report.areamap import CLASSES, area_svg
from services import auth
from services.auth import Identity
from services.hgwatch import HgWatch
from settings import Settings
from ui import login

APP = str(Path(__file__).resolve().parent.parent / "app.py")
ANALYST, PARTNER = Identity("ana", "analyst"), Identity("pat", "partner")
SLACK = 1.2  # a browser's sans-serif against DejaVu Sans (render.report.areamap.FONT_SLACK)


@pytest.fixture()
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two sites and no licences, facilities or miners; an analyst and a partner."""
    path = tmp_path / "ws.gpkg"
    svc = HgWatch(Settings(workspace=path))
    sites = gpd.GeoDataFrame({"site_id": ["a", "b"], "name": ["A", "B"], "status": ["active", "active"]},
                             geometry=[shapely.Point(-2.0, 5.3), shapely.Point(-1.9, 5.4)], crs=4326)
    svc.store.write_layers([("mining_sites", sites)], source="test")
    auth.add_account(svc.store, "pat", "partner", "a long password")
    auth.add_account(svc.store, "ana", "analyst", "a long password")
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    return path


def _page(page: str, who: Identity) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[login._KEY] = who
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def _text(at: AppTest) -> str:
    return " ".join(str(e.value) for e in [*at.markdown, *at.caption, *at.info, *at.warning])


def test_the_import_page_names_every_format_read_and_the_upload_limit(workspace: Path) -> None:
    intro = _text(_page("ui/pages/imports.py", ANALYST))
    missing = [suffix for suffix in KINDS if suffix not in intro]
    assert missing == [], intro
    assert "Shapefile" in intro and "GeoParquet" in intro and "KMZ" in intro, intro
    assert "at most 200 MB a file" in intro, intro  # Streamlit's server.maxUploadSize: config.toml sets none


@pytest.mark.parametrize(("who", "told"), [(PARTNER, False), (ANALYST, True)], ids=["partner", "analyst"])
def test_the_registers_page_sends_to_the_import_page_only_a_role_that_has_it(
        workspace: Path, who: Identity, told: bool) -> None:
    text = _text(_page("ui/pages/registers.py", who))
    assert "No facility is recorded" in text and "No miner is registered" in text, text  # the notes are shown
    assert ("Import data page" in text) is told, text
    if not told:
        assert text.count("your role cannot import") == 3, text  # licences, facilities, miners


def test_the_inventory_maps_legend_has_room_for_a_wider_font() -> None:
    """Every line of the legend, a fifth wider than in our font (a browser draws an <img>'s SVG text
    in its own), ends inside the picture."""
    sites = gpd.GeoDataFrame(geometry=[shapely.Point(-2 + i / 10, 5 + i / 20) for i in range(6)], crs=4326)
    water = gpd.GeoDataFrame(geometry=[shapely.LineString([(-2.1, 5), (-1.4, 5.3)])], crs=4326)
    svg = area_svg(sites, list(CLASSES), water=water, width=480, height=300)
    found = re.search(r'<svg[^>]* width="([0-9.]+)"', svg)
    assert found is not None, svg[:300]
    width = float(found.group(1))
    texts = re.findall(r'<text x="([0-9.]+)"[^>]*font-weight: bold[^>]*font-size: 8px[^>]*>([^<]+)</text>', svg)
    texts += [(x, t) for x, t in re.findall(r'<text x="([0-9.]+)"[^>]*font-size: 7px[^>]*>([^<]+)</text>', svg)
              if t in {c[0] for c in CLASSES.values()} | {"water"}]
    assert len(texts) == len(CLASSES) + 2, texts  # the title, every class and water
    ends = {t: float(x) + SLACK * stringWidth(t, fonts().bold if t.startswith("Sites") else fonts().sans,
                                                    8 if t.startswith("Sites") else 7) for x, t in texts}
    assert {t: e for t, e in ends.items() if e > width} == {}, (width, ends)


@pytest.mark.parametrize(("said", "which"), [
    ([None, None, None], "3 sites whose mercury use is not recorded"),
    ([True, None, None], "3 sites using mercury or not recording it (2 not recorded)"),
    ([True, True, True], "3 sites using mercury")], ids=["none-said", "one-said", "all-said"])
def test_the_headline_does_not_call_unrecorded_sites_mercury_users(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, said: list[bool | None], which: str) -> None:
    """Footprints without uses_mercury (the national walk: 685 Ghana sites) showed "Using mercury 0" beside
    "685 sites using mercury have no gold or mercury figure"."""
    path = tmp_path / "ws.gpkg"
    sites = gpd.GeoDataFrame({"site_id": ["S1", "S2", "S3"], "status": ["active"] * 3, "uses_mercury": said},
                             geometry=[shapely.Point(-2.0 - i / 10, 5.0) for i in range(3)], crs=4326)
    if all(v is None for v in said):
        sites = sites.drop(columns="uses_mercury")  # as imported footprints: no such column
    HgWatch(Settings(workspace=path)).store.write_layers([("mining_sites", sites)], source="test")
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    using = next(m for m in at.metric if m.label == "Using mercury")
    assert using.value == str(sum(v is True for v in said))
    folded = [e.label for e in at.expander if e.label.startswith("Estimated mercury use in view")]
    assert folded == [f"Estimated mercury use in view: not estimable; {which} without a gold or mercury figure"], folded
    hg = next(m for m in at.metric if m.label.startswith("Hg used"))
    assert f"none of the 3 operating sites {which.removeprefix('3 sites ')} in view" in hg.help, hg.help
