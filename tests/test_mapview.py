"""The map as rendered HTML, without Streamlit or a browser: layers, styles, escaping, offline."""
from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import polyline
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import LineString, Point, Polygon

from layers.catalogue import CATALOGUE
from render.map.elements import script_json
from render.map.mapview import (
    aggregate_water,
    build_map,
    display_zoom,
    generalise,
    rule_zone,
)
from render.map.polyline import encode_parts, script_safe
from render.map.standalone import standalone_html
from render.map.symbology import SITE_CLASSES, site_classes, site_styles

XSS = "<img src=x onerror=alert(1)>"
GEOD = Geod(ellps="WGS84")


def _sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"site_id": ["S1", "S2", "S3"], "name": [XSS, "Bogoso", "Prestea"],
         "status": ["active", "abandoned", "active"], "uses_mercury": [True, True, False],
         "amalgamation": ["whole_ore", "concentrate", "none"],
         "gold_kg_per_year": [1.5, None, 2.0],
         "informant_name": ["Ama Secretperson", "x", "y"]},
        geometry=[Point(-2.0, 6.0), Point(-2.01, 6.01), Point(-2.02, 6.0)], crs=4326)


def _water() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"water_id": ["W1", "W2"], "name": ["Ankobra </script><b>x", "Lake"],
         "kind": ["river", "lake"]},
        geometry=[LineString([(-2.001, 5.9), (-2.001, 6.1)]),
                  Polygon([(-2.1, 6.1), (-2.09, 6.1), (-2.09, 6.11), (-2.1, 6.11)])], crs=4326)


def _violations() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"violation_id": ["V1"], "rule_id": ["hg_within_100m_of_water"], "severity": ["high"],
         "site_id": ["S1"], "distance_m": [110.6], "nearest_id": ["W1"],
         "nearest_name": ["Ankobra"],
         "nearest_line": gpd.GeoSeries([LineString([(-2.0, 6.0), (-2.001, 6.0)])], crs=4326)},
        geometry=[Point(-2.0, 6.0)], crs=4326)


@pytest.fixture(scope="module")
def html() -> str:
    m = build_map({"mining_sites": _sites(), "water_bodies": _water()},
                  violations=_violations(), zone_m=100)
    return m.get_root().render()


def test_loads_nothing_from_a_cdn(html: str) -> None:
    srcs = re.findall(r'<script[^>]+src="([^"]+)"', html) + re.findall(r'<link[^>]+href="([^"]+)"', html)
    assert srcs and all(s.startswith("/app/static/vendor/") for s in srcs), srcs
    urls = set(re.findall(r"https?://[^\"' )\\]+", html))
    allowed = {"https://tile.openstreetmap.org/{z}/{x}/{y}.png",
               "https://www.openstreetmap.org/copyright",
               "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}"}
    assert urls <= allowed, urls - allowed


def test_user_values_are_escaped(html: str) -> None:
    assert XSS not in html and "<img" not in html
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in html
    assert "</script><b>" not in html  # a water name cannot close the script element
    assert "hgw.esc" in html  # popups are built through the escaping helper


def test_restricted_fields_never_reach_the_map(html: str) -> None:
    assert "Secretperson" not in html and "informant" not in html


def test_layers_switcher_legend_and_basemaps(html: str) -> None:
    for name in ("Mining sites (3)", "Water bodies (2)", "Violations (1)",
                 "No basemap (offline)", "OpenStreetMap", "Satellite (Esri World Imagery)"):
        assert name in html, name
    assert "L.control.layers" in html
    assert "Whole-ore amalgamation" in html and "hgw-legend" in html
    assert "tileerror" in html and "plain background" in html


def test_styles_come_from_the_catalogue(html: str) -> None:
    water = CATALOGUE["water_bodies"].style
    assert f'"color": "{water.color}"' in html
    styles = site_styles(CATALOGUE["mining_sites"].style)
    assert float(styles["whole_ore"]["radius"]) > float(styles["mercury"]["radius"])  # type: ignore[arg-type]
    assert styles["mercury"]["fillColor"] == CATALOGUE["mining_sites"].style.fill_color
    assert '"whole_ore": {"color": "#67000d"' in html


