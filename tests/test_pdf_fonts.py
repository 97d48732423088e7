"""Non-Latin names in the PDFs: the Kyrgyz NAP's places are written in Cyrillic, and a site, a river
or an area named so printed as black boxes (ReportLab's built-in Helvetica holds Latin-1 only). The
PDFs now use DejaVu Sans (render.fonts, installed from npm with the map's assets); the text read back
from the PDF is the name as given, in the report's paragraphs, its tables and its map, and in a case
dossier's facts and map legend."""
from __future__ import annotations

import io
from datetime import date

import geopandas as gpd
import pytest
from pypdf import PdfReader
from shapely.geometry import LineString, Point

from render.fonts import fonts
from render.report.document import report_bytes
from render.report.tables import inventory_tables
from settings.factors import load_factors
from tests.test_pdf_scripts import boxes

AREA, SITE, RIVER = "Чуйская область", "Кумтор", "Нарын"
pytestmark = pytest.mark.skipif(not fonts().unicode, reason="DejaVu fonts not installed (make install)")


def _text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def _fonts(pdf: bytes) -> set[str]:
    """The fonts the PDF's text is drawn in (ReportLab lists Helvetica in every page's resources, unused)."""
    found: set[str] = set()

    def visit(text: str, _cm: object, _tm: object, font: dict[str, object] | None, _size: float) -> None:
        if text.strip():
            found.add(str((font or {}).get("/BaseFont", "")))

    for page in PdfReader(io.BytesIO(pdf)).pages:
        page.extract_text(visitor_text=visit)
    return found


def test_the_inventory_report_prints_cyrillic_names() -> None:
    sites = gpd.GeoDataFrame([{"site_id": "k1", "name": SITE, "admin_area": AREA, "amalgamation": "concentrate",
                               "burning": "open", "gold_kg_per_year": 10.0, "survey_date": "2021-06-01",
                               "geometry": Point(75.0, 42.0)}], crs="EPSG:4326")
    water = gpd.GeoDataFrame({"water_id": ["w1"], "name": [RIVER]},
                             geometry=[LineString([(74.9, 41.9), (75.1, 42.1)])], crs="EPSG:4326")
    inv = inventory_tables(sites, load_factors(), area=AREA, today=date(2026, 1, 1))
    pdf = report_bytes(inv, ".pdf", sites=sites, water=water, data_source="Реестр участков")
    text = _text(pdf)
    assert f"Mercury inventory: {AREA}" in text and "Реестр участков" in text
    assert SITE in text  # the sites table
    assert not any(name.endswith(("Helvetica", "Helvetica-Bold", "Courier")) for name in _fonts(pdf))
    assert boxes(pdf) == []  # every drawn code a real glyph of an embedded font


def test_a_case_dossier_prints_cyrillic_names() -> None:
    from render.dossier.document import dossier_bytes
    from tests.test_dossier import _hand_made  # a dossier built by hand: every user value is the one text

    pdf = dossier_bytes(_hand_made(SITE), ".pdf")
    assert _text(pdf).count(SITE) >= 5  # title, facts, visit, comment, the map's legend
    assert not any(name.endswith(("Helvetica", "Helvetica-Bold", "Courier")) for name in _fonts(pdf))
    assert boxes(pdf) == []
