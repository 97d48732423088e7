"""Issue 13: the WKT of exports and violation files is written from the grid steps with Arrow kernels
(``layers.io.grid.grid_wkt``), and the CSV writer writes whole-hundredth floats from integers and
joins rows a few at a time. Each must give what the old path gave; the old paths are kept here as
the oracles: ``shapely.to_wkt(set_precision(...), rounding_precision=7, trim=True)`` for the WKT,
numpy's ``str`` for the floats, one join of the whole table for the rows.
"""
from __future__ import annotations

import io
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.rules import LINE_COLUMN, run_rules
from layers.catalogue import CATALOGUE
from layers.io import csvfile, export, grid
from layers.io.export import Provenance
from layers.io.violations import write_violations
from settings import Settings

RULES = Settings.from_env().rules


def _old_wkt(geoms: np.ndarray) -> list[str | None]:
    """The old export WKT: GEOS puts the geometry on the grid, then prints it."""
    arr = np.asarray(geoms, dtype=object)
    rounded = shapely.set_precision(arr, 1e-7, mode="pointwise")
    return list(shapely.to_wkt(rounded, rounding_precision=7, trim=True))


def _old_float_text(values: np.ndarray) -> list[str]:
    text = values.astype(str).astype(object)
    text[np.isnan(values)] = ""
    return list(text)


HAND = [
    shapely.Point(7.0, 1.0), shapely.Point(0.5, -0.0), shapely.Point(-0.0, 0.0), shapely.Point(1e-7, -1e-7),
    shapely.Point(1.5e-5, 0.0001), shapely.Point(-179.99999995, 89.99999995), shapely.Point(0.00099999, 12.34500005),
    shapely.Point(123456.1234567, -5e-8), shapely.Point(1e6, 2e7), shapely.Point(0.30000000000000004, 1e-4),
    shapely.LineString([(0, 0), (1.5, 2), (3, 4)]), shapely.LineString([(0.7155052, 6.9419836), (0.7157593, 6.9421882)]),
    shapely.LineString([(-0.00001, 5), (0.00005, -5.00000005)]),
]


@pytest.mark.parametrize("geom", HAND, ids=range(len(HAND)))
def test_hand_made_points_and_lines(geom: shapely.Geometry) -> None:
    arr = np.array([geom, geom, shapely.Point(1, 2)], dtype=object)
    assert grid.grid_wkt(arr).to_pylist() == _old_wkt(arr)


def test_known_text() -> None:
    arr = np.array([shapely.Point(0.71550524, -6.9), shapely.LineString([(1, -0.0), (2.00000005, 3.5)])])
    assert grid.grid_wkt(arr).to_pylist() == ["POINT (0.7155052 -6.9)", "LINESTRING (1 0, 2.0000001 3.5)"]


def test_other_geometries_go_through_shapely() -> None:
    """Missing, empty, z, polygons, multi-parts and infinite coordinates: shapely writes them."""
    arr = np.array([None, shapely.Point(), shapely.Point(1, 2, 3), shapely.box(0, 0, 1, 1),
                    shapely.MultiPoint([(0, 0), (1, 1)]), shapely.Point(1, 2)], dtype=object)
    assert grid.grid_wkt(arr).to_pylist() == _old_wkt(arr)
    assert grid.grid_wkt(np.array([shapely.Point(np.inf, 0)])).to_pylist() == _old_wkt(np.array([shapely.Point(np.inf, 0)]))
    assert grid.grid_wkt(np.array([], dtype=object)).to_pylist() == []


COORD = st.one_of(
    st.floats(-180, 180, allow_nan=False),
    st.floats(-1e-3, 1e-3, allow_nan=False),  # around the scientific-notation switch of GEOS (1e-4)
    st.floats(-2e6, 2e6, allow_nan=False),
    st.integers(-1800000000, 1800000000).map(lambda k: k / 1e7),  # on the grid already
    st.integers(-1800000000, 1800000000).map(lambda k: (k + 0.5) / 1e7),  # halves: the rounding rule
    st.sampled_from([0.0, -0.0, 5e-8, -5e-8, 1e-4, -1e-4, 9.99999e-5, 999999.99999995, 1e6]),
)
XY = st.tuples(COORD, COORD)
GEOM = st.one_of(XY.map(shapely.Point), st.lists(XY, min_size=2, max_size=5).map(shapely.LineString))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(geoms=st.lists(GEOM, min_size=1, max_size=8))
def test_generated_points_and_lines(geoms: list[shapely.Geometry]) -> None:
    arr = np.array(geoms, dtype=object)
    assert grid.grid_wkt(arr).to_pylist() == _old_wkt(arr)


