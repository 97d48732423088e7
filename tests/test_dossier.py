"""The case dossier (issue 12) on both back ends: a hand-made site 0.0005 degrees east of a river
on the equator (55.66 m on the WGS84 ellipsoid, worked out here with pyproj, not by the code under
test), a photo attached through the cases service, a visit and a comment. The PDF's text (pypdf)
holds the distance to 0.01 m, the rule's citation and the photo's SHA-256; the HTML escapes
markup planted in the site name and a comment; a partner and a field account of another area
get no dossier; the command line writes one and refuses a bad suffix before anything is read."""
from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import geopandas as gpd
import pypdf
import pytest
import shapely
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image
from pyproj import Geod

import cli
from geo.errors import InputError
from geo.rules import violation_id
from layers.store.base import Store
from layers.store.cases import Case, Comment, Photo, Visit
from layers.store.open import open_store
from render.dossier.document import Dossier, Measured, dossier_bytes, dossier_html, image_type
from services import audit, cases, dossier
from services.auth import Identity
from services.hgwatch import HgWatch
from settings import Settings

ANALYST = Identity("ana", "analyst")
NORTH = Identity("kofi", "field", ("North",))
SOUTH = Identity("esi", "field", ("South",))
PARTNER = Identity("unep", "partner")
MARKUP = "<script>alert('x')</script>"
S1 = violation_id("HG-WATER-100", 2, "mining_sites", "S1")


