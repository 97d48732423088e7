"""The dashboard through streamlit.testing.v1.AppTest: filters, rule picker, the "what if"
slider, every page, people downstream, and an upload with a bad file. No browser.

Expected figures never come from the functions the app calls: they are counted with plain
pandas from the demo workspace read by geopandas, or worked out by hand on a hand-made river.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point
from streamlit.testing.v1 import AppTest

from layers.store.workspace import DEFAULT_PATH, Workspace

APP = str(Path(__file__).resolve().parent.parent / "app.py")
pytestmark = pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing "
                                "(make install builds it)")
HG_AMALGAMATION = ("whole_ore", "concentrate", "partial")  # README: what "uses mercury" means
HG_BURNING = ("open", "retort")


@pytest.fixture()
def ws_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, path)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    return path


def _layer(path: Path, layer: str) -> gpd.GeoDataFrame:
    """A stored layer read straight from the GeoPackage, not through the app's reader."""
    return gpd.read_file(path, layer=layer)


def _uses_mercury(sites: pd.DataFrame) -> int:
    """Sites that use mercury, counted by hand: they say so, amalgamate, or burn amalgam."""
    said = sites["uses_mercury"].map(lambda v: v is True or v == 1)
    return int((said | sites["amalgamation"].isin(HG_AMALGAMATION)
                | sites["burning"].isin(HG_BURNING)).sum())


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    return at


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _violations(at: AppTest) -> int:
    return int(_metric(at, "Violations").replace(",", ""))


def test_map_page_headline_and_filters(ws_path: Path) -> None:
    sites = _layer(ws_path, "mining_sites")
    at = _app()
    everything = _violations(at)
    assert _metric(at, "Sites in view") == f"{len(sites):,}"
    assert _metric(at, "Using mercury") == f"{_uses_mercury(sites):,}"  # 123 on the demo
    assert "-" in _metric(at, "Hg used (kg/yr)")  # a range, never a bare number
    assert any("g/g, source 003" in c.value for c in at.caption)
    people = next(m for m in at.metric if m.label == "People downstream")
    total = int(people.value.replace(",", ""))
    assert total > 0 and "config/exposure.toml" in people.help and "20 km" in people.help

    area = sorted(sites["admin_area"].dropna().unique())[0]
    at.multiselect(key="f_admin").set_value([area]).run()
    assert not at.exception
    assert _metric(at, "Sites in view") == f"{int((sites['admin_area'] == area).sum()):,}"
    assert int(_metric(at, "People downstream").replace(",", "")) <= total

    at.multiselect(key="f_admin").set_value([]).run()
    dates = pd.to_datetime(sites["survey_date"])
    lo, hi = dt.date(2022, 7, 1), dt.date(2024, 6, 30)
    at.date_input(key="f_dates").set_value((lo, hi)).run()
    assert not at.exception
    kept = (dates.isna() | ((dates >= pd.Timestamp(lo)) & (dates <= pd.Timestamp(hi)))).sum()
    assert 0 < kept < len(sites)
    assert _metric(at, "Sites in view") == f"{int(kept):,}"
    at.date_input(key="f_dates").set_value((dates.min().date(), dates.max().date())).run()
    at.multiselect(key="f_mercury").set_value(["no mercury"]).run()
    assert not at.exception
    assert _metric(at, "Using mercury") == "0"
    assert _violations(at) < everything
    at.multiselect(key="f_rules").set_value(["HG-WATER-100"]).run()
    assert _violations(at) == 0  # no mercury used, so no mercury-near-water flag


def test_rule_picker_and_what_if_slider(ws_path: Path) -> None:
    at = _app()
    at.multiselect(key="f_rules").set_value(["HG-WATER-100"]).run()
    base = _violations(at)
    assert base > 0 and _metric(at, "Critical / high") == f"{base} / 0"
    counts = {}
    at.toggle(key="whatif_on").set_value(True).run()
    for metres in (50, 100, 237, 500):
        at.slider(key="whatif_m").set_value(metres).run()
        assert not at.exception
        counts[metres] = _violations(at)
    assert counts[100] == base  # the rule's own distance gives the rule's own answer
    assert counts[50] <= counts[100] <= counts[237] <= counts[500]
    assert counts[50] < counts[500]
    assert any("What if" in i.value for i in at.info)


def test_every_page_runs(ws_path: Path) -> None:
    at = _app()
    at.switch_page("ui/pages/violations.py").run()
    assert not at.exception
    assert at.dataframe and any("violations" in m.value for m in at.markdown)
    at.selectbox(key="wb_area").set_value(at.selectbox(key="wb_area").options[-1]).run()
    assert not at.exception
    at.switch_page("ui/pages/provenance.py").run()
    assert not at.exception
    assert any("hundreds of metres" in m.value for m in at.markdown)
    at.switch_page("ui/pages/imports.py").run()
    assert not at.exception


