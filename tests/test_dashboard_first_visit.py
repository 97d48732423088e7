"""A page's first visit at a country's size: what was done per site in Python is done per layer.

Found profiling the first visit of every page per role at 10,614 sites (the demo and the 5,232 Amazon
Mining Watch footprints imported twice), in AppTest under cProfile (brief H2, 2026-11-27). Each test
here holds the faster path to the answers of the slower one, on real footprints where they matter.
Measured in headless Chromium with the session's first tree and this one served side by side (each step
on one then the other, load 3-5 on 2 cores), server CPU seconds of a role's first visit: Map 9.2-11.0 ->
4.9-6.8, Mercury inventory 4.0-5.1 -> 1.6-2.4, Contamination overlays 5.7-7.4 -> 3.8-4.4, Violations
workbench 1.6-2.4 -> 0.6-1.3, Registers 2.3-3.0 -> 1.6-2.3 (GeoPackage and PostGIS).
"""
from __future__ import annotations

import io
import itertools
import pickle
import shutil
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import branca.element
import folium
import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
import pytest
import shapely
from branca.element import MacroElement
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from streamlit.testing.v1 import AppTest

from layers.store.workspace import DEFAULT_PATH, Workspace
from render.map.choropleth import choropleth_map
from render.map.elements import WrittenOnce, script_json
from render.map.mapview import build_map
from render.map.polyline import encode_geometries, encode_geometry
from render.report import tables
from render.report.areamap import CLASSES, area_map, area_svg, map_svg
from services import hgwatch
from services.view import violations_for
from services.workbench import field_list
from tests.conftest import SHARED

AMAZON = SHARED / "amazon" / "amw_mining_footprints_2024.geojson"
RIVERS = SHARED / "peru" / "gshhg_rivers_madre_de_dios.geojson"
APP = str(Path(__file__).resolve().parent.parent / "app.py")
ODD = [
    Polygon(), MultiPolygon(),  # empty: an empty ring, no polygon
    shapely.from_wkt("MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0), (0.1 0.1, 0.2 0.1, 0.2 0.2, 0.1 0.1)), ((5 5, 6 5, 6 6, 5 5)))"),
    shapely.from_wkt("MULTILINESTRING ((0 0, 1 1), (2 2, 3 3, 4 5))"),
    LineString([(179.9999996, -89.5), (-179.9, 89.9)]),  # rounds up across the antimeridian
    shapely.from_wkt("MULTIPOLYGON (((-2.1 5.3, -2.0 5.3, -2.0 5.4, -2.1 5.3)), EMPTY)"),
]


@pytest.mark.skipif(not AMAZON.exists(), reason="shared data missing")
def test_a_layer_is_encoded_in_one_pass_as_each_geometry_alone() -> None:
    footprints = gpd.read_file(AMAZON).geometry.to_numpy()
    rivers = gpd.read_file(RIVERS).geometry.to_numpy()
    every = np.concatenate([footprints, rivers, np.array(ODD, dtype=object), footprints[:3]])
    got = encode_geometries(every)
    assert len(footprints) == 5232 and len(got) == len(every)
    assert got == [encode_geometry(g) for g in every]  # was 0.7 ms a geometry, one at a time
    assert got[len(footprints) + len(rivers)] == ("P", [[""]])
    assert got[len(footprints) + len(rivers) + 1] == ("P", [])


def test_a_geometry_that_is_no_line_or_polygon_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="cannot encode a Point as a polyline"):
        encode_geometries(np.array([Polygon([(0, 0), (1, 0), (1, 1)]), Point(0, 0)], dtype=object))
    assert encode_geometries(np.array([], dtype=object)) == []


@pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")
def test_the_inventory_maps_svg_is_the_text_reportlab_writes() -> None:
    demo = Workspace(DEFAULT_PATH)
    sites, water = demo.read("mining_sites"), demo.read("water_bodies")
    lake = water[water.geom_type.str.contains("Polygon")]
    assert len(lake) and len(water) > len(lake)  # lines and a polygon to draw
    sites.loc[sites.index[3], "geometry"] = None  # left off the map
    sites.loc[sites.index[4], "geometry"] = Point()
    sites.loc[sites.index[5], "geometry"] = sites.geometry.iloc[5].buffer(0.01)  # a footprint: its inner point
    names = [*CLASSES, "no such class"]  # drawn as not estimable
    classes = [names[i % len(names)] for i in range(len(sites))]
    for kw in ({}, {"water": water}, {"water": water, "width": 250.0, "height": 160.0, "legend": False}):
        svg = area_svg(sites, classes, **kw)
        assert svg == map_svg(area_map(sites, classes, **kw))
        assert svg.count("<circle") == len(sites) - 2 + (len(CLASSES) if kw.get("legend", True) else 0)
    one = sites.iloc[:1]
    assert area_svg(one, classes[:1]) == map_svg(area_map(one, classes[:1]))
    assert area_svg(sites.iloc[:0], []) == map_svg(area_map(sites.iloc[:0], []))  # "no site geometry to draw"


def _page(m: folium.Map, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[int]]:
    """The map's HTML with element ids counted from 0, and the length of every text compiled as a
    template while it was written."""
    count = itertools.count()
    monkeypatch.setattr(branca.element.Element, "_generate_id", classmethod(lambda cls: f"{next(count):032x}"))
    compiled: list[int] = []

    def template(source: str) -> jinja2.Template:
        compiled.append(len(source))
        return jinja2.Template(source)
    monkeypatch.setattr(branca.element, "Template", template)
    fresh = pickle.loads(pickle.dumps(m))  # as HgWatch.map gives it: a Map renders once
    return fresh.get_root().render(), compiled


@pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")
def test_the_map_page_is_written_as_branca_writes_it_without_compiling_its_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    demo = Workspace(DEFAULT_PATH)
    frames = {layer: demo.read(layer) for layer in ("mining_sites", "water_bodies", "residential_areas", "admin_areas")}
    sites = frames["mining_sites"]
    sites.loc[sites.index[0], "name"] = "{{ 7 * 7 }} {# gone #} {% if 1 %}x{% endif %}\r\n<b>"  # a template in a value
    sites.loc[sites.index[1], "geometry"] = sites.geometry.iloc[1].buffer(0.01)  # a footprint: an encoded shape
    violations = gpd.GeoDataFrame({"rule_id": ["HG-WATER-100"], "severity": ["high"], "site_id": [sites["site_id"].iloc[0]],
                                   "nearest_line": [LineString([sites.geometry.iloc[0].coords[0], (-2.0, 5.3)])]},
                                  geometry=[sites.geometry.iloc[0]], crs=4326)
    units = frames["admin_areas"].assign(sites=range(len(frames["admin_areas"])), unit=frames["admin_areas"]["name"])
    maps = [build_map(frames, violations=violations, zone_m=100.0), choropleth_map(units, value="sites", label="sites")]
    for m in maps:
        written, compiled = _page(m, monkeypatch)
        monkeypatch.setattr(WrittenOnce, "render", MacroElement.render)  # branca's way
        want, _ = _page(m, monkeypatch)
        monkeypatch.undo()
        assert written == want
        assert max(compiled) < 10_000  # the rows were compiled as a template: 25-40 KB here, 6 MB at 10,614 sites
    page = _page(maps[0], monkeypatch)[0]
    assert "{{ 7 * 7 }}" not in page
    assert "\\u007b\\u007b 7 * 7 \\u007d\\u007d \\u007b# gone #\\u007d" in page  # escaped, never evaluated


