"""Distances by hand on the real data: 3 Ghana footprints and 3 Peru gold-mining points, each
measured to its nearest GSHHG river with pyproj's Geod alone (every geodesic edge searched by a
scan, then golden sections), against the check's ``distance_m`` (0.01 m). The sites were chosen
near, mid-way and far inside a 3 km rule; their answers are written here as measured.
"""
from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod

import cli

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
GEOD = Geod(ellps="WGS84")
PHI = (math.sqrt(5) - 1) / 2
RULES = """format = 1
title = "distance to the nearest water within 3 km"

[[rules]]
id = "WATER-3KM"
version = 1
title = "any site within 3 km of water"
severity = "low"
citation = "walkthrough"
description = "every site with its nearest water body"
relation = "within_distance"
distance_m = 3000

[rules.subject]
layer = "mining_sites"

[[rules.other]]
layer = "water_bodies"

[[rules.examples]]
expect = "flagged"
note = "55.66 m east of a river"
subject = { wkt = "POINT (0.0005 0)" }
other = { water_bodies = [ { wkt = "LINESTRING (0 -0.01, 0 0.01)", fields = { kind = "river" } } ] }
distance_m = 55.66

[[rules.examples]]
expect = "clear"
note = "5.57 km east of a river"
subject = { wkt = "POINT (0.05 0)" }
other = { water_bodies = [ { wkt = "LINESTRING (0 -0.01, 0 0.01)", fields = { kind = "river" } } ] }
"""


def _to_segment(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    """Metres from ``p`` to the geodesic from ``a`` to ``b``: 200 samples, then golden sections."""
    az, _, length = GEOD.inv(a[0], a[1], b[0], b[1])

    def at(s: float) -> float:
        x, y, _ = GEOD.fwd(a[0], a[1], az, s)
        return float(GEOD.inv(p[0], p[1], x, y)[2])

    if length == 0:
        return float(GEOD.inv(p[0], p[1], a[0], a[1])[2])
    step = length / 200
    values = [at(k * step) for k in range(201)]
    k = min(range(201), key=values.__getitem__)
    lo, hi = max(k - 1, 0) * step, min(k + 1, 200) * step
    c, d = hi - PHI * (hi - lo), lo + PHI * (hi - lo)
    fc, fd = at(c), at(d)
    while hi - lo > 1e-5:
        if fc < fd:
            hi, d, fd = d, c, fc
            c = hi - PHI * (hi - lo)
            fc = at(c)
        else:
            lo, c, fc = c, d, fd
            d = lo + PHI * (hi - lo)
            fd = at(d)
    return min(min(values), fc, fd)


def _segments(g: shapely.Geometry) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    out = []
    for part in getattr(g, "geoms", [g]):
        for ring in ([part.exterior, *part.interiors] if part.geom_type == "Polygon" else [part]):
            c = list(ring.coords)
            out += list(zip(c[:-1], c[1:], strict=True))
    return out


def _nearest(site: shapely.Geometry, rivers: gpd.GeoDataFrame) -> float:
    """Geodesic metres between ``site`` and the nearest river: every vertex of one to every edge of
    the other (the nearest points of two geodesic polylines that do not cross include a vertex)."""
    best = math.inf
    site_edges = [] if site.geom_type == "Point" else _segments(site)
    site_points = [site.coords[0]] if site.geom_type == "Point" else [a for a, _ in site_edges]
    for river in rivers.geometry:
        if river.distance(site) > 0.05:  # degrees, about 5 km: beyond the 3 km of the chosen sites
            continue
        edges = _segments(river)
        for a, b in edges:
            if shapely.LineString([a, b]).distance(site) <= 0.05:
                best = min(best, *(_to_segment(p, a, b) for p in site_points))
        for p in [edges[0][0], *(b for _, b in edges)]:
            for a, b in site_edges:
                best = min(best, _to_segment(p, a, b))
    return best


@pytest.mark.skipif(not (DATA / "ghana").is_dir() or not (DATA / "peru").is_dir(),
                    reason="needs the real open data in ../shared/data (ghana, peru)")
@pytest.mark.parametrize(("region", "sites", "rivers", "chosen"), [
    ("ghana", "amw_mining_footprints_2024.geojson", "gshhg_rivers.geojson",
     {"amw_mining_footprints_2024-39": 18.41, "amw_mining_footprints_2024-283": 1254.21,
      "amw_mining_footprints_2024-171": 2898.63}),
    ("peru", "gold_mining_points.geojson", "gshhg_rivers_madre_de_dios.geojson",
     {"1432": 119.15, "1310": 1420.52, "1161": 2987.39}),
])
def test_distance_to_the_nearest_river_agrees_with_geod_by_hand(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], region: str, sites: str, rivers: str,
        chosen: dict[str, float]) -> None:
    site_file = DATA / region / sites
    frame = gpd.read_file(site_file)
    if "id" in frame.columns:  # Peru: the 2 repeated ids (1187, 1196) are refused; keep the first of each
        frame = frame.drop_duplicates("id")
        site_file = tmp_path / sites
        frame.to_file(site_file, driver="GeoJSON")
    rules, out = tmp_path / "rules.toml", tmp_path / "v.csv"
    rules.write_text(RULES)
    assert cli.main(["check", "--rules", str(rules), "--layer", f"mining_sites={site_file}", "--layer",
                     f"water_bodies={DATA / region / rivers}", "--set", "water_bodies.kind=river",
                     "--repair", "--out", str(out)]) == 0
    capsys.readouterr()
    found = gpd.pd.read_csv(out, dtype={"site_id": str}).set_index("site_id")["distance_m"]
    river_frame = gpd.read_file(DATA / region / rivers)
    river_frame = river_frame[river_frame.length > 0]
    ids = frame["id"].astype(str) if "id" in frame.columns else \
        [f"{Path(sites).stem}-{k + 1}" for k in range(len(frame))]
    geoms = dict(zip(ids, shapely.make_valid(frame.geometry.to_numpy()), strict=True))
    for sid, measured in chosen.items():
        by_hand = _nearest(geoms[sid], river_frame)
        assert found[sid] == measured
        assert abs(by_hand - measured) <= 0.005 + 0.005, (sid, by_hand, measured)  # 0.5 cm + rounding to 0.01 m
