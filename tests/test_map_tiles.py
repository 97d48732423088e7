"""Vector tiles (issue 13 B) without a browser: what the archives and rows files hold, when a
bundle is reused or rebuilt, the cleanup, the style conversion, the settings, the stand-alone
map, and the whole-column popup values against ``cell`` as the oracle."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import shapely.geometry
from hypothesis import given, settings
from hypothesis import strategies as st

from render.map.mapview import MapOptions, build_map
from render.map.popups import cell, column_values
from render.map.standalone import standalone_html
from render.map.symbology import site_classes
from render.map.tiles import CHUNK, PMTILES, ROWS, TileError, TileStore, Zooms, rows_file, tippecanoe_path
from render.map.vectortiles import paint_rules
from tests.test_mapview import XSS, _sites, _violations, _water

DECODE = None if tippecanoe_path() is None else tippecanoe_path().with_name("tippecanoe-decode")
needs_tippecanoe = pytest.mark.skipif(DECODE is None, reason="tippecanoe is not installed")


def _tiled(tmp: Path, sites: gpd.GeoDataFrame, above: int = 1) -> tuple[str, TileStore]:
    store = TileStore(tmp / "tiles", "/app/static/tiles")
    m = build_map({"mining_sites": sites, "water_bodies": _water()}, violations=_violations(),
                  zone_m=100, options=MapOptions(tiles=store, tiles_above=above))
    return m.get_root().render(), store


def _features(archive: Path) -> list[dict]:
    """Every feature of the archive's deepest zoom, decoded by tippecanoe-decode."""
    assert DECODE is not None
    doc = json.loads(subprocess.run([str(DECODE), str(archive)], capture_output=True, text=True,
                                    check=True).stdout)
    top = max(t["properties"]["zoom"] for t in doc["features"])
    return [f for t in doc["features"] if t["properties"]["zoom"] == top
            for layer in t["features"] for f in layer["features"]]


@needs_tippecanoe
def test_large_layers_travel_as_vector_tiles_with_only_shown_fields(tmp_path: Path) -> None:
    html, store = _tiled(tmp_path, _sites(), above=2)  # 3 sites are tiled, 2 water bodies not
    assert html.count("hgwVT.make(") == 1 and "hgw.decode" in html  # water stays rows
    assert "/app/static/vendor/protomaps-leaflet-5.1.0/protomaps-leaflet.js" in html
    assert "Bogoso" not in html and "Secretperson" not in html  # site rows are not on the page
    (bundle,) = [p for p in (tmp_path / "tiles").iterdir() if not p.name.startswith(".")]
    assert f'"url":"/app/static/tiles/{bundle.name}"' in html
    feats = _features(bundle / PMTILES)
    assert {f["id"] for f in feats} == {0, 1, 2}  # (a point on a tile edge is in both)
    assert all(f["properties"].keys() == {"c"} for f in feats)  # the class, nothing else
    assert {f["properties"]["c"] for f in feats} == {"whole_ore", "mercury_idle", "no_mercury"}
    rows_text = (bundle / ROWS).read_text(encoding="utf-8")
    assert "Secretperson" not in rows_text and "informant" not in rows_text
    fields = json.loads(re.search(r'hgwVT\.make\((\{.*?\})\);', html).group(1))["popup"]["fields"]
    rows = json.loads(rows_text)
    assert rows[0][[f[0] for f in fields].index("name")] == XSS  # plain value; hgw.popup escapes
    assert "\\u003cimg" not in rows_text and "<img" in rows_text


