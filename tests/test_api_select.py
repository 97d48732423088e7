"""``services.features.select``, the filter under every items request, against plain Python over the
same features (Hypothesis): bbox (also across the antimeridian), datetime intervals and days,
property equality and paging never lose or repeat a feature."""
from __future__ import annotations

from datetime import date, timedelta

import geopandas as gpd
import pandas as pd
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from services.features import _served, select

LON = st.floats(-180, 180, allow_nan=False)
LAT = st.floats(-89, 89, allow_nan=False)
DAY = st.dates(date(2020, 1, 1), date(2020, 12, 31))


@st.composite
def collections(draw: st.DrawFn) -> tuple[gpd.GeoDataFrame, list[date | None]]:
    n = draw(st.integers(1, 25))
    points = [shapely.Point(draw(LON), draw(LAT)) for _ in range(n)]
    days = [draw(st.none() | DAY) for _ in range(n)]
    frame = gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(n)],
                              "status": [draw(st.sampled_from(["active", "inactive"])) for _ in range(n)],
                              "miners": [draw(st.integers(0, 5)) for _ in range(n)],
                              "survey_date": pd.to_datetime(pd.Series(days, dtype=object))},
                             geometry=points, crs=4326)
    return frame, days


def _served_of(frame: gpd.GeoDataFrame):  # type: ignore[no-untyped-def]
    return _served("mining_sites", "Mining sites", frame, list(frame["site_id"]), "survey_date", [], None)


@settings(max_examples=150, deadline=None)
@given(collections(), LON, LON, LAT, LAT)
def test_bbox_keeps_exactly_the_points_inside(data: tuple[gpd.GeoDataFrame, list[date | None]], west: float,
                                              east: float, a: float, b: float) -> None:
    frame, _ = data
    south, north = min(a, b), max(a, b)
    got = select(_served_of(frame), bbox=[west, south, east, north])
    exact = [(p.x, p.y) for p in frame.geometry]  # filtered on the stored coordinates
    inside = [i for i, (x, y) in enumerate(exact)
              if south <= y <= north and ((west <= x <= east) if west <= east else (x >= west or x <= east))]
    assert got == inside


@settings(max_examples=150, deadline=None)
@given(collections(), DAY, st.integers(0, 200), st.booleans(), st.booleans())
def test_datetime_keeps_exactly_the_days_in_the_interval(data: tuple[gpd.GeoDataFrame, list[date | None]],
                                                         start: date, span: int, open_start: bool,
                                                         open_end: bool) -> None:
    frame, days = data
    end = start + timedelta(days=span)
    text = f"{'..' if open_start else start.isoformat()}/{'..' if open_end else end.isoformat()}"
    want = [i for i, d in enumerate(days) if d is not None and (open_start or d >= start) and (open_end or d <= end)]
    assert select(_served_of(frame), datetime_=text) == want
    assert select(_served_of(frame), datetime_=start.isoformat()) == [i for i, d in enumerate(days) if d == start]


@settings(max_examples=100, deadline=None)
@given(collections(), st.sampled_from(["active", "inactive"]), st.integers(0, 5), st.integers(1, 7))
def test_property_filters_and_pages_partition_the_features(data: tuple[gpd.GeoDataFrame, list[date | None]],
                                                           status: str, miners: int, limit: int) -> None:
    frame, _ = data
    served = _served_of(frame)
    got = select(served, properties=[("status", status), ("miners", str(miners))])
    assert got == [i for i in range(len(frame)) if frame["status"][i] == status and frame["miners"][i] == miners]
    every = select(served)
    pages = [every[offset:offset + limit] for offset in range(0, len(every), limit)]
    assert [i for page in pages for i in page] == list(range(len(frame)))
    ordered = select(served, sortby=[("miners", False)])
    assert sorted(ordered) == list(range(len(frame)))
    assert list(frame["miners"].iloc[ordered]) == sorted(frame["miners"], reverse=True)
