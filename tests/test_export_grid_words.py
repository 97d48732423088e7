"""Issue 13, the violation CSV written faster: the WKT of points and lines laid out from tables of
4-byte words a block of coordinates at a time (``layers.io.grid``), one coordinate-dimension pass
for has_z and has_m, and the CSV writer taking a constant column (same number to the bit, or every
cell missing) as one cell and finding the cells to quote by comparing bytes. Each shortcut must give
the bytes of the general path; the oracles are shapely's WKT after ``set_precision`` and pandas'
``to_csv`` (``csvfile._pandas_table``).
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layers.catalogue import CATALOGUE
from layers.io import csvfile, export, grid


def _old_wkt(geoms: np.ndarray) -> list[str | None]:
    """The export WKT as GEOS writes it: on the grid, then printed with 7 decimals, trimmed."""
    rounded = shapely.set_precision(np.asarray(geoms, dtype=object), 1e-7, mode="pointwise")
    return list(shapely.to_wkt(rounded, rounding_precision=7, trim=True))


# geometries with and without z and m, empty ones, parts of collections: the coordinate dimension is 2
# exactly when GEOS says neither has_z nor has_m (what grid_wkt and export._prepare now rely on)
DIMENSIONS = [
    "POINT EMPTY", "POINT Z EMPTY", "POINT M EMPTY", "POINT ZM EMPTY", "POINT (1 2)", "POINT Z (1 2 3)",
    "POINT Z (1 2 NaN)", "POINT M (1 2 3)", "POINT ZM (1 2 3 4)", "LINESTRING EMPTY", "LINESTRING Z EMPTY",
    "LINESTRING M (1 2 3, 4 5 6)", "LINESTRING (1 2, 3 4)", "LINESTRING ZM (1 2 3 4, 5 6 7 8)",
    "POLYGON Z ((0 0 1, 1 0 1, 1 1 1, 0 0 1))", "POLYGON M ((0 0 1, 1 0 1, 1 1 1, 0 0 1))", "MULTIPOINT (1 2, 3 4)",
    "MULTIPOINT Z ((1 2 3))", "GEOMETRYCOLLECTION EMPTY", "GEOMETRYCOLLECTION Z EMPTY",
    "GEOMETRYCOLLECTION (POINT (1 2), POINT Z (1 2 3))", "GEOMETRYCOLLECTION (POINT Z EMPTY)",
    "GEOMETRYCOLLECTION (POINT M (1 2 3))", "GEOMETRYCOLLECTION (POINT (1 2), POINT M (1 2 3))",
]


@pytest.mark.parametrize("text", DIMENSIONS)
def test_coordinate_dimension_two_is_neither_z_nor_m(text: str) -> None:
    geom = shapely.from_wkt(text)
    assert (shapely.get_coordinate_dimension(geom) == 2) == (not shapely.has_z(geom) and not shapely.has_m(geom))


@pytest.mark.parametrize("text", DIMENSIONS)
def test_a_geometry_with_z_m_or_nothing_among_plain_ones_is_written_by_shapely(text: str) -> None:
    arr = np.array([shapely.Point(0.5, -1.25), shapely.from_wkt(text),
                    shapely.LineString([(1, 2), (3.00000005, -4)])], dtype=object)
    assert grid.grid_wkt(arr).to_pylist() == _old_wkt(arr)


@pytest.mark.parametrize("extra", ["POINT M (1 2 3)", "POINT Z (1 2 3)", "POINT (5 6)", "POINT Z EMPTY", None,
                                   "GEOMETRYCOLLECTION (POINT M (1 2 3))", "LINESTRING ZM (1 2 3 4, 5.00000005 6 7 8)"])
def test_an_export_with_z_or_m_is_flattened_as_before(extra: str | None) -> None:
    """A CSV export's WKT is that of the flattened geometries (``force_2d`` when one has z or m, as
    ``export._prepare`` did before it left the CSV geometries to ``grid_wkt(flat=True)``)."""
    arr = np.array([shapely.Point(1.00000004, 2), None if extra is None else shapely.from_wkt(extra)], dtype=object)
    flat = shapely.force_2d(arr) if (shapely.has_z(arr) | shapely.has_m(arr)).any() else arr
    assert grid.grid_wkt(arr, flat=True).to_pylist() == _old_wkt(flat)
    frame = gpd.GeoDataFrame({"site_id": ["a", "b"]}, geometry=list(arr), crs=4326)
    text = export.to_bytes(frame, "csv", spec=CATALOGUE["mining_sites"], profile="internal").decode()
    assert text.splitlines()[1:] == [
        f"{site},{_cell(wkt)},internal,[]" for site, wkt in zip(["a", "b"], _old_wkt(flat), strict=True)]
    other = export._prepare(frame)  # other formats: flattened and on the grid, as before
    assert list(shapely.to_wkb(other.geometry.to_numpy())) == \
        list(shapely.to_wkb(shapely.set_precision(flat, 1e-7, mode="pointwise")))


def _cell(wkt: str | None) -> str:
    """A WKT as the CSV writer writes it (quoted when it holds a comma, empty when missing)."""
    return "" if wkt is None else f'"{wkt}"' if "," in wkt else wkt


def test_known_numbers() -> None:
    """Every table: signs, whole thousands and units, the point, three and four decimals."""
    xs = [0.0, -0.0, 1.0, -1.0, 10.0, 999.0, 1000.0, 1001.5, 10000.0, 999999.9999999, -123456.0001,
          0.0001, -0.001, 0.1, 0.12, 0.1234, 0.1234567, 0.0000500, 0.00010001, 179.99999995, -0.00004]
    arr = np.array([shapely.Point(x, -x) for x in xs] + [shapely.LineString([(x, 1.0) for x in xs])], dtype=object)
    got = grid.grid_wkt(arr).to_pylist()
    assert got == _old_wkt(arr)
    assert got[:3] == ["POINT (0 0)", "POINT (0 0)", "POINT (1 -1)"]
    assert got[7] == "POINT (1001.5 -1001.5)" and got[9] == "POINT (999999.9999999 -999999.9999999)"


# whole grid steps built from digits at their edges: whole parts 0..999,999 around each thousand,
# decimals with zeros in the first three or last four places, and values GEOS writes otherwise
WHOLE = st.sampled_from([0, 1, 9, 10, 99, 100, 999, 1000, 1001, 9999, 10000, 100000, 999999, 1000000])
FRAC = st.one_of(st.sampled_from([0, 1, 9, 10, 999, 1000, 1001, 9999, 10000, 10001, 100000, 1000000, 9990000,
                                  9999999, 5000000, 1230000, 40]), st.integers(0, 9999999))
STEPS = st.builds(lambda s, w, f: s * (w * 10**7 + f), st.sampled_from([1, -1]), WHOLE, FRAC)
XY = st.tuples(STEPS, STEPS).map(lambda t: (t[0] / 1e7, t[1] / 1e7))
GEOM = st.one_of(XY.map(shapely.Point), st.lists(XY, min_size=2, max_size=5).map(shapely.LineString))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(geoms=st.lists(GEOM, min_size=1, max_size=9), block=st.integers(1, 5))
def test_blocks_of_coordinates_give_shapely_text(monkeypatch: pytest.MonkeyPatch, geoms: list[shapely.Geometry],
                                                  block: int) -> None:
    """Any block size (a geometry's coordinates split between blocks too) writes GEOS's text."""
    arr = np.array(geoms, dtype=object)
    monkeypatch.setattr(grid, "BLOCK_ROWS", block)
    assert grid.grid_wkt(arr).to_pylist() == _old_wkt(arr)


# columns that are often the same in every row, and sometimes not by one value or one bit
NUMBER = st.sampled_from([0.0, -0.0, 100.0, np.nan, 36.06, 1e-5, 3e38, -np.inf])  # (3e38: float32 too)
TEXT = st.sampled_from(["", "a", "a,b", 'q"', "=1+1", "-5", "x\r\ny", " @x", "é"])


@st.composite
def mostly_constant(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 7))
    columns: dict[str, object] = {}
    for k, kind in enumerate(draw(st.lists(st.sampled_from(["f", "f32", "i", "b", "o", "s", "none"]), min_size=1,
                                           max_size=4))):
        pick = {"f": NUMBER, "f32": NUMBER, "i": st.sampled_from([0, -1, 7, 2**40]), "b": st.booleans(),
                "o": st.one_of(TEXT, st.none()), "s": TEXT, "none": st.sampled_from([None, np.nan, pd.NA])}[kind]
        first = draw(pick)
        values = [first if draw(st.integers(0, 3)) else draw(pick) for _ in range(n)]
        if kind == "f32":
            columns[f"c{k}"] = np.array(values, dtype=np.float32)
        elif kind in ("f", "i", "b"):
            columns[f"c{k}"] = np.array(values)
        elif kind == "s":
            columns[f"c{k}"] = pd.array(values, dtype=pd.Series(["t"]).dtype)
        else:
            columns[f"c{k}"] = pd.Series(values, dtype=object)
    return pd.DataFrame(columns)


@settings(max_examples=400, deadline=None)
@given(frame=mostly_constant())
def test_constant_and_missing_columns_are_written_as_pandas_writes_them(frame: pd.DataFrame) -> None:
    assert csvfile.csv_bytes(frame, bom=False) == csvfile._pandas_table(frame, None).encode()


def test_constant_columns_become_one_cell() -> None:
    frame = pd.DataFrame({"z": [-0.0, -0.0], "nan": [np.nan, np.nan], "i": [3, 3], "b": [True, True],
                          "none": [None, np.nan], "mixed_zero": [0.0, -0.0]})
    built = csvfile._arrow_cells(frame)
    assert built is not None
    cells = built[1]
    assert [c.as_py() if not hasattr(c, "to_pylist") else c.to_pylist() for c in cells] == \
        ["-0.0", "", "3", "True", "", ["0.0", "-0.0"]]
    assert csvfile.csv_bytes(frame, bom=False) == b"z,nan,i,b,none,mixed_zero\r\n-0.0,,3,True,,0.0\r\n-0.0,,3,True,,-0.0\r\n"
    alone = pd.DataFrame({"none": [None, None]})  # a row of one empty cell is written ""
    assert csvfile.csv_bytes(alone, bom=False) == b'none\r\n""\r\n""\r\n' == csvfile._pandas_table(alone, None).encode()


@settings(max_examples=300, deadline=None)
@given(cells=st.lists(st.text(alphabet=st.sampled_from(list('ab,"\r\n é=')), max_size=6), min_size=1, max_size=8),
       ncols=st.integers(1, 3))
def test_cells_to_quote_are_found_by_their_bytes(cells: list[str], ncols: int) -> None:
    """Quotes, commas and line breaks anywhere in a cell, empty cells in a one-column table."""
    frame = pd.DataFrame({f"c{k}": pd.array(cells, dtype=pd.Series(["t"]).dtype) for k in range(ncols)})
    assert csvfile.csv_bytes(frame, bom=False) == csvfile._pandas_table(frame, None).encode()