@needs_tippecanoe
def test_bundles_follow_the_data_and_are_reused(tmp_path: Path) -> None:
    store = TileStore(tmp_path / "t", "/x")
    zooms = Zooms.for_view(9)
    sites = _sites()
    fields = [["site_id", "site id", ""], ["name", "name", ""]]
    classes = site_classes(sites)
    first = store.bundle(sites, name="s", classes=classes, fields=fields, zooms=zooms)
    again = store.bundle(sites.copy(), name="s", classes=classes, fields=fields, zooms=zooms)
    assert again.key == first.key and again.offsets == first.offsets
    renamed = sites.assign(name=["a", "b", "c"])
    moved = sites.set_geometry(sites.translate(0.001))
    keys = {store.bundle(f, name="s", classes=classes[f.index], fields=fields, zooms=zooms).key
            for f in (renamed, moved, sites.iloc[:2])}  # another value, place, filter
    assert len(keys | {first.key}) == 4
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == sorted(keys | {first.key})


def test_clean_keeps_recent_bundles_and_removes_dead_builds(tmp_path: Path) -> None:
    store = TileStore(tmp_path, "/x", keep=2, min_age_s=600)
    now = time.time()
    for i, age in enumerate((0, 700, 800, 900, 100)):
        (tmp_path / f"b{i}").mkdir()
        os.utime(tmp_path / f"b{i}", (now - age, now - age))
    for name, age in ((".dead-1", 4000), (".live-2", 60)):
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (now - age, now - age))
    store.clean()
    # newest two kept (b0, b4), b1..b3 are older than 10 min beyond them; a build still
    # running (.live-2) is kept, one dead an hour ago is removed
    assert sorted(p.name for p in tmp_path.iterdir()) == [".live-2", "b0", "b4"]


def test_rows_file_chunks_at_their_offsets(tmp_path: Path) -> None:
    n = CHUNK * 2 + 5
    frame = pd.DataFrame({"a": [f"<{i}>" for i in range(n)], "b": [float(i) / 3 for i in range(n)]})
    offsets = rows_file(frame, ["a", "b"], tmp_path / "r.json")
    data = (tmp_path / "r.json").read_bytes()
    assert len(offsets) == 4 and offsets[-1] == len(data)
    last = json.loads(data[offsets[2]:offsets[3]])
    assert last[-1] == [f"<{n - 1}>", round((n - 1) / 3, 4)] and len(last) == 5


def test_paint_rules_follow_the_leaflet_styles() -> None:
    styles = {"a": {"color": "#ff0000", "opacity": 0.5, "weight": 2, "radius": 10, "fill": False,
                    "dashArray": "6 4"},
              "b": {"color": "#00ff00", "fillColor": "#0000ff", "fillOpacity": 0.25, "radius": 4}}
    rules = paint_rules(styles, ["a", "b"], {("a", 1), ("b", 1), ("b", 2)})
    assert [(r["cls"], r["geom"]) for r in rules] == [("b", 2), ("a", 1), ("b", 1)]  # b on top
    assert rules[1] == {"cls": "a", "geom": 1, "width": 2.0, "stroke": "rgba(255,0,0,0.5)",
                        "radius": 10.0, "dash": [6.0, 4.0]}  # a ring: no fill
    assert rules[2]["fill"] == "rgba(0,0,255,0.25)" and "fill" not in rules[0]  # a line


def test_zooms_keep_a_pixel_at_zoom_18() -> None:
    for view in range(0, 19):
        z = Zooms.for_view(view)
        assert 0 <= z.max_zoom <= 14 and z.detail + z.max_zoom <= 30
        assert 26 - z.max_zoom - z.detail <= 0 or z.max_zoom == 14  # <= 1 px per tile unit


def test_tile_settings_from_the_environment() -> None:
    from geo.errors import InputError
    from services.tiles import basemap, tiles_above

    assert tiles_above({}) == MapOptions.tiles_above and tiles_above({"HGWATCH_TILES_ABOVE": "50"}) == 50
    assert basemap({"HGWATCH_BASEMAP": "None"}) == "none" and basemap({}) == "osm"
    with pytest.raises(InputError, match=r"HGWATCH_TILES_ABOVE: value '-5': expected a whole number"):
        tiles_above({"HGWATCH_TILES_ABOVE": "-5"})
    with pytest.raises(InputError, match=r"HGWATCH_BASEMAP: value 'google'"):
        basemap({"HGWATCH_BASEMAP": "google"})