# A hand-made river along 6 deg N, flowing east (first vertex to last), a vertex every 0.01 deg
# so that it follows the parallel to the millimetre whether edges are read as straight lines
# in lon/lat or as geodesics. Near 6 deg N one degree of longitude is 110,714 m and one degree
# of latitude 110,597 m (WGS84): 0.0003 deg of latitude is 33 m, 0.04 deg of longitude 4,429 m.
RIVER = LineString([(round(-1.65 + i / 100, 2), 6.0) for i in range(36)])
SITES = [  # site_id, name, lon, lat, says it uses mercury, amalgamation; metres from the river
    ("S1", "Upstream camp", -1.60, 6.0003, True, "concentrate"),   # 33 m: traced, flagged
    ("S2", "Dry pit", -1.50, 6.00135, True, "concentrate"),        # 149 m: neither at 100 m
    ("S3", "Clean works", -1.45, 6.0002, False, "none"),           # 22 m, but no mercury
]
AREAS = [  # area_id, name, lon, lat, population; seen from S1's entry point at -1.60
    ("A1", "Downstream village", -1.56, 6.005, 1200),  # 4.43 km along, 553 m off: counted
    ("A2", "Second village", -1.45, 5.996, 300),       # 16.61 km along, 442 m off: counted
    ("A3", "Upstream village", -1.62, 6.003, 5000),    # 332 m off, but upstream of S1
    ("A4", "Beyond the reach", -1.35, 6.003, 7000),    # 27.7 km along (only 16.6 from S2)
    ("A5", "Hill town", -1.50, 6.010, 900),            # 1,106 m off the river: outside 1 km
]