def test_units_in_popup_fields(html: str) -> None:
    assert '["gold_kg_per_year", "gold kg per year", "kg/year"]' in html
    assert '["distance_m", "distance m", "m"]' in html


def test_lines_travel_as_encoded_polylines(html: str) -> None:
    # the Ankobra line (-2.001 5.9) -> (-2.001 6.1) in Google's encoding at precision 6
    assert script_safe(polyline.encode([(5.9, -2.001), (6.1, -2.001)], 6)) in html
    assert "5.9, -2.001" not in html and "-2.001, 5.9" not in html


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.tuples(st.floats(-180, 180), st.floats(-90, 90)), min_size=1,
                         max_size=30), min_size=1, max_size=8))
def test_encoder_matches_the_polyline_library(parts: list[list[tuple[float, float]]]) -> None:
    arrays = [np.array(p, dtype=float) for p in parts]
    ours = encode_parts(arrays)
    ref = [polyline.encode([(round(y, 6), round(x, 6)) for x, y in p], 6) for p in parts]
    assert ours == ref
    for enc, p in zip(ours, parts):
        back = np.array(polyline.decode(enc, 6))[:, ::-1]
        assert np.abs(back - np.array(p)).max() <= 0.5e-6 + 1e-9


def test_display_zoom_known_boxes() -> None:
    # one degree square at the equator on 1000 x 620 px: 111 km / 620 px = 180 m/px -> zoom 9
    assert display_zoom((0, 0, 1, 1), width_px=1000, height_px=620) == 9
    assert display_zoom((0, 0, 360 / 2 ** 10, 0.0001), width_px=256, height_px=256) == 10


def test_generalise_rounds_and_drops_detail_below_a_pixel() -> None:
    # a 2 km line with its midpoint 1 m off the straight line (at the equator: 1 m ~ 9e-6 deg)
    off = 1.0 / 111_319.49
    line = gpd.GeoSeries([LineString([(0, 0), (0.009, off), (0.018, 0)])], crs=4326)
    coarse = generalise(line, 10)  # one pixel ~ 153 m
    fine = generalise(line, 18)  # one pixel ~ 0.6 m
    assert len(coarse.iloc[0].coords) == 2 and len(fine.iloc[0].coords) == 3
    pt = generalise(gpd.GeoSeries([Point(1.23456789, 2.98765432)], crs=4326), 5).iloc[0]
    assert (pt.x, pt.y) == (1.234568, 2.987654)


def test_aggregate_water_groups_rivers_over_budget() -> None:
    segs = [LineString([(i * 0.01, 0), ((i + 1) * 0.01, 0)]) for i in range(6)]
    water = gpd.GeoDataFrame({"water_id": [f"w{i}" for i in range(6)],
                              "name": ["A", "A", "A", "B", "B", None], "kind": ["river"] * 6},
                             geometry=segs, crs=4326)
    assert len(aggregate_water(water, 6)) == 6
    out = aggregate_water(water, 2).sort_values("segments")
    assert sorted(out["segments"]) == [1, 2, 3]
    assert shapely.get_num_geometries(out.geometry.values).sum() == 6


def test_rule_zone_is_the_distance_in_metres() -> None:
    water = gpd.GeoDataFrame({"water_id": ["W1"]}, geometry=[LineString([(-2.0, 5.0), (-2.0, 6.0)])],
                             crs=4326)
    viol = gpd.GeoDataFrame({"nearest_id": ["W1"]}, geometry=[Point(-2.001, 5.5)], crs=4326)
    zone = rule_zone(water, viol, 100.0).iloc[0]
    for dist, inside in ((99.0, True), (101.0, False)):
        lon, lat, _ = GEOD.fwd(-2.0, 5.5, 90, dist)
        assert zone.contains(Point(lon, lat)) is inside, dist