@needs_tippecanoe
def test_standalone_map_carries_its_tiles(tmp_path: Path) -> None:
    store = TileStore(tmp_path / "tiles", "/app/static/tiles")
    m = build_map({"mining_sites": _sites()}, options=MapOptions(tiles=store, tiles_above=1))
    doc = standalone_html(m)
    assert "/app/static/" not in doc and not re.search(r"<script[^>]+src=", doc)
    assert '"inline":{"tiles":"' in doc and "var pmtiles" in doc and "protomapsL" in doc


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(-10**6, 10**6),
                          st.floats(allow_nan=True, allow_infinity=True, width=32),
                          st.one_of(st.none(), st.text(max_size=6)),
                          st.one_of(st.none(), st.datetimes(min_value=dt.datetime(1990, 1, 1),
                                                            max_value=dt.datetime(2030, 1, 1))),
                          st.one_of(st.none(), st.integers(0, 9), st.text(max_size=3))),
                min_size=1, max_size=20), st.booleans())
def test_column_values_equal_cell_by_cell(rows: list[tuple], gaps: bool) -> None:
    """The whole-column popup values equal ``cell`` applied value by value (the oracle)."""
    cols = list(zip(*rows))
    frame = pd.DataFrame({"b": pd.array(cols[0], dtype="boolean"), "i": list(cols[1]),
                          "f": list(cols[2]), "s": list(cols[3]),
                          "d": pd.to_datetime(pd.Series(cols[4], dtype=object)), "o": list(cols[5])})
    if gaps:  # nullable columns with a gap take the value-by-value path
        frame["b"] = frame["b"].where(frame.index > 0)
        frame["i"] = frame["i"].astype("Int64").where(frame.index > 0)
    oracle = [[cell(v) for v in row] for row in frame.itertuples(index=False)]
    assert column_values(frame, list(frame.columns)) == oracle


@needs_tippecanoe
def test_an_unwritable_tile_folder_falls_back_to_rows(tmp_path: Path) -> None:
    """A tile folder that cannot be written (a file stands in its place) draws the map as rows,
    with every feature still on it, instead of failing the page."""
    from services.tiles import draw_map

    blocker = tmp_path / "tiles"
    blocker.write_text("not a folder", encoding="utf-8")
    store = TileStore(blocker, "/x")
    with pytest.raises(TileError, match=r"cannot write vector tiles to .*tiles"):
        store.bundle(_sites(), name="s", classes=site_classes(_sites()),
                     fields=[["name", "name", ""]], zooms=Zooms.for_view(9))
    m = draw_map({"mining_sites": _sites()}, violations=None, zone_m=None,
                 options=MapOptions(tiles=store, tiles_above=1, basemap="none"))
    html = m.get_root().render()
    assert "hgwVT.make(" not in html and "Prestea" in html  # the rows path


@needs_tippecanoe
def test_a_wholly_restricted_layer_is_never_written_to_the_static_folder(tmp_path: Path) -> None:
    """Mercury trade (the whole layer closed) stays rows on the signed-in page even above the
    threshold: the static folder serves its archives to anyone who has the address."""
    trade = gpd.GeoDataFrame({"record_id": ["T1", "T2", "T3"], "kind": ["trader"] * 3,
                              "notes": ["Secrettrader route"] * 3},
                             geometry=gpd.points_from_xy([-2.0, -2.1, -2.2], [5.0, 5.1, 5.2]), crs=4326)
    store = TileStore(tmp_path / "tiles", "/app/static/tiles")
    html = build_map({"mining_sites": _sites(), "mercury_trade": trade},
                     options=MapOptions(tiles=store, tiles_above=1)).get_root().render()
    assert html.count("hgwVT.make(") == 1  # the sites only
    written = b"".join(f.read_bytes() for f in (tmp_path / "tiles").rglob("*") if f.is_file())
    assert b"Secrettrader" not in written and b"T2" not in written
    assert "T2" in html  # drawn, as rows, for the analyst who asked