@pytest.fixture(params=["geopackage", "postgis"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "postgis":
        return Settings(database_url=str(request.getfixturevalue("pg_url")))
    return Settings(workspace=tmp_path / "ws.gpkg")


def _png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _flagged(settings: Settings, name: str = "Site 1") -> Store:
    """S1 (North) 0.0005 degrees east of river W1 on the equator, flagged by a recorded run."""
    store = open_store(settings.workspace, settings.database_url)
    sites = gpd.GeoDataFrame({"site_id": ["S1"], "name": [name], "uses_mercury": [True], "admin_area": ["North"]},
                             geometry=[shapely.Point(0.0005, 0.0)], crs=4326)
    water = gpd.GeoDataFrame({"water_id": ["W1"], "name": ["Ankobra"], "kind": ["river"]},
                             geometry=[shapely.LineString([(0.0, -0.01), (0.0, 0.01)])], crs=4326)
    store.write_layers([("mining_sites", sites), ("water_bodies", water)], source="test", replace_all=True)
    assert HgWatch(settings).check(only=["HG-WATER-100"]).run_id is not None
    return store


def _text(pdf: bytes) -> str:
    """Every word of the PDF's text, single-spaced."""
    words = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(words.split())


def test_the_pdf_holds_the_distance_the_citation_and_the_photo_hashes(settings: Settings, tmp_path: Path) -> None:
    store = _flagged(settings)
    photos = [_png((200, 30, 30)), _png((30, 30, 200))]
    for i, data in enumerate(photos):
        cases.add_photo(store, ANALYST, S1, f"evidence-{i}.png", data)
    cases.set_status(store, NORTH, S1, "visited", note="pits at the bank")
    expected = round(Geod(ellps="WGS84").inv(0.0005, 0.0, 0.0, 0.0)[2], 2)
    assert expected == 55.66
    citation = settings.rules.rule("HG-WATER-100").citation
    out = dossier.write(store, ANALYST, settings, S1, tmp_path / "case.pdf")
    text = _text(out.read_bytes())
    assert "55.66 m" in text
    assert " ".join(citation.split()) in text
    for data in photos:
        assert hashlib.sha256(data).hexdigest() in text
    assert "Ankobra" in text and "pits at the bank" in text and "case status" in text  # measured to, comment, history
    assert "visited" in text
    assert any(r.action == "dossier" and r.target == S1 for r in audit.trail(store))


def test_the_html_escapes_planted_markup_and_inlines_the_photos(settings: Settings, tmp_path: Path) -> None:
    store = _flagged(settings, name=f"Mine {MARKUP}")
    data = _png((10, 200, 10))
    cases.add_photo(store, ANALYST, S1, f"{MARKUP}.png", data)
    cases.add_comment(store, ANALYST, S1, "<img src=x onerror=alert(1)>")
    page = dossier.write(store, ANALYST, settings, S1, tmp_path / "case.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "55.66 m" in page and hashlib.sha256(data).hexdigest() in page
    assert len(re.findall(r"src='data:image/png;base64,", page)) == 1
    assert "<svg" in page  # the map
    assert "rule run (run 1): opened this case" in page and "rules_hash" not in page  # what the run did to it


def test_a_partner_and_a_field_account_of_another_area_get_no_dossier(settings: Settings, tmp_path: Path) -> None:
    store = _flagged(settings)
    for who, words in ((PARTNER, "counts by status only"), (SOUTH, "no such case in your areas")):
        with pytest.raises(InputError, match=words):
            dossier.write(store, who, settings, S1, tmp_path / "no.pdf")
        assert not (tmp_path / "no.pdf").exists()
    assert dossier.dossier(store, NORTH, settings, S1).measured is not None  # its own area: yes


def test_a_site_no_longer_flagged_keeps_the_distance_of_its_last_run(settings: Settings) -> None:
    store = _flagged(settings)
    moved = gpd.GeoDataFrame({"site_id": ["S1"], "name": ["Site 1"], "uses_mercury": [True], "admin_area": ["North"]},
                             geometry=[shapely.Point(0.01, 0.0)], crs=4326)
    store.write_layers([("mining_sites", moved)], source="moved", replace_all=True)
    found = dossier.dossier(store, ANALYST, settings, S1)
    assert found.measured is None and found.case.distance_m == pytest.approx(55.66, abs=0.005)
    html = dossier_html(found)
    assert "no longer flag" in html and "55.66 m" in html


def test_the_command_writes_a_dossier_and_refuses_a_bad_suffix_first(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(workspace=tmp_path / "ws.gpkg")
    _flagged(settings)
    ws = str(settings.workspace)
    assert cli.main(["--workspace", ws, "dossier", S1, "--out", str(tmp_path / "d.pdf")]) == 0
    assert "55.66 m" in _text((tmp_path / "d.pdf").read_bytes())
    assert cli.main(["--workspace", ws, "dossier", S1, "--out", str(tmp_path / "d.docx")]) == 2
    assert "expected" in capsys.readouterr().err and not (tmp_path / "d.docx").exists()
    assert cli.main(["--workspace", ws, "dossier", "HG-WATER-100/0000", "--out", str(tmp_path / "x.html")]) == 2
    assert "no such case" in capsys.readouterr().err and not (tmp_path / "x.html").exists()


def test_only_real_pictures_are_inlined() -> None:
    assert image_type(_png((1, 2, 3))) == "image/png"
    assert image_type(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert image_type(b"<svg onload=alert(1)>") is None and image_type(b"") is None


def _hand_made(text: str) -> Dossier:
    """A dossier built by hand (no store) whose every user-given value is ``text``."""
    case = Case(violation_id="HG-WATER-100/0123456789abcdef", rule_id="HG-WATER-100", rule_version="2",
                subject_layer="mining_sites", site_id=text, site_name=text, admin_area=text, status="visited",
                assignee=text, due_date=None, reason=text, flagged=True, review=text, distance_m=12.345, lon=0.0005,
                lat=0.0, site_wkb=None, fingerprint=None, verdict=None, opened_at="2026-01-01T00:00:00+00:00",
                updated_at="2026-01-02T00:00:00+00:00", first_run=1, last_run=1)
    photo = Photo(case.violation_id, text, "ab" * 32, b"not a picture", None, None, None, "2026-01-02", text)
    return Dossier(case, {"id": "HG-WATER-100", "version": "2", "title": text, "citation": text, "severity": "high"},
                   Measured(12.35, 100.0, text, "water_bodies", text, text, shapely.LineString([(0.0005, 0), (0, 0)]),
                            shapely.LineString([(0, -0.01), (0, 0.01)])),
                   shapely.Point(0.0005, 0.0), [Visit(case.violation_id, None, 0.0, 0.0, 3.0, 55.66, text, text, text)],
                   [photo], [Comment(case.violation_id, "2026-01-02", text, text)], [], [text], "2026-01-03", text, text)


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=1, max_size=60))
def test_any_user_text_adds_no_markup_and_never_breaks_the_pdf(text: str) -> None:
    assert dossier_html(_hand_made(text)).count("<") == dossier_html(_hand_made("x")).count("<")
    pdf = dossier_bytes(_hand_made(text), ".pdf")
    assert "12.35 m" in _text(pdf)


def test_the_people_downstream_of_the_site_are_in_the_dossier(tmp_path: Path) -> None:
    """The river flows north (first to last vertex, ``_flagged``); a village 553 m downstream and
    222 m from the river is listed with its population, one as far upstream is not."""
    settings = Settings(workspace=tmp_path / "ws.gpkg")
    store = _flagged(settings)
    villages = gpd.GeoDataFrame({"area_id": ["V1", "V2"], "name": ["Downstream village", "Upstream village"],
                                 "population": [1200, 800]},
                                geometry=[shapely.Point(0.002, 0.005), shapely.Point(0.002, -0.005)], crs=4326)
    store.write_layers([("residential_areas", villages)], source="test", replace_all=True)
    lines = dossier.dossier(store, ANALYST, settings, S1).people
    assert lines[0].startswith("People downstream: 1,200 in 1 settlement within")
    assert any("Downstream village (V1): 1,200 people" in line for line in lines)
    assert not any("Upstream village" in line for line in lines)
