"""The choropleth of admin units (render.map.choropleth, services.rollups.unit_map / overlay): the HTML
holds each unit's value and class, units with no data are drawn as such (not as zero), a unit name
with markup stays text, the classes never decrease with the value (Hypothesis), and the inventory
and map pages show the unit table and the choropleth through AppTest."""
from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from layers.store.workspace import Workspace
from render.map import mapview
from render.map.choropleth import NO_DATA, ZERO, classify
from services.rollups import overlay, unit_map, unit_rollup
from tests.test_rollups import AREAS, POINT, TODAY, sites

APP = str(Path(__file__).resolve().parent.parent / "app.py")
MARKUP = "<img src=x onerror=alert(1)>{{ 7*7 }}"


def _rows(html: str) -> dict[str, list[object]]:
    """Unit name -> [class, value, tooltip values ...] from the rows the page's script holds."""
    found = re.search(r'var spec = \{[^\n]*"nodata"[^\n]*;\s*var styles = [^\n]*;\s*var rows = (\[.*?\]);\n', html)
    assert found, "no choropleth rows in the HTML"
    return {r[2]: [r[0], *r[3:]] for r in json.loads(found.group(1))}


def _areas(name: str = "At-Bashy") -> gpd.GeoDataFrame:
    areas = AREAS.copy()
    areas.loc[areas["area_code"] == "D21", "name"] = name
    return areas


def test_the_html_holds_each_units_value_and_class() -> None:
    cases = pd.DataFrame({"site_id": ["a", "c", "c"], "status": ["new", "visited", "closed"], "cases": [1, 2, 5]})
    r = unit_rollup({"mining_sites": sites(), "admin_areas": _areas()}, POINT, today=TODAY, level="district",
                    cases=cases)
    by_sites = _rows(unit_map(r, "sites").get_root().render())  # type: ignore[union-attr]
    assert {u: v[:2] for u, v in by_sites.items()} == {"Alamudun": ["c0", 2], "Sokuluk": ["c1", 3],
                                                       "At-Bashy": [ZERO, 0]}
    html = unit_map(r, "hg_high").get_root().render()  # type: ignore[union-attr]
    by_hg = _rows(html)
    assert by_hg["Alamudun"][:2] == ["c1", 15.0] and by_hg["Sokuluk"][:2] == ["c0", 5.0]
    assert by_hg["At-Bashy"][:2] == [NO_DATA, None]  # no site: no data, never 0
    assert "15.0-15.0 kg/yr (central 15.0)" in by_hg["Alamudun"] and "no sites" in by_hg["At-Bashy"]
    assert "Mercury used, upper bound (kg/yr)" in html and "no data" in html
    by_cases = _rows(unit_map(r, "open_cases").get_root().render())  # type: ignore[union-attr]
    assert {u: v[:2] for u, v in by_cases.items()} == {"Alamudun": ["c0", 1], "Sokuluk": ["c1", 2],
                                                       "At-Bashy": [ZERO, 0]}


def test_open_cases_without_a_recorded_run_are_no_data_everywhere() -> None:
    r = unit_rollup({"mining_sites": sites(), "admin_areas": _areas()}, POINT, today=TODAY, level="district")
    got = _rows(unit_map(r, "open_cases").get_root().render())  # type: ignore[union-attr]
    assert {v[0] for v in got.values()} == {NO_DATA}


def test_a_unit_name_with_markup_stays_text() -> None:
    r = unit_rollup({"mining_sites": sites(), "admin_areas": _areas(MARKUP)}, POINT, today=TODAY, level="district")
    html = unit_map(r, "sites").get_root().render()  # type: ignore[union-attr]
    assert "<img src=x" not in html and "{{ 7*7 }}" not in html and "alert(1)>" not in html
    assert "\\u003cimg src=x onerror=alert(1)\\u003e\\u007b\\u007b 7*7 \\u007d\\u007d" in html
    assert MARKUP in _rows(html)  # the name itself arrives whole, for hgw.esc to show as text
    assert "hgw.esc(r[2])" in html