def _configs(html: str) -> list[dict]:
    return [json.loads(c) for c in re.findall(r'hgwVT\.make\((\{.*?\})\);', html)]


@needs_tippecanoe
def test_the_rule_zone_of_tiled_violations_travels_unmerged_beside_them(tmp_path: Path) -> None:
    """Above the threshold the rule buffers go into an archive with the violations, one polygon
    per flagged water body as ``rule_zone`` makes them (W1's and W2's overlap, never merged on
    the server), painted dissolved and not clickable; no buffer is drawn as rows."""
    from shapely.geometry import LineString, Point

    water = gpd.GeoDataFrame({"water_id": ["W1", "W2", "W3"], "name": ["A", "B", "C"], "kind": ["river"] * 3},
                             geometry=[LineString([(-2.0, 6.0), (-2.0, 6.01)]),  # W2 166 m east of W1
                                       LineString([(-1.9985, 6.0), (-1.9985, 6.01)]),
                                       LineString([(-1.9, 6.0), (-1.9, 6.01)])], crs=4326)  # not flagged
    sites = [Point(-2.0005, 6.002), Point(-1.998, 6.004), Point(-2.0004, 6.008)]
    violations = gpd.GeoDataFrame(
        {"violation_id": ["V1", "V2", "V3"], "rule_id": ["hg_within_100m_of_water"] * 3, "severity": ["high"] * 3,
         "site_id": ["S1", "S2", "S3"], "distance_m": [55.3, 55.3, 44.2], "nearest_id": ["W1", "W2", "W1"],
         "nearest_line": gpd.GeoSeries([LineString([(p.x, p.y), (x, p.y)]) for p, x in
                                        zip(sites, (-2.0, -1.9985, -2.0))], crs=4326)},
        geometry=sites, crs=4326)
    store = TileStore(tmp_path / "tiles", "/app/static/tiles")
    html = build_map({"mining_sites": _sites(), "water_bodies": water}, violations=violations, zone_m=100,
                     options=MapOptions(tiles=store, tiles_above=2)).get_root().render()
    (zone,) = [c for c in _configs(html) if c["layer"] == "violations_zone"]
    assert zone["popup"] is None and zone["features"] == 2
    assert [(r["geom"], r["dissolve"], r["dash"]) for r in zone["rules"]] == [(3, True, [2.0, 4.0])]
    assert 'var styles = {"zone"' not in html  # no merged zone as rows: it is not drawn twice
    feats = _features(tmp_path / "tiles" / zone["url"].rsplit("/", 1)[1] / PMTILES)
    assert {f["id"] for f in feats} == {0, 1} and {f["properties"]["c"] for f in feats} == {"zone"}
    polys = {f["id"]: shapely.geometry.shape(f["geometry"]) for f in feats}
    between, east, west = Point(-1.99925, 6.005), Point(-2.0 + 0.00045, 6.005), Point(-2.0 - 0.0011, 6.005)
    assert polys[0].contains(between) and polys[1].contains(between)  # 83 m from both: two polygons overlap there
    assert polys[0].contains(east) and not polys[1].contains(east)  # 50 m east of W1, 116 m from W2
    assert not any(p.contains(west) for p in polys.values())  # 122 m west of W1
    assert not any(p.intersects(Point(-1.9, 6.005).buffer(0.002)) for p in polys.values())  # W3 not flagged


@needs_tippecanoe
def test_few_violations_keep_the_merged_zone_as_rows(tmp_path: Path) -> None:
    """At or below the threshold the violations, and so their zone, stay rows as before."""
    html, _ = _tiled(tmp_path, _sites(), above=5)
    assert not any(c["layer"] == "violations_zone" for c in _configs(html))
    assert 'var styles = {"zone"' in html


