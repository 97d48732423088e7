"""A within-distance search of any reach runs in bounded memory and gives the answer it always gave.

Issue 13: a 300 km rule on the Ghana footprints (polygons) against rivers built every pair of
pieces within the reach before pruning (11.5 GB, killed). ``nearest_within`` now bounds each
subject by a target it surely has and builds candidates ``batch_pairs`` at a time; ``on_batch``
reports every batch built. Known answers come from pyproj's Geod (Karney), independently.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from geo.distance import nearest_within

GEOD = Geod(ellps="WGS84")
SEGMENT = LineString([(0.0, 0.0), (0.0, 1.0)])  # along the meridian, ~110.6 km: 111 pieces of <= 1 km
LAT_P = 1.0 + 250_000.0 / 110_600.0  # about 250 km north of the segment's end


def _run(subjects: list[BaseGeometry], targets: list[BaseGeometry], reach: float | list[float],
         batch: int, target_offset_m: list[float] | None = None, threads: int = 1) -> tuple[pd.DataFrame, list[int]]:
    sizes: list[int] = []
    out = nearest_within(subjects, targets, max_distance_m=reach, target_offset_m=target_offset_m, threads=threads,
                         batch_pairs=batch, on_batch=sizes.append)
    return out, sizes


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal bit for bit: indices, distances, and the coordinates of the nearest lines."""
    assert a["subject"].tolist() == b["subject"].tolist()
    assert a["target"].tolist() == b["target"].tolist()
    assert a["distance_m"].to_numpy().tobytes() == b["distance_m"].to_numpy().tobytes()
    assert a["centreline_distance_m"].to_numpy().tobytes() == b["centreline_distance_m"].to_numpy().tobytes()
    for la, lb in zip(a["line"], b["line"], strict=True):
        assert np.asarray(la.coords).tobytes() == np.asarray(lb.coords).tobytes()


def test_point_250_km_north_of_a_meridian_segment() -> None:
    """The nearest point is the segment's north end; the distance is Geod's along the meridian."""
    expected = float(GEOD.inv(0.0, 1.0, 0.0, LAT_P)[2])
    assert 249_000 < expected < 251_000
    for batch in (1, 7, 262_144):
        out, sizes = _run([Point(0.0, LAT_P)], [SEGMENT], 300_000.0, batch)
        assert out["target"].tolist() == [0]
        assert abs(float(out["distance_m"].iloc[0]) - expected) < 1e-6
        assert np.allclose(np.asarray(out["line"].iloc[0].coords), [(0.0, LAT_P), (0.0, 1.0)], atol=1e-9)
        assert max(sizes) <= batch
    assert nearest_within([Point(0.0, LAT_P)], [SEGMENT], max_distance_m=expected - 1.0).empty


def _triangle(apex_lat: float, pieces: int) -> Polygon:
    """A triangle with its apex (southernmost point) on the meridian at ``apex_lat``, its two other
    corners 0.05 degrees north, each side cut into ``pieces`` vertices (edges of ~110 m)."""
    left, right = (-0.05, apex_lat + 0.05), (0.05, apex_lat + 0.05)
    ts = np.linspace(0.0, 1.0, pieces, endpoint=False)
    ring = [(0.0 + (left[0] - 0.0) * t, apex_lat + (left[1] - apex_lat) * t) for t in ts]
    ring += [(left[0] + (right[0] - left[0]) * t, left[1]) for t in ts]
    ring += [(right[0] - right[0] * t, right[1] + (apex_lat - right[1]) * t) for t in ts]
    return Polygon(ring)


