"""A workspace layer read through GDAL's Arrow stream equals pyogrio's feature-by-feature read.

``layers.store.arrowread.read_layer`` rebuilds, from the Arrow table, the frame the feature read
gives (issue 13: the recorded re-run on a national workspace). The oracle kept here is that feature
read itself, ``pyogrio.read_dataframe`` without Arrow, which ``Workspace.read`` called before. Hypothesis
builds layers holding every dtype a workspace layer can hold (text with unicode, blanks and missing
values, text holding nothing, whole numbers of 16, 32 and 64 bits with and without missing values,
reals of 32 and 64 bits with NaN and the infinities, booleans with and without missing values,
date-times), declared and undeclared, with points, 3D points, lines, polygons,
empty and missing geometries, and zero to eight rows; the two reads must give equal frames: columns,
order, dtypes, values, index, geometry (the same WKB) and CRS.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.catalogue import spec_for
from layers.io.coerce import coerce_types
from layers.store import arrowread, gpkg
from layers.store.workspace import Workspace

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6)
FLOAT = st.floats(allow_nan=True, allow_infinity=True)


def _ints(bits: int) -> st.SearchStrategy[int]:
    return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)


def column(kind: str, n: int) -> st.SearchStrategy[object]:
    """``n`` values of one kind, as the frame that is written holds them."""
    lists = {
        "text": st.lists(st.one_of(st.none(), TEXT, st.sampled_from(["", "  ", "é", "日本"])), min_size=n, max_size=n),
        "text_none": st.just([None] * n),
        "int64": st.lists(_ints(64), min_size=n, max_size=n).map(lambda v: np.asarray(v, dtype="int64")),
        "int32": st.lists(_ints(32), min_size=n, max_size=n).map(lambda v: np.asarray(v, dtype="int32")),
        "int16": st.lists(_ints(16), min_size=n, max_size=n).map(lambda v: np.asarray(v, dtype="int16")),
        "Int64": st.lists(st.one_of(st.none(), _ints(64)), min_size=n, max_size=n).map(
            lambda v: pd.array(v, dtype="Int64")),
        "float64": st.lists(FLOAT, min_size=n, max_size=n).map(lambda v: np.asarray(v, dtype="float64")),
        "float32": st.lists(st.floats(width=32), min_size=n, max_size=n).map(lambda v: np.asarray(v, dtype="float32")),
        "bool": st.lists(st.booleans(), min_size=n, max_size=n).map(lambda v: np.asarray(v, dtype=bool)),
        "boolean": st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n).map(
            lambda v: pd.array(v, dtype="boolean")),
        "datetime": st.lists(st.one_of(st.none(), st.datetimes()), min_size=n, max_size=n).map(
            lambda v: pd.to_datetime(pd.Series(v, dtype=object)).astype("datetime64[ms]").to_numpy()),
    }
    return lists[kind]


KINDS = ["text", "text_none", "int64", "int32", "int16", "Int64", "float64", "float32", "bool", "boolean",
         "datetime"]
COORD = st.floats(-170, 170, allow_nan=False)
GEOMETRY = st.one_of(
    st.builds(shapely.Point, COORD, COORD),
    st.builds(lambda x, y, z: shapely.Point(x, y, z), COORD, COORD, COORD),
    st.builds(lambda x, y: shapely.LineString([(x, y), (x + 1, y - 0.5), (x + 2, y)]), COORD, COORD),
    st.builds(lambda x, y: shapely.box(x, y, x + 1, y + 1), COORD, COORD),
    st.just(shapely.Point()), st.none())


@st.composite
def layers(draw: st.DrawFn, declared: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
    """A layer of 0-8 rows with up to five undeclared columns of any kind and the ``declared``
    fields, each as any kind."""
    n = draw(st.integers(0, 8))
    names = [f"c{k}_{draw(st.sampled_from(KINDS))}" for k in range(draw(st.integers(0, 5)))]
    names += [name for name in declared if draw(st.booleans())]
    draw(st.randoms()).shuffle(names)
    data = {name: draw(column(name.split("_", 1)[1] if name.startswith("c") and "_" in name
                              else draw(st.sampled_from(KINDS)), n)) for name in names}
    geometry = draw(st.lists(GEOMETRY, min_size=n, max_size=n))
    return gpd.GeoDataFrame(data, geometry=geometry, crs=4326)


def assert_same(got: gpd.GeoDataFrame, want: gpd.GeoDataFrame) -> None:
    """Equal frames: columns, dtypes, values (NaN where NaN), index, CRS and the WKB of every geometry."""
    assert list(got.columns) == list(want.columns)
    assert got.geometry.name == want.geometry.name and got.crs == want.crs
    attrs = [c for c in want.columns if c != want.geometry.name]
    pd.testing.assert_frame_equal(pd.DataFrame(got[attrs]), pd.DataFrame(want[attrs]), check_exact=True)
    pd.testing.assert_index_equal(got.index, want.index, exact=True)
    assert list(shapely.to_wkb(got.geometry.to_numpy())) == list(shapely.to_wkb(want.geometry.to_numpy()))


@settings(max_examples=200, deadline=None)
@given(layers(), st.data())
def test_arrow_read_is_the_feature_read(gdf: gpd.GeoDataFrame, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.gpkg"
        gpkg.write_gdf(path, "layer", gdf)
        assert_same(arrowread.read_layer(path, "layer"), pyogrio.read_dataframe(path, layer="layer"))
        stored = [str(c) for c in pyogrio.read_info(path, layer="layer")["fields"]]
        some = [c for c in stored if data.draw(st.booleans())]
        assert_same(arrowread.read_layer(path, "layer", columns=some),
                    pyogrio.read_dataframe(path, layer="layer", columns=some))


@settings(max_examples=80, deadline=None)
@given(layers(declared=("site_id", "name", "uses_mercury", "gold_kg_per_year", "miners", "admin_area")), st.data())
def test_workspace_read_is_the_old_read(gdf: gpd.GeoDataFrame, data: st.DataObject) -> None:
    """``Workspace.read`` (declared fields coerced) against the read it made before: the feature read, then
    ``coerce_types``; whole and with some columns."""
    spec = spec_for("mining_sites")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.gpkg"
        ws = Workspace(path)
        ws.write_layer("mining_sites", gdf, source="test")
        assert_same(ws.read("mining_sites"), coerce_types(pyogrio.read_dataframe(path, layer="mining_sites"), spec))
        stored = ws.columns("mining_sites")
        some = [c for c in stored if data.draw(st.booleans())]
        assert_same(ws.read("mining_sites", columns=some),
                    coerce_types(pyogrio.read_dataframe(path, layer="mining_sites", columns=some), spec))


def test_a_layer_with_a_date_field_is_read_feature_by_feature(tmp_path: Path) -> None:
    """A field type the Arrow read does not rebuild (a date-time here) sends the layer to the feature
    read: the same frame, date-times parsed as pyogrio parses them."""
    gdf = gpd.GeoDataFrame({"when": pd.to_datetime(["2024-01-02T03:04:05", None]).astype("datetime64[ms]"),
                            "flag": pd.array([True, None], dtype="boolean")},
                           geometry=[shapely.Point(1, 2), None], crs=4326)
    gpkg.write_gdf(tmp_path / "w.gpkg", "layer", gdf)
    got = arrowread.read_layer(tmp_path / "w.gpkg", "layer")
    assert_same(got, pyogrio.read_dataframe(tmp_path / "w.gpkg", layer="layer"))
    assert str(got["when"].dtype) == "datetime64[ms]" and got["flag"].dtype == np.float64