@needs_tippecanoe
def test_the_zone_archive_on_disk_costs_no_buffers_and_follows_the_distance(tmp_path: Path, monkeypatch) -> None:
    """The zone's archive is keyed by the flagged water and the distance: found on disk, no buffer
    is made (``zone_buffers`` is not called); another distance is another archive."""
    import render.map.mapview as mv

    store = TileStore(tmp_path / "tiles", "/app/static/tiles")

    def zone_url(zone_m: float) -> str:
        html = build_map({"mining_sites": _sites(), "water_bodies": _water()}, violations=_violations(),
                         zone_m=zone_m, options=MapOptions(tiles=store, tiles_above=0)).get_root().render()
        (zone,) = [c for c in _configs(html) if c["layer"] == "violations_zone"]
        return zone["url"]
    first = zone_url(100)

    def no_buffers(*_a: object) -> None:
        raise AssertionError("buffers made although the archive is on disk")
    monkeypatch.setattr(mv, "zone_buffers", no_buffers)
    assert zone_url(100) == first
    monkeypatch.undo()
    assert zone_url(150) != first


_GEOMS = [shapely.Point(0, 0), shapely.LineString([(0, 0), (1, 1)]), shapely.LinearRing([(0, 0), (1, 0), (1, 1)]),
          shapely.box(0, 0, 1, 1), shapely.MultiPoint([(0, 0), (1, 1)]),
          shapely.MultiLineString([[(0, 0), (1, 1)], [(2, 2), (3, 3)]]),
          shapely.MultiPolygon([shapely.box(0, 0, 1, 1)]), shapely.GeometryCollection([shapely.Point(0, 0)])]


@given(st.lists(st.tuples(st.sampled_from(["whole_ore", "mercury", "7", None, 1.5, "nan"]),
                          st.integers(0, len(_GEOMS) - 1)), min_size=1, max_size=40))
@settings(max_examples=60, deadline=None)
def test_present_pairs_equal_the_row_by_row_set(rows: list[tuple[object, int]]) -> None:
    """``_present`` (whole columns) against the set of zipped rows it replaced."""
    from render.map.vectortiles import GEOM_KIND, _present

    classes = pd.Series([r[0] for r in rows], dtype=object)
    geoms = gpd.GeoSeries([_GEOMS[r[1]] for r in rows], crs=4326)
    reference = set(zip(classes.astype(str), geoms.geom_type.map(GEOM_KIND).fillna(0).astype(int)))
    # a missing class (pandas keeps None missing through astype(str)) matches no paint rule either way
    assert _present(classes, geoms.values) == {(c, k) for c, k in reference if isinstance(c, str)}


@needs_tippecanoe
def test_the_archive_header_travels_with_the_page(tmp_path: Path) -> None:
    """What pmtiles reads first (the 127-byte header and the root directory) is in the layer's
    configuration, so the browser's tile requests need not wait for it; nothing more (no tile,
    no metadata); the stand-alone map, which carries the whole archive, does not carry it twice."""
    import base64
    import struct

    html, _ = _tiled(tmp_path, _sites(), above=2)
    (bundle,) = [p for p in (tmp_path / "tiles").iterdir() if not p.name.startswith(".")]
    config = json.loads(re.search(r'hgwVT\.make\((\{.*?\})\);', html).group(1))
    data = (bundle / PMTILES).read_bytes()
    root_offset, root_length = struct.unpack_from("<QQ", data, 8)  # PMTiles v3 header fields
    assert data[:7] == b"PMTiles" and root_offset == 127 and 127 + root_length < len(data)
    assert base64.b64decode(config["head"]) == data[:127 + root_length]
    store = TileStore(tmp_path / "alone", "/app/static/tiles")
    doc = standalone_html(build_map({"mining_sites": _sites()}, options=MapOptions(tiles=store, tiles_above=1)))
    assert '"inline":{"tiles":"' in doc and '"head":' not in doc