HUNDREDTHS = st.one_of(st.integers(-10**15, 10**15).map(lambda k: k / 100),
                       st.integers(-10**4, 10**4).map(lambda k: k / 100),
                       st.sampled_from([0.0, -0.0, np.nan, 1e13, -1e13, 99999999999.99, 0.01, 1e-4, 0.07]))
FLOATS = st.one_of(HUNDREDTHS, st.floats(allow_nan=True, allow_infinity=True))


@settings(max_examples=300, deadline=None)
@given(values=st.lists(FLOATS, min_size=1, max_size=8))
def test_float_columns_are_numpy_str(values: list[float]) -> None:
    arr = np.array(values, dtype=np.float64)
    fast = csvfile._hundredths_text(arr)
    if fast is not None:
        assert fast.to_pylist() == _old_float_text(arr)
    frame = pd.DataFrame({"a": arr, "b": "x"})
    assert csvfile.csv_bytes(frame, bom=False) == ("a,b\r\n" + "".join(f"{t},x\r\n" for t in _old_float_text(arr))).encode()


def test_hundredths_take_the_integer_path() -> None:
    arr = np.array([36.06, 100.0, -0.0, np.nan, 0.05, 1e12 + 0.25])
    assert csvfile._hundredths_text(arr).to_pylist() == ["36.06", "100.0", "-0.0", "", "0.05", "1000000000000.25"]
    assert csvfile._hundredths_text(np.array([0.001])) is None


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 9))
    text = st.text(alphabet=st.sampled_from(list("ab =+-@'\",\r\n\té")), max_size=5)
    return pd.DataFrame({"t": draw(st.lists(st.one_of(text, st.none()), min_size=n, max_size=n)),
                         "c": draw(st.sampled_from(["same", "x,y", '"q"'])),
                         "f": draw(st.lists(FLOATS, min_size=n, max_size=n)),
                         "b": draw(st.lists(st.booleans(), min_size=n, max_size=n))})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(frame=tables(), join_rows=st.integers(1, 4))
def test_rows_joined_a_few_at_a_time_are_one_join(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory,
                                                  frame: pd.DataFrame, join_rows: int) -> None:
    built = csvfile._arrow_cells(frame)
    assert built is not None
    head, cells = built
    whole = head + bytes(csvfile._join(cells, len(frame)))  # the old way: one join of every row
    monkeypatch.setattr(csvfile, "JOIN_ROWS", join_rows)
    path = tmp_path_factory.mktemp("join") / "t.csv"
    csvfile.write_csv(frame, path, bom=False)
    assert path.read_bytes() == whole == csvfile.csv_bytes(frame, bom=False)


def test_an_arrow_text_column_is_written_as_an_object_column() -> None:
    """The WKT columns now reach the writer as Arrow text (null for a missing geometry), not objects."""
    wkt = grid.grid_wkt(np.array([shapely.Point(1, 2), None, shapely.LineString([(0, 0), (1, 1)])], dtype=object))
    arrow = pd.DataFrame({"g": pd.array(wkt, dtype=pd.Series(["t"]).dtype), "n": 1})
    objects = pd.DataFrame({"g": pd.Series(wkt.to_pylist(), dtype=object), "n": 1})
    assert csvfile.csv_bytes(arrow) == csvfile.csv_bytes(objects) == \
        '\ufeffg,n\r\nPOINT (1 2),1\r\n,1\r\n"LINESTRING (0 0, 1 1)",1\r\n'.encode()
    assert isinstance(wkt, pa.Array)


LONLAT = st.one_of(st.floats(-179, 179), st.floats(-1e-3, 1e-3), st.sampled_from([0.0, -0.0, 5e-8, 1e-4]))


