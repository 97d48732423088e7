"""``Served.features``: the GeoJSON features of a request are made from its rows alone, and equal, for any
page and order, what building every feature of the collection at once gives (the way the API served them
before; kept here as the oracle). Hypothesis frames mix every kind of column a layer holds (integers,
numbers with NaN, true/false, text with unicode and missing values, days with NaT) and every geometry
(points in 3D, clockwise rings, multi-polygons, lines, empty and missing)."""
from __future__ import annotations

import json
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.io.export import COORD_DECIMALS
from services.features import MADE_AHEAD, _served, select

COORD = st.floats(-60, 60, allow_nan=False, allow_infinity=False)
TEXT = st.none() | st.text(st.characters(exclude_categories=["Cs"]), max_size=8)


def every_feature(frame: gpd.GeoDataFrame, ids: list[str]) -> list[dict[str, object]]:
    """The oracle: every feature built at once from the whole frame (the API's construction before pages)."""
    frame = frame.reset_index(drop=True)
    attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    for col in attrs.columns:
        if pd.api.types.is_datetime64_any_dtype(attrs[col]):
            attrs[col] = attrs[col].dt.strftime("%Y-%m-%d").astype(object).where(attrs[col].notna(), None)
    records = json.loads(attrs.to_json(orient="records", double_precision=15, date_format="iso")) if len(attrs) else []
    geoms = shapely.force_2d(frame.geometry.to_numpy())
    geoms = shapely.orient_polygons(shapely.set_precision(geoms, 10.0 ** -COORD_DECIMALS, mode="pointwise"))
    shapes = [None if g is None or g.is_empty else shapely.geometry.mapping(g) for g in geoms]
    return [{"type": "Feature", "id": fid, "geometry": shape, "properties": props}
            for fid, shape, props in zip(ids, shapes, records)]


@st.composite
def geometries(draw: st.DrawFn) -> shapely.Geometry | None:
    x, y = draw(COORD), draw(COORD)
    kind = draw(st.sampled_from(["point", "point3d", "line", "cw", "multi", "empty", "none"]))
    if kind == "none":
        return None
    if kind == "empty":
        return shapely.Point()
    if kind == "point":
        return shapely.Point(x, y)
    if kind == "point3d":
        return shapely.Point(x, y, draw(COORD))
    if kind == "line":
        return shapely.LineString([(x, y), (x + 0.123456789, y - 0.01)])
    ring = [(x, y), (x, y + 0.2), (x + 0.3, y + 0.2), (x + 0.3, y)]  # clockwise: served counter-clockwise
    polygon = shapely.Polygon(ring)
    return polygon if kind == "cw" else shapely.MultiPolygon([polygon, shapely.Polygon([(x + 1, y), (x + 1, y + 0.1),
                                                                                        (x + 1.1, y)])])


@st.composite
def collections(draw: st.DrawFn) -> gpd.GeoDataFrame:
    n = draw(st.integers(1, 20))
    days = [draw(st.none() | st.dates(pd.Timestamp("1990-01-01").date(), pd.Timestamp("2030-12-31").date()))
            for _ in range(n)]
    return gpd.GeoDataFrame({
        "site_id": [f"S{i}" for i in range(n)],
        "name": pd.Series([draw(TEXT) for _ in range(n)], dtype=object),
        "miners": [draw(st.integers(-10**12, 10**12)) for _ in range(n)],
        "area_ha": [draw(st.none() | st.floats(allow_infinity=False)) for _ in range(n)],
        "active": [draw(st.booleans()) for _ in range(n)],
        "survey_date": pd.to_datetime(pd.Series(days, dtype=object)),
    }, geometry=[draw(geometries()) for _ in range(n)], crs=4326)


@settings(max_examples=120, deadline=None)
@given(collections(), st.data())
def test_the_features_of_any_page_equal_those_built_from_the_whole_collection(frame: gpd.GeoDataFrame,
                                                                              data: st.DataObject) -> None:
    ids = list(frame["site_id"])
    ahead = _served("mining_sites", "Mining sites", frame, ids, "survey_date", [], None)
    assert ahead.made is not None  # a small collection makes its features when it is built
    whole = every_feature(frame, ids)
    page = data.draw(st.lists(st.integers(0, len(frame) - 1), max_size=8))  # any order, repeats allowed
    for served in (ahead, replace(ahead, made=None)):  # and as a collection above MADE_AHEAD does, per request
        assert served.features(range(len(frame))) == whole
        assert served.features(page) == [whole[i] for i in page]
        assert served.features([]) == []


def test_a_page_of_hand_made_features_reads_as_geojson() -> None:
    frame = gpd.GeoDataFrame({"site_id": ["A", "B"], "name": ["Río <b>", None], "miners": [3, 4],
                              "survey_date": pd.to_datetime(["2024-05-01", None])},
                             geometry=[shapely.Point(1.123456789, 2.5, 7.0),
                                       shapely.Polygon([(0, 0), (0, 1), (1, 1), (1, 0)])], crs=4326)
    served = _served("mining_sites", "Mining sites", frame, ["A", "B"], "survey_date", [], None)
    first, second = served.features([1, 0])[::-1]
    assert first == {"type": "Feature", "id": "A", "geometry": {"type": "Point", "coordinates": (1.1234568, 2.5)},
                     "properties": {"site_id": "A", "name": "Río <b>", "miners": 3, "survey_date": "2024-05-01"}}
    assert second["properties"] == {"site_id": "B", "name": None, "miners": 4, "survey_date": None}
    ring = second["geometry"]["coordinates"][0]  # type: ignore[index]
    assert np.isclose(shapely.Polygon(ring).area, 1.0) and shapely.Polygon(ring).exterior.is_ccw
    for each in (served, replace(served, made=None)):
        each.features([0])[0]["properties"]["name"] = "changed"  # type: ignore[index]
        assert each.features([0])[0]["properties"]["name"] == "Río <b>"  # type: ignore[index]  # new dicts each call


def test_only_a_collection_above_the_threshold_makes_its_features_per_request() -> None:
    n = MADE_AHEAD + 1
    frame = gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(n)]}, geometry=shapely.points(np.zeros((n, 2))), crs=4326)
    large = _served("mining_sites", "Mining sites", frame, list(frame["site_id"]), None, [], None)
    assert large.made is None
    assert large.features([n - 1]) == [{"type": "Feature", "id": f"S{n - 1}", "properties": {"site_id": f"S{n - 1}"},
                                        "geometry": {"type": "Point", "coordinates": (0.0, 0.0)}}]
    at_most = frame.iloc[:MADE_AHEAD]
    assert _served("mining_sites", "Mining sites", at_most, list(at_most["site_id"]), None, [], None).made is not None


def test_with_no_filter_the_positions_are_every_feature_in_order_without_a_list() -> None:
    n = 7
    frame = gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(n)], "miners": [3, 1, 2, 5, 4, 0, 6]},
                             geometry=shapely.points(np.arange(2 * n, dtype=float).reshape(n, 2)), crs=4326)
    served = _served("mining_sites", "Mining sites", frame, list(frame["site_id"]), None, [], None)
    every = select(served)
    assert isinstance(every, range) and list(every) == list(range(n)) and len(every) == n
    assert list(every[2:5]) == [2, 3, 4] and list(every[5:100]) == [5, 6]
    assert served.features(every[5:100]) == served.features([5, 6])
    assert select(served, sortby=[("miners", True)]) == [5, 1, 2, 0, 4, 3, 6]  # a sort: a list, as before
    assert select(served, datetime_="2024-01-01") == every  # no date field: the datetime is ignored, as before
