"""The ``surfaces`` collection of the partner API (issue 14) on a real server with a partner key:
one feature per sampled medium, its footprint the grid ``cli.py surface`` would cover (the samples
grown by the 5000 m max distance, on 100 m cells of the centred transverse Mercator), counted from
the role-limited samples; 401 without a key; no planted restricted value in any byte."""
from __future__ import annotations

import json
import math
from collections.abc import Iterator

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Geod, Transformer

from geo.distance.localcrs import local_tmerc
from services.surfaces import surfaces_frame
from settings.exposure import load_exposure
from tests.api_kit import SECRET, Keys, fill, get, make_keys, open_location, planted, serving

SEDIMENT = (-1.95, 5.31)  # one sediment sample: its own surface centre
WATER = ((-1.96, 5.2995), (-1.91, 5.2990))  # the planted water samples W1, W2


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Keys]]:
    folder = tmp_path_factory.mktemp("api-surfaces")
    location = str(folder / "ws.gpkg")
    store = fill(open_location(location))
    samples = planted()["samples"]
    sediment = gpd.GeoDataFrame({
        "sample_id": ["D1"], "medium": ["sediment"], "hg": [0.4], "unit": ["mg/kg"], "sampled_on": ["2024-06-01"],
        "collector_name": [f"{SECRET}-sediment-collector"], "participant_id": [f"{SECRET}-sediment-pid"],
        "local_code": [f"{SECRET}-sediment-code"]}, geometry=[shapely.Point(*SEDIMENT)], crs=4326)
    store.write_layers([("samples", gpd.GeoDataFrame(pd.concat([samples, sediment], ignore_index=True), crs=4326))],
                       source="planted.geojson", licence="CC-BY-4.0", accuracy_m=5.0)
    keys = make_keys(location)
    with serving(location, folder) as url:
        yield url, keys


def _local_bounds(feature: dict, lon0: float, lat0: float) -> tuple[float, ...]:
    """The footprint's bounds in the transverse Mercator centred on (lon0, lat0), metres."""
    to = Transformer.from_crs(4326, local_tmerc(lon0, lat0), always_xy=True)
    xs, ys = to.transform(*zip(*feature["geometry"]["coordinates"][0]))
    return min(xs), min(ys), max(xs), max(ys)


def _grid(points: list[tuple[float, float]], lon0: float, lat0: float) -> tuple[int, ...]:
    """The 100 m grid over ``points`` grown by 5000 m, in the transverse Mercator centred on (lon0, lat0)."""
    xs, ys = Transformer.from_crs(4326, local_tmerc(lon0, lat0), always_xy=True).transform(*zip(*points))
    return (math.floor((min(xs) - 5000) / 100) * 100, math.floor((min(ys) - 5000) / 100) * 100,
            math.ceil((max(xs) + 5000) / 100) * 100, math.ceil((max(ys) + 5000) / 100) * 100)


def test_surfaces_give_each_media_footprint_count_and_settings(served: tuple[str, Keys]) -> None:
    url, keys = served
    status, _, body = get(f"{url}/collections/surfaces/items?f=json", keys.partner)
    assert status == 200, body[:300]
    got = {f["id"]: f for f in json.loads(body)["features"]}
    assert sorted(got) == ["sediment", "water"]
    sed, water = got["sediment"]["properties"], got["water"]["properties"]
    assert (sed["samples"], water["samples"]) == (1, 2)
    assert (water["method"], water["cell_m"], water["max_distance_m"]) == ("idw", 100.0, 5000.0)
    assert (water["guideline_value"], water["guideline_unit"], water["value_unit"]) == (6.0, "ug/L", "ug/L")
    assert water["guideline_source"].startswith("WHO Guidelines for Drinking-water Quality")
    assert sed["guideline_value"] is None and sed["value_unit"] == "mg/kg"
    assert water["command"] == "python cli.py surface --medium water --out FILE.tif"
    # one sediment sample at the centre of its grid: +-5000 m out to whole 100 m cells (the point lands within
    # float noise of 0 m, so a side may take one more cell, as in the surface itself); 7 decimals of a degree: ~1 cm
    assert _local_bounds(got["sediment"], *SEDIMENT) == pytest.approx(_grid([SEDIMENT], *SEDIMENT), abs=0.02)
    assert _grid([SEDIMENT], *SEDIMENT)[:2] == (-5000, -5000)
    x0, y0, x1, y1 = _grid([SEDIMENT], *SEDIMENT)
    ring = got["sediment"]["geometry"]["coordinates"][0]
    edges = sorted(Geod(ellps="WGS84").inv(*a, *b)[2] for a, b in zip(ring, ring[1:]))  # on the ellipsoid, metres
    assert sed["cells"] == (x1 - x0) // 100 * ((y1 - y0) // 100)
    assert edges == pytest.approx(sorted([x1 - x0, x1 - x0, y1 - y0, y1 - y0]), abs=0.5)
    # two water samples 5.5 km apart: centred on their box, grown by 5000 m, out to whole 100 m cells
    lon0, lat0 = (WATER[0][0] + WATER[1][0]) / 2, (WATER[0][1] + WATER[1][1]) / 2
    want = _grid(list(WATER), lon0, lat0)
    assert want == (-7800, -5100, 7800, 5100)  # by hand: W1, W2 about 2770 m west / east, 28 m south / north
    assert _local_bounds(got["water"], lon0, lat0) == pytest.approx(want, abs=0.02)


def test_surfaces_need_a_key_and_carry_no_restricted_value(served: tuple[str, Keys]) -> None:
    url, keys = served
    for path in ("/collections/surfaces", "/collections/surfaces/items", "/collections/surfaces/items/water"):
        status, _, body = get(url + path)
        assert status == 401 and json.loads(body), path
        status, _, body = get(url + path + "?f=json", keys.partner)
        assert status == 200 and SECRET.encode() not in body and b"collector_name" not in body, path
    meta = json.loads(get(f"{url}/collections/surfaces?f=json", keys.partner)[2])
    assert "planted.geojson" in meta["description"] and "CC-BY-4.0" in meta["description"]


def test_a_medium_wider_than_a_surface_may_be_still_has_its_footprint() -> None:
    """Two soil samples 10 degrees apart in longitude and latitude (about 1,100 km each way): ``cli.py surface``
    refuses that grid at 100 m (over 25 million cells), the collection still describes it."""
    soil = gpd.GeoDataFrame({"medium": ["soil", "soil"]}, geometry=[shapely.Point(0, 0), shapely.Point(10, 10)], crs=4326)
    row = surfaces_frame(soil, {}, load_exposure()).iloc[0]
    assert row["samples"] == 2 and row["cells"] > 25_000_000 and row["guideline_value"] is None
    west, south, east, north = row.geometry.bounds
    assert west < 0 < 10 < east and south < 0 < 10 < north