def _old_violation_csv(violations: gpd.GeoDataFrame, meta: dict[str, object]) -> bytes:
    """The violation CSV as written before: lines and subjects put on the grid by GEOS, printed by
    shapely, every cell through pandas' ``to_csv`` (the writer's own fallback)."""
    frame = pd.DataFrame(violations.drop(columns=["geometry"]))
    frame[LINE_COLUMN] = pd.Series(_old_wkt(violations[LINE_COLUMN].to_numpy()), dtype=object)
    frame["geometry"] = _old_wkt(violations.geometry.to_numpy())
    frame["hgw_profile"] = meta["profile"]
    frame["hgw_sources"] = json.dumps(meta["layers"], ensure_ascii=False)
    return csvfile._pandas_table(frame, None).encode()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sites=st.lists(st.tuples(LONLAT, LONLAT), min_size=1, max_size=6, unique=True), shift=st.floats(-3e-4, 3e-4))
def test_a_violation_file_is_written_as_before(tmp_path_factory: pytest.TempPathFactory,
                                               sites: list[tuple[float, float]], shift: float) -> None:
    """Hand-made water (a line at each site, some far) and generated sites through the real rules."""
    frame = gpd.GeoDataFrame({"site_id": [f"=S{k}" for k in range(len(sites))], "uses_mercury": True},
                             geometry=[shapely.Point(x, y / 2.25) for x, y in sites], crs=4326)
    water = gpd.GeoDataFrame({"water_id": [f"W{k}" for k in range(len(sites))], "name": "River, \"big\"",
                              "kind": "stream"},
                             geometry=[shapely.LineString([(p.x + shift, p.y), (p.x + shift, p.y + 0.001 * k)])
                                       for k, p in enumerate(frame.geometry)], crs=4326)
    found = run_rules(RULES, {"mining_sites": frame, "water_bodies": water}, schemas=CATALOGUE,
                      only=["HG-WATER-100"]).violations
    assert len(found) and found[LINE_COLUMN].notna().all()
    prov = [Provenance("mining_sites", "s.parquet", "unknown")]
    path = write_violations(found, tmp_path_factory.mktemp("v") / "v.csv", provenance=prov)
    meta = export.metadata("internal", prov)
    assert path.read_bytes() == _old_violation_csv(found, meta)


@settings(max_examples=200, deadline=None)
@given(coords=st.lists(st.tuples(COORD, COORD), min_size=1, max_size=6))
def test_rounding_is_geos_rounding_to_the_bit(coords: list[tuple[float, float]]) -> None:
    """``round_coordinates`` (a half upwards, -0.0 for a negative rounded to zero) is ``set_precision``."""
    arr = np.array([shapely.Point(xy) for xy in coords] + [shapely.LineString(coords + [(1.0, 1.0)])], dtype=object)
    got = shapely.to_wkb(grid.round_coordinates(arr))
    assert list(got) == list(shapely.to_wkb(shapely.set_precision(arr, 1e-7, mode="pointwise")))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(geoms=st.lists(st.one_of(GEOM, st.none(), st.just(shapely.Point())), min_size=1, max_size=9),
       rows=st.integers(1, 4))
def test_written_a_few_geometries_at_a_time(monkeypatch: pytest.MonkeyPatch, geoms: list[shapely.Geometry | None],
                                             rows: int) -> None:
    """Parts of ``GRID_ROWS`` (some plain, some through shapely) give the text of one pass."""
    arr = np.array(geoms, dtype=object)
    monkeypatch.setattr(grid, "GRID_ROWS", rows)
    assert grid.grid_wkt(arr).to_pylist() == _old_wkt(arr)


def test_a_concatenated_frame_takes_the_arrow_path_a_few_rows_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Text columns of a concatenated frame (chunk-by-chunk check results) are chunked Arrow arrays;
    they are joined in slices like any other, not sent to pandas' writer (1.44 million violations:
    4.4 GB and 31 s there, found by measuring)."""
    text = pd.Series(["t"]).dtype
    part = pd.DataFrame({"id": pd.array(["a", "b", "c"], dtype=text),
                         "wkt": pd.array(["P (1 2)", "L (0 0, 1 1)", 'q"'], dtype=text),
                         "mixed": pd.array(["=a", "b,c", 'q"'], dtype=text), "d": [1.5, 2.0, np.nan]})
    frame = pd.concat([part] * 3, ignore_index=True)
    monkeypatch.setattr(csvfile, "JOIN_ROWS", 2)
    buf = io.BytesIO()
    assert csvfile._write_pieces(frame, buf, False, 4)
    assert buf.getvalue() == csvfile._pandas_table(frame, None).encode()