def test_the_overlay_joins_the_main_map_and_its_layer_switcher() -> None:
    r = unit_rollup({"mining_sites": sites(), "admin_areas": _areas()}, POINT, today=TODAY)
    m = overlay(mapview.build_map({"mining_sites": sites()}), r, "sites")
    html = m.get_root().render()
    assert _rows(html)["Chui"][:2] == ["c0", 5]
    assert "hgw-choropleth-legend" in html and html.index("L.control.layers(") > html.index("hgw-choropleth-tip")


def test_classes_for_few_values_zero_and_missing() -> None:
    classes, legend = classify(pd.Series([np.nan, 0.0, 3.0, 1.0, 3.0]))
    assert classes.tolist() == [NO_DATA, ZERO, "c1", "c0", "c1"]
    assert legend == [(ZERO, "0"), ("c0", "1"), ("c1", "3"), (NO_DATA, "no data")]
    classes, legend = classify(pd.Series(np.arange(1.0, 101.0)))
    assert classes.iloc[0] == "c0" and classes.iloc[-1] == "c4"
    assert [label for _, label in legend] == ["> 0 to 21", "> 21 to 41", "> 41 to 61", "> 61 to 81", "> 81 to 100"]


@given(st.lists(st.one_of(st.floats(0, 1e6), st.just(float("nan"))), min_size=1, max_size=60))
def test_classes_never_decrease_with_the_value(values: list[float]) -> None:
    series = pd.Series(values)
    classes, legend = classify(series)
    order = {key: i for i, (key, _) in enumerate(legend)}
    assert set(classes) <= set(order)
    ranked = sorted((v, order[c]) for v, c in zip(values, classes, strict=True) if not np.isnan(v))
    assert [c for _, c in ranked] == sorted(c for _, c in ranked)
    assert all((c == NO_DATA) == np.isnan(v) for v, c in zip(values, classes, strict=True))


# ---------------------------------------------------------------- the pages
@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    ws = Workspace(tmp_path / "ws.gpkg")
    ws.write_layers([("mining_sites", sites()), ("admin_areas", _areas(MARKUP))], source="test", replace_all=True)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(ws.path))
    return ws


def _page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _unit_table(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "unit_code" in d.value.columns and "hg_range" in d.value.columns)


def test_the_inventory_page_shows_the_unit_table_and_the_choropleth(workspace: Workspace) -> None:
    at = _page("ui/pages/inventory.py")
    assert any(s.value == "By admin unit" for s in at.subheader)
    table = _unit_table(at)
    assert dict(zip(table["unit"], table["sites"], strict=True)) == {"Chui": 5, "Naryn": 0, "(not located)": 1}
    assert at.selectbox(key="inv_unit_level").value == "region"
    at.selectbox(key="inv_unit_level").set_value("district").run()
    assert not at.exception, at.exception
    table = _unit_table(at)
    assert dict(zip(table["unit"], table["sites"], strict=True)) == {
        "Alamudun": 2, "Sokuluk": 3, MARKUP: 0, "(not located)": 1}
    at.radio(key="inv_unit_measure").set_value("hg_high").run()
    assert not at.exception, at.exception
    assert any("Monte Carlo draws" in c.value for c in at.caption)


def test_the_inventory_page_says_when_it_falls_back_to_the_free_text(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace(tmp_path / "plain.gpkg")
    ws.write_layers([("mining_sites", sites())], source="test", replace_all=True)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(ws.path))
    at = _page("ui/pages/inventory.py")
    assert any("no admin\\_areas layer" in i.value for i in at.info)
    table = _unit_table(at)
    assert dict(zip(table["unit"], table["sites"], strict=True)) == {"Chui": 2, "Nowhere": 1, "Sokuluk": 3}


def test_the_map_page_shades_units_on_request(workspace: Workspace) -> None:
    at = _page("ui/pages/map.py")
    at.selectbox(key="map_units").set_value("sites").run()
    assert not at.exception, at.exception
    at.selectbox(key="map_units").set_value("open_cases").run()
    assert not at.exception, at.exception
    assert any("No rule run has been recorded" in c.value for c in at.caption)