@pytest.fixture()
def river_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace of one river, three sites and five villages with known answers."""
    ws = Workspace(tmp_path / "river.gpkg")
    sites = gpd.GeoDataFrame(
        [{"site_id": i, "name": n, "status": "active", "uses_mercury": hg, "amalgamation": am,
          "burning": "none", "admin_area": "Test", "geometry": Point(x, y)}
         for i, n, x, y, hg, am in SITES], crs=4326)
    water = gpd.GeoDataFrame({"water_id": ["R1"], "name": ["Test river"], "kind": ["river"],
                              "flow": ["forward"]}, geometry=[RIVER], crs=4326)
    areas = gpd.GeoDataFrame(
        [{"area_id": i, "name": n, "population": p, "place": "village", "geometry": Point(x, y)}
         for i, n, x, y, p in AREAS], crs=4326)
    ws.write_layers([("mining_sites", sites), ("water_bodies", water),
                     ("residential_areas", areas)], source="hand-made test river")
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(ws.path))
    return ws.path


@pytest.mark.usefixtures("river_path")
def test_people_downstream_and_what_if_on_a_hand_made_river() -> None:
    at = _app()
    assert _metric(at, "Sites in view") == "3" and _metric(at, "Using mercury") == "2"
    # A1 + A2 only: not upstream (A3), not past 20 km of S1 (A4), not 1.1 km off (A5), and
    # S2 lies 149 m from the river, beyond the 100 m entry distance, so it is not traced
    assert _metric(at, "People downstream") == "1,500"
    at.multiselect(key="f_rules").set_value(["HG-WATER-100"]).run()
    assert _violations(at) == 1 and _metric(at, "Critical / high") == "1 / 0"  # S1 only
    at.toggle(key="whatif_on").set_value(True).run()
    for metres, flagged in ((50, 1), (148, 1), (150, 2), (500, 2)):  # S1 at 33 m, S2 at 149 m
        at.slider(key="whatif_m").set_value(metres).run()
        assert not at.exception
        assert _violations(at) == flagged, metres
    at.toggle(key="whatif_on").set_value(False).run()

    at.switch_page("ui/pages/violations.py").run()
    assert not at.exception
    table = at.dataframe(key="wb_table").value
    assert list(table["site"]) == ["S1"]
    at.session_state["wb_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    detail = next(t.value for t in at.text if t.value.startswith("People downstream")).splitlines()
    assert detail[0].startswith("People downstream: 1,500 in 2 settlements within 1 km of the "
                                "river, 20 km downstream"), detail
    rows = [re.fullmatch(r"\s*(.+) \((A\d)\): ([\d,]+) people, ([\d.]+) km along the river, "
                         r"([\d,]+) m from it", line) for line in detail[1:]]
    assert all(rows), detail
    found = [(m[2], int(m[3].replace(",", "")), float(m[4]), int(m[5].replace(",", "")))
             for m in rows if m]
    assert [f[:2] for f in found] == [("A1", 1200), ("A2", 300)]  # nearest first
    assert found[0][2] == pytest.approx(4.43, abs=0.02) and found[0][3] == pytest.approx(553, abs=3)
    assert found[1][2] == pytest.approx(16.61, abs=0.02) and found[1][3] == pytest.approx(442, abs=3)


def _geojson(features: list[dict]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def _site(props: dict, lon: float = -1.5, lat: float = 6.0) -> dict:
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def test_upload_bad_file_shows_its_problems_in_file_order(ws_path: Path) -> None:
    before = len(_layer(ws_path, "mining_sites"))
    at = _app()
    at.switch_page("ui/pages/imports.py").run()
    bad = _geojson([_site({"site_id": "A1", "status": "bogus", "name": "<b>x</b>"}),
                    _site({"site_id": "A1", "status": "active"}),
                    _site({"site_id": "A3", "status": "closed-ish", "miners": -4})])
    name = "mining_sites ![x](evil.png).geojson"
    at.file_uploader[0].set_value((name, bad, "application/geo+json")).run()
    assert not at.exception
    assert any("was not imported" in e.value for e in at.error)
    # the user's file name is shown as text, never as a Markdown image or link
    assert all("![x](" not in e.value for e in at.error)
    assert any("\\!\\[x\\]\\(evil" in e.value for e in at.error)
    assert [e.label for e in at.expander] == ["4 errors"]  # one table, in file order
    table = at.dataframe[0].value
    assert list(table["row"]) == sorted(table["row"]) and {"status", "site_id"} <= set(table["field"])
    assert len(_layer(ws_path, "mining_sites")) == before  # nothing was stored


def test_upload_good_file_and_add(ws_path: Path) -> None:
    at = _app()
    at.switch_page("ui/pages/imports.py").run()
    good = _geojson([_site({"site_id": "N1", "status": "active", "uses_mercury": True}),
                     _site({"site_id": "N2", "status": "inactive"}, lon=-1.6)])
    at.file_uploader[0].set_value(("mining_sites.geojson", good, "application/geo+json")).run()
    assert not at.exception and any("are valid" in s.value for s in at.success)
    stored = len(_layer(ws_path, "mining_sites"))
    # two rows would replace the whole stored layer: the page says how many go and asks first
    assert any(f"holds {stored} rows" in w.value and f"{stored - 2} rows would go" in w.value
               for w in at.warning), [w.value for w in at.warning]
    assert at.button(key="imp_add").disabled
    at.checkbox(key="imp_replace_all").check().run()
    assert not at.button(key="imp_add").disabled
    at.button(key="imp_add").click().run()
    assert not at.exception
    assert sorted(_layer(ws_path, "mining_sites")["site_id"]) == ["N1", "N2"]


def test_upload_a_workbook_asks_which_sheet(ws_path: Path) -> None:
    import io

    import openpyxl
    book = openpyxl.Workbook()
    north = book.active
    north.title = "north"
    north.append(["site_id", "status", "lon", "lat"])
    north.append(["A", "active", -1.99, 5.30])
    south = book.create_sheet("south")
    south.append(["site_id", "status", "lon", "lat"])
    south.append(["B", "active", -1.98, 5.31])
    south.append(["C", "active", -1.97, 5.31])
    data = io.BytesIO()
    book.save(data)
    at = _app()
    at.switch_page("ui/pages/imports.py").run()
    at.file_uploader[0].set_value(("mining_sites.xlsx", data.getvalue(), "application/vnd.ms-excel")).run()
    assert not at.exception
    assert at.selectbox(key="imp_part").options == ["north", "south"]
    at.selectbox(key="imp_part").select("south").run()
    assert any("2 mining sites are valid" in s.value for s in at.success), [s.value for s in at.success]


def test_a_workspace_that_is_not_a_geopackage_is_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$HGWATCH_WORKSPACE naming a CSV: a message naming the file on every page, no exception,
    and the file untouched."""
    budget = tmp_path / "budget.csv"
    budget.write_text("line,amount\n1,100\n")
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(budget))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    assert any("cannot be opened" in e.value for e in at.error)
    assert any("budget.csv" in c.value and "GeoPackage" in c.value for c in at.code), [c.value for c in at.code]
    at.switch_page("ui/pages/violations.py").run()
    assert not at.exception and any("cannot be opened" in e.value for e in at.error)
    assert budget.read_text() == "line,amount\n1,100\n"
