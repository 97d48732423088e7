"""Inventory report: PDF text read back, HTML escaping, CSV export, map scale bar, CLI, page."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from pypdf import PdfReader
from shapely.geometry import LineString, Point

from cli import main
from geo.errors import InputError
from layers.store.workspace import Workspace
from render.report.areamap import nice_length, scale_bar
from render.report.document import write_report
from render.report.tables import TABLE_TITLES, inventory_tables, select_area, tables_zip, write_csvs
from settings.factors import load_factors

AREA = "Talas <b>&amp; North"  # markup in a user's value must reach the page as text
ROOT = Path(__file__).resolve().parent.parent


def _sites() -> gpd.GeoDataFrame:
    rows = [
        {"site_id": "k1", "name": "<script>alert(1)</script>", "admin_area": AREA,
         "amalgamation": "concentrate", "burning": "open", "gold_kg_per_year": 1124.0,
         "survey_date": "2021-06-01", "geometry": Point(72.0, 42.5)},
        {"site_id": "k2", "name": "no figures", "admin_area": AREA, "amalgamation": "unknown",
         "burning": "unknown", "survey_date": "2021-06-02", "geometry": Point(72.3, 42.6)},
        {"site_id": "o1", "name": "elsewhere", "admin_area": "Other", "amalgamation":
         "concentrate", "burning": "retort", "gold_kg_per_year": 10.0,
         "geometry": Point(74.0, 41.0)},
    ]
    return gpd.GeoDataFrame(rows, crs="EPSG:4326")


def _water() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"water_id": ["w1"]},
                            geometry=[LineString([(71.9, 42.4), (72.4, 42.7)])], crs="EPSG:4326")


def _text_runs(pdf: Path) -> list[tuple[str, str]]:
    """Every piece of text drawn in ``pdf``, stripped, with its font name."""
    runs: list[tuple[str, str]] = []

    def visit(text: str, _cm: object, _tm: object, font: dict[str, object] | None,
              _size: float) -> None:
        if text.strip():
            runs.append((text.strip(), str((font or {}).get("/BaseFont", ""))))

    for page in PdfReader(pdf).pages:
        page.extract_text(visitor_text=visit)
    return runs


@pytest.fixture(scope="module")
def inventory():  # type: ignore[no-untyped-def]
    return inventory_tables(_sites(), load_factors(), area=AREA, today=date(2026, 1, 1))


def test_pdf_holds_area_totals_and_sources(inventory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = write_report(inventory, tmp_path / "r.pdf", sites=select_area(_sites(), AREA),
                       water=_water(), generated=date(2026, 1, 1), data_source="hand-made")
    text = "\n".join(page.extract_text() for page in PdfReader(out).pages)
    flat = " ".join(text.split())
    assert f"Mercury inventory: {AREA}" in flat                 # escaped, read back literally
    assert "Mercury used: 562.0 kg a year" in flat              # 1,124 kg x 0.5 g/g
    assert "1 not estimable" in flat and "2 (0 measured, 1 estimated" in flat
    assert "Data date (latest survey): 2021-06-02" in flat
    for source in ("003 L919-921", "003 L5521-5525", "003 L844-854", "003 L1477-1479"):
        assert source in flat
    assert "Assumptions" in flat and "Sites by release route" in flat
    runs = _text_runs(out)
    assert any(t == "5 km" and f.endswith("+DejaVuSans") for t, f in runs)     # the scale bar's label
    assert any(t == "N" and f.endswith("+DejaVuSans-Bold") for t, f in runs)   # the north arrow's own label
    assert "404" in flat and "6,000" in flat                      # published estimates beside


def test_all_areas_report_has_a_small_map_per_area(tmp_path: Path) -> None:
    inv = inventory_tables(_sites(), load_factors(), today=date(2026, 1, 1))
    out = write_report(inv, tmp_path / "all.pdf", sites=_sites())
    flat = " ".join(" ".join(p.extract_text() for p in PdfReader(out).pages[:2]).split())
    assert "A small map per area" in flat and f"{AREA} N 5 km Other N 500 m" in flat
    page = write_report(inv, tmp_path / "all.html", sites=_sites()).read_text(encoding="utf-8")
    assert page.count("<svg") == 3  # the main map and one per area


def test_html_escapes_user_values(inventory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = write_report(inventory, tmp_path / "r.html", sites=select_area(_sites(), AREA))
    page = out.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Talas &lt;b&gt;&amp;amp; North" in page
    assert "<svg" in page and "562" in page and "003 L919-921" in page
    assert len(re.findall(r"<text [^>]*font-weight: bold[^>]*>N</text>", page)) == 1  # north arrow


def test_every_table_exports_as_csv(inventory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    paths = write_csvs(inventory, tmp_path / "csv")
    assert sorted(p.stem for p in paths) == sorted(TABLE_TITLES)
    totals = pd.read_csv(tmp_path / "csv" / "totals.csv", encoding="utf-8-sig")
    assert totals.loc[0, "used_kg"] == pytest.approx(562.0)
    assert totals.loc[0, "n_not_estimable"] == 1
    sites = pd.read_csv(tmp_path / "csv" / "sites.csv", encoding="utf-8-sig")
    assert list(sites["basis"]) == ["gold kg/year", "not estimable"]
    with zipfile.ZipFile(io.BytesIO(tables_zip(inventory))) as archive:
        assert sorted(archive.namelist()) == sorted(f"{n}.csv" for n in TABLE_TITLES)


def test_scale_bar_is_measured_on_the_ellipsoid() -> None:
    # one degree of longitude on the WGS84 equator is 111,319.49 m
    metres, points = scale_bar((0.0, 0.0, 1.0, 0.0), 111.31949079327357)
    assert metres == 20000.0 and points == pytest.approx(20.0, abs=1e-6)
    # at 60 degrees north a degree of longitude is about half as long (55,799.98 m)
    metres, points = scale_bar((0.0, 59.0, 1.0, 61.0), 100.0)
    assert metres == 10000.0 and points == pytest.approx(100 * 10000 / 55799.98, rel=1e-4)
    assert [nice_length(v) for v in (0.9, 1.0, 3.0, 7.0, 999.0)] == [0.5, 1, 2, 5, 500]


def test_unknown_area_or_no_sites_is_a_clear_error() -> None:
    with pytest.raises(InputError, match=r"no site has admin_area 'Nowhere'.*'Other'"):
        inventory_tables(_sites(), load_factors(), area="Nowhere", today=date(2026, 1, 1))
    with pytest.raises(InputError, match=r"no site has admin_area 'Nowhere': admin_area is empty in all 3 sites;"
                                         r" import the sites with an admin_area field, or leave out --area"):
        inventory_tables(_sites().assign(admin_area=None), load_factors(), area="Nowhere", today=date(2026, 1, 1))
    with pytest.raises(InputError, match="holds no sites"):
        inventory_tables(_sites().iloc[:0], load_factors(), today=date(2026, 1, 1))


def test_minimal_sites_without_optional_fields() -> None:
    frame = pd.DataFrame({"site_id": ["a", "b"], "gold_kg_per_year": [1.0, None]})
    inv = inventory_tables(frame, load_factors(), today=date(2026, 1, 1))
    assert inv.tables["totals"].loc[0, "used_kg"] == pytest.approx(0.5)  # unknown practice
    assert inv.tables["trends"].loc[0, "survey_round"] == "(undated)"
    assert inv.data_date == "not given"


def test_cli_report_from_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mining_sites.geojson"
    _sites().to_file(path, driver="GeoJSON")
    out = tmp_path / "talas.pdf"
    code = main(["--workspace", str(tmp_path / "none.gpkg"), "report", "--area", "Other",
                 "--out", str(out), "--layer", f"mining_sites={path}", "--csv",
                 str(tmp_path / "csv"), "--today", "2026-01-01"])
    assert code == 0, capsys.readouterr().err
    assert "Mercury used: 5.0 kg a year" in capsys.readouterr().out
    assert "Other" in PdfReader(out).pages[0].extract_text()
    assert (tmp_path / "csv" / "comparison.csv").exists()


def test_cli_report_errors_are_messages(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "mining_sites.csv"
    bad.write_text("site_id,longitude,latitude,gold_kg_per_year\na,72,42,-5\n", encoding="utf-8")
    code = main(["report", "--out", str(tmp_path / "x.pdf"), "--layer", f"mining_sites={bad}"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "gold_kg_per_year" in err and "-5" in err
    factors = tmp_path / "f.toml"
    factors.write_text("[settings]\n", encoding="utf-8")
    path = tmp_path / "ok.geojson"
    _sites().to_file(path, driver="GeoJSON")
    code = main(["report", "--out", str(tmp_path / "x.html"), "--factors", str(factors),
                 "--layer", f"mining_sites={path}"])
    err = capsys.readouterr().err
    assert code == 2 and "f.toml" in err and "hg_au_ratio" in err
    code = main(["report", "--out", str(tmp_path / "x.docx"), "--layer", f"mining_sites={path}"])
    err = capsys.readouterr().err
    assert code == 2 and "'.docx'" in err and ".pdf, .html or .htm" in err


def test_inventory_page_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    ws = Workspace(tmp_path / "ws.gpkg")
    ws.write_layer("mining_sites", _sites(), source="hand-made test sites")
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(ws.path))
    at = AppTest.from_file(str(ROOT / "ui" / "pages" / "inventory.py"), default_timeout=60).run()
    assert not at.exception
    assert [m.value for m in at.metric][:4] == ["567", "562", "3", "1"]  # 562 + 5 x 4 %
    at.selectbox(key="inv_area").select("Other").run()
    assert not at.exception
    assert at.metric[0].value == "5"
    at.selectbox(key="inv_metric").select("share_sites_retort").run()
    assert not at.exception