def test_the_field_list_joins_each_sites_distinct_rules_sorted() -> None:
    rows = [  # rule, severity, site, area, distance
        ("HG-WATER-100", "high", "S1", "North", 40.0), ("B-RULE", "critical", "S1", "North", 90.0),
        ("HG-WATER-100", "high", "S1", "North", 60.0), ("A-RULE", "low", "S1", "North", 5.0),
        ("A-RULE", "low", "S2", None, 10.0), ("A-RULE", "low", None, None, 3.0), ("C-RULE", "high", None, None, 7.0),
    ]
    table = pd.DataFrame({"violation_id": [f"v{i}" for i in range(len(rows))], "rule_id": [r[0] for r in rows],
                          "severity": [r[1] for r in rows], "site": [r[2] for r in rows], "site_name": "n",
                          "admin_area": [r[3] for r in rows], "distance_m": [r[4] for r in rows],
                          "nearest_water": "w", "lat": 1.0, "lon": 2.0})
    fl = field_list(table)
    assert fl[["area", "site", "rules", "worst_severity", "closest_m"]].astype(object).where(fl.notna(), None
                                                                                            ).values.tolist() == [
        ["(no area)", None, "A-RULE, C-RULE", "high", 3.0],
        ["(no area)", "S2", "A-RULE", "low", 10.0],
        ["North", "S1", "A-RULE, B-RULE, HG-WATER-100", "critical", 5.0],
    ]


def _on_a_demo_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app opens a copy of the demo workspace (a GeoPackage, whatever the environment says)."""
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(DEFAULT_PATH, path)
    monkeypatch.delenv("HGWATCH_DATABASE_URL", raising=False)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))


@pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")
def test_a_page_that_shows_no_violation_runs_no_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _on_a_demo_copy(tmp_path, monkeypatch)
    runs: list[tuple[str, ...]] = []

    def counted(ruleset: Any, frames: Any, ids: tuple[str, ...], *args: Any, **kwargs: Any) -> Any:
        runs.append(tuple(ids))
        return violations_for(ruleset, frames, ids, *args, **kwargs)
    monkeypatch.setattr(hgwatch, "violations_for", counted)
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("ui/pages/provenance.py").run()  # the first page after start: no violation on it
    assert not at.exception, at.exception
    for page in ("provenance", "audit", "imports", "registers"):
        at.switch_page(f"ui/pages/{page}.py").run()
        assert not at.exception, (page, at.exception)
    assert runs == []  # each ran every rule of the view first (9.7 s at 10,614 sites)
    at.switch_page("ui/pages/map.py").run()
    assert not at.exception, at.exception
    assert len(runs) == 1 and len(runs[0]) > 3  # the Map page shows them: run once, every rule
    sites = int(next(m.value for m in at.metric if m.label == "Sites in view").replace(",", ""))
    assert sites == 150
    at.switch_page("ui/pages/violations.py").run()  # the same view: the run is found again
    assert not at.exception, at.exception
    assert len(runs) == 1 and len(at.dataframe[0].value) > 0


def test_rows_without_a_brace_are_escaped_as_string_by_string() -> None:
    assert script_json([["<b>&</b>", "a\u2028b", None, 1.5], ["x"]]) == (
        '[["\\u003cb\\u003e\\u0026\\u003c/b\\u003e","a\\u2028b",null,1.5],["x"]]')
    assert script_json([["{{ 7 }}", "<"], {"k": "}"}]) == (
        '[["\\u007b\\u007b 7 \\u007d\\u007d","\\u003c"],{"k":"\\u007d"}]')  # braces: each string on its own


@pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")
def test_the_inventory_pages_files_are_made_when_asked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _on_a_demo_copy(tmp_path, monkeypatch)
    made: list[str] = []
    def counted(name: str) -> Any:
        real = getattr(tables, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            made.append(name)
            return real(*args, **kwargs)
        return call
    for name in ("tables_zip", "table_csv"):
        monkeypatch.setattr(tables, name, counted(name))
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("ui/pages/inventory.py").run()
    assert not at.exception, at.exception
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels[:2] == ["Possible re-surveys (CSV)", "Units table (CSV)"]  # the demo's two pairs come first
    at.run()
    assert made == []  # each run zipped every table and wrote two CSVs (0.3 s a click at 10,614 sites)
    zipped = tables.tables_zip(at.session_state["_hgw_view"].service.inventory(None, date.today()))
    assert zipfile.ZipFile(io.BytesIO(zipped)).namelist()  # what the button gives when clicked