def test_polygon_250_km_north_of_a_line_builds_few_pairs() -> None:
    """A polygon of 150 edges, 250 km from a 111-piece line, at a 300 km reach: the answer is the
    apex to the line's end (Geod), and the pairs built are a small part of the 16,650 pairs of
    pieces within the reach (the code before this bound built and measured all of them)."""
    polygon = _triangle(LAT_P, 50)
    expected = float(GEOD.inv(0.0, 1.0, 0.0, LAT_P)[2])
    decoy = LineString([(3.0, LAT_P), (3.0, LAT_P + 1.0)])  # ~330 km east: beyond the nearest
    out, sizes = _run([polygon], [decoy, SEGMENT], 300_000.0, 64)
    assert out["target"].tolist() == [1]
    assert abs(float(out["distance_m"].iloc[0]) - expected) < 1e-6
    assert max(sizes) <= 64
    assert 0 < sum(sizes) < 150 * 111 // 10
    whole, whole_sizes = _run([polygon], [decoy, SEGMENT], 300_000.0, 10**9)
    _same(out, whole)
    assert sum(whole_sizes) == sum(sizes)  # the same pairs, only cut differently


def test_per_target_reach_and_offsets_at_long_reach() -> None:
    """Offsets (a river's half width) and per-target thresholds take the other bound; the nearest
    by value wins: the segment less 50 km of offset beats a nearer line with none."""
    point = Point(0.0, LAT_P)
    d_seg = float(GEOD.inv(0.0, 1.0, 0.0, LAT_P)[2])
    near = LineString([(0.5, LAT_P - 0.1), (0.5, LAT_P + 0.1)])  # ~55 km east
    d_near = float(GEOD.inv(0.0, LAT_P, 0.5, LAT_P)[2])
    for batch in (1, 5, 10**9):
        out, sizes = _run([point], [near, SEGMENT], [300_000.0, 100_000.0], batch, target_offset_m=[0.0, 200_000.0])
        assert max(sizes) <= batch
        assert out["target"].tolist() == [1]
        assert abs(float(out["distance_m"].iloc[0]) - (d_seg - 200_000.0)) < 1e-6
        assert abs(float(out["centreline_distance_m"].iloc[0]) - d_seg) < 1e-6
        assert d_seg - 200_000.0 < d_near  # by value the segment is nearer, by distance the line
    out, _ = _run([point], [near, SEGMENT], [300_000.0, 100_000.0], 3, target_offset_m=[0.0, 100_000.0])
    assert out["target"].tolist() == [0]  # 150 km of value is over the segment's 100 km threshold
    assert d_near - 1.0 < float(out["distance_m"].iloc[0]) <= d_near


@st.composite
def scene(draw: st.DrawFn) -> tuple[list[BaseGeometry], list[BaseGeometry], float, list[float] | None]:
    """A few points, lines and polygons within a degree of a random place off the poles."""
    lon0, lat0 = draw(st.floats(-179.0, 179.0)), draw(st.floats(-70.0, 70.0))
    coord = st.tuples(st.floats(-0.5, 0.5), st.floats(-0.5, 0.5)).map(lambda d: (lon0 + d[0], lat0 + d[1]))

    def geometry(kind: int) -> BaseGeometry:
        if kind == 0:
            return Point(draw(coord))
        if kind == 1:
            return LineString(draw(st.lists(coord, min_size=2, max_size=4)))
        hull = Polygon(draw(st.lists(coord, min_size=3, max_size=5))).convex_hull
        return hull if hull.geom_type == "Polygon" else Point(draw(coord))

    subjects = [geometry(k) for k in draw(st.lists(st.integers(0, 2), min_size=1, max_size=4))]
    targets = [geometry(k) for k in draw(st.lists(st.integers(0, 2), min_size=1, max_size=3))]
    reach = draw(st.sampled_from([1_000.0, 20_000.0, 80_000.0, 300_000.0]))
    offsets = draw(st.one_of(st.none(), st.lists(st.sampled_from([0.0, 500.0, 30_000.0]),
                                                  min_size=len(targets), max_size=len(targets))))
    return subjects, targets, reach, offsets


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scene(), st.integers(5, 200))
def test_batched_equals_unbatched(case: tuple[list[BaseGeometry], list[BaseGeometry], float, list[float] | None],
                                  batch: int) -> None:
    """Any batch size gives the one-batch result bit for bit, and every batch stays within it."""
    subjects, targets, reach, offsets = case
    whole, _ = _run(subjects, targets, reach, 10**9, target_offset_m=offsets)
    cut, sizes = _run(subjects, targets, reach, batch, target_offset_m=offsets)
    _same(cut, whole)
    assert not sizes or max(sizes) <= batch
    # and the nearest is right: no target within reach is nearer than the one found (Geod-based kernel)
    for s, d in zip(whole["subject"], whole["distance_m"], strict=True):
        for t in range(len(targets)):
            one = nearest_within([subjects[s]], [targets[t]], max_distance_m=reach,
                                 target_offset_m=None if offsets is None else [offsets[t]])
            assert one.empty or float(one["distance_m"].iloc[0]) >= d