def test_site_classes_priority() -> None:
    assert site_classes(_sites()).tolist() == ["whole_ore", "mercury_idle", "no_mercury"]


def test_site_classes_read_the_one_definition_of_mercury_use() -> None:
    """``geo.sites.mercury_use`` decides: no amalgamation alone means no mercury, burning
    amalgam in a retort means mercury, and the map agrees with the sidebar's filter."""
    from geo.sites import mercury_use

    sites = gpd.GeoDataFrame(
        {"uses_mercury": [None, None, None, False],
         "amalgamation": ["none", None, None, None], "burning": [None, "retort", None, None],
         "status": ["active", "active", "active", "active"]},
        geometry=[Point(0, 0)] * 4, crs=4326)
    assert site_classes(sites).tolist() == ["no_mercury", "mercury", "unknown", "no_mercury"]
    expected = {"no_mercury": "no mercury", "mercury": "uses mercury", "unknown": "not recorded"}
    assert site_classes(sites).map(expected).tolist() == mercury_use(sites).tolist()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([None, True, False, "yes", 1, 0, np.nan]),
                          st.sampled_from([None, "whole_ore", "none", "<x>", "", 3]),
                          st.sampled_from([None, "active", "abandoned", "??"]),
                          st.sampled_from([None, "open", "retort", "none"])), max_size=12))
def test_site_classes_never_crash_on_garbage(rows: list[tuple[object, ...]]) -> None:
    frame = gpd.GeoDataFrame(
        {"uses_mercury": [r[0] for r in rows], "amalgamation": [r[1] for r in rows],
         "status": [r[2] for r in rows], "burning": [r[3] for r in rows]},
        geometry=[Point(0, 0)] * len(rows), crs=4326)
    assert set(site_classes(frame)) <= {k for k, _ in SITE_CLASSES}


def test_many_points_cluster_and_draw_on_canvas() -> None:
    n = 3500
    sites = gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(n)]},
                             geometry=shapely.points(np.linspace(0, 1, n), np.zeros(n)), crs=4326)
    html = build_map({"mining_sites": sites}).get_root().render()
    assert "L.markerClusterGroup" in html and "preferCanvas\": true" in html
    assert "/app/static/vendor/markercluster-1.4.1/leaflet.markercluster.js" in html


def test_empty_workspace_still_draws_a_map() -> None:
    html = build_map({}).get_root().render()
    assert "L.control.layers" in html


def test_standalone_html_is_self_contained() -> None:
    m = build_map({"mining_sites": _sites(), "water_bodies": _water()},
                  violations=_violations(), zone_m=100)
    doc = standalone_html(m, title="Field map <Ghana>")
    assert not re.search(r"<script[^>]+src=", doc) and not re.search(r"<link[^>]+href=", doc)
    assert "<title>Field map &lt;Ghana&gt;</title>" in doc
    assert XSS not in doc and "url(images/" not in doc
    head_scripts = re.findall(r"<script>(.*?)</script>", doc, flags=re.S)
    assert any("Leaflet 1.9.3" in s for s in head_scripts)
    json.dumps(doc)  # plain text, no bytes


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=12))
def test_script_json_round_trips_and_cannot_break_out(value: object) -> None:
    text = script_json(value)
    assert json.loads(text) == value
    for bad in ("</", "<!--", "{{", "{%", "{#", "\u2028"):
        assert bad not in text


def test_template_syntax_in_a_name_is_not_evaluated() -> None:
    sites = _sites()
    sites.loc[1, "name"] = "{{ 'zq' ~ 'xw' }} {% if true %}x{% endif %} {# c #}"
    html = build_map({"mining_sites": sites}).get_root().render()
    assert "\\u007b\\u007b 'zq' ~ 'xw' \\u007d\\u007d" in html and "zqxw" not in html