def test_many_points_threads_and_batches_agree() -> None:
    """60,000 points (two strips per thread) against lines at 50 km, with offsets: one thread and
    one batch, two threads and batches of 5,000 give the same rows bit for bit."""
    rng = np.random.default_rng(13)
    lon, lat = rng.uniform(-2.0, 0.0, 60_000), rng.uniform(5.0, 7.0, 60_000)
    points = [Point(x, y) for x, y in zip(lon, lat, strict=True)]
    lines = [LineString([(-1.5, 5.2), (-1.2, 6.8)]), LineString([(-0.4, 5.0), (-0.3, 5.9), (0.2, 6.1)])]
    one, _ = _run(points, lines, 50_000.0, 10**9, target_offset_m=[0.0, 2_000.0])
    two, sizes = _run(points, lines, 50_000.0, 5_000, target_offset_m=[0.0, 2_000.0], threads=2)
    assert len(one) > 40_000
    _same(one, two)
    assert max(sizes) <= 5_000 and len(sizes) > 2


def test_points_at_long_reach_search_only_as_far_as_needed() -> None:
    """3,000 points and 40 short lines in a 2-degree box at a 300 km reach, with and without
    offsets: in batches of 2,000 each point is first bounded by a nearby line and then searched
    only that far, building under half the candidates one batch builds, with the same rows."""
    rng = np.random.default_rng(7)
    points = [Point(x, y) for x, y in zip(rng.uniform(-1.0, 1.0, 3_000), rng.uniform(5.0, 7.0, 3_000), strict=True)]
    starts = np.column_stack([rng.uniform(-1.0, 1.0, 40), rng.uniform(5.0, 7.0, 40)])
    lines = [LineString([tuple(a), tuple(a + rng.uniform(-0.05, 0.05, 2))]) for a in starts]
    for offsets in (None, list(rng.choice([0.0, 300.0], 40))):
        whole, whole_sizes = _run(points, lines, 300_000.0, 10**9, target_offset_m=offsets)
        cut, sizes = _run(points, lines, 300_000.0, 2_000, target_offset_m=offsets)
        assert len(whole) == 3_000
        _same(cut, whole)
        assert max(sizes) <= 2_000
        assert sum(sizes) < sum(whole_sizes) // 2


def test_the_longest_reach_is_accepted_and_one_beyond_is_refused() -> None:
    """500 km (MAX_REACH_M) is supported: the kernel's tolerance of 1 micrometre no longer pushes
    it over and refuses it. A point 499.9 km north of the segment is found at exactly that reach;
    500,001 m is refused, naming the metres and the limit."""
    lat = 1.0 + 499_900.0 / 110_600.0
    expected = float(GEOD.inv(0.0, 1.0, 0.0, lat)[2])
    assert 499_000 < expected < 500_000
    out = nearest_within([Point(0.0, lat)], [SEGMENT], max_distance_m=500_000.0)
    assert abs(float(out["distance_m"].iloc[0]) - expected) < 1e-6
    with pytest.raises(ValueError, match=r"is 500001 m; at most 500000 m is supported"):
        nearest_within([Point(0.0, lat)], [SEGMENT], max_distance_m=500_001.0)
