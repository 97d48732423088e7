"""``services.checks.frame_hash`` against the f18c300 implementation kept here as the oracle.

The hash of each layer a recorded run read is stored with the run and compared with the next run's
(``cli.py diff`` says which layers changed), so a faster ``frame_hash`` must give the very same
value. Hypothesis builds frames of every dtype a read layer can hold (Python strings with None, NaN
and NA, unicode, blanks; mixed objects; pandas strings; whole numbers with and without missing
values; reals with NaN, the infinities and -0.0; booleans with and without missing values;
date-times, some all at midnight), repeated column names, no columns at all, zero to eight rows, and
points, 3D points, lines, polygons, empty and missing geometries.
"""
from __future__ import annotations

import hashlib

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from services.checks import _wkb_bytes, frame_hash
from tests.test_read_arrow import COORD, GEOMETRY


def reference(frame: gpd.GeoDataFrame) -> str:
    """``frame_hash`` as it was at f18c300."""
    digest = hashlib.sha256()
    attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name)).astype(str)
    digest.update(",".join(attrs.columns).encode())
    digest.update(pd.util.hash_pandas_object(attrs, index=False).to_numpy().tobytes())
    digest.update(_wkb_bytes(frame.geometry.to_numpy()))
    return digest.hexdigest()


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=6)
MISSING = st.sampled_from([None, np.nan, pd.NA])
STAMP = st.datetimes(min_value=pd.Timestamp("1900-01-01").to_pydatetime(),
                     max_value=pd.Timestamp("2200-01-01").to_pydatetime())


def column(kind: str, n: int) -> st.SearchStrategy[object]:
    def values(element: st.SearchStrategy[object]) -> st.SearchStrategy[list[object]]:
        return st.lists(element, min_size=n, max_size=n)

    return {
        "texts": values(st.one_of(MISSING, TEXT, st.sampled_from(["", " ", "é", "日本", "None", "nan"]))).map(
            lambda v: np.asarray(v, dtype=object)),
        "all_missing": values(MISSING).map(lambda v: np.asarray(v, dtype=object)),
        "mixed": values(st.one_of(MISSING, TEXT, st.integers(-3, 3), st.floats(), st.booleans())).map(
            lambda v: np.asarray(v, dtype=object)),
        "str": values(st.one_of(st.none(), TEXT)).map(lambda v: pd.array(v, dtype="str")),
        "int64": values(st.integers(-(2 ** 63), 2 ** 63 - 1)).map(lambda v: np.asarray(v, dtype="int64")),
        "Int64": values(st.one_of(st.none(), st.integers(-(2 ** 63), 2 ** 63 - 1))).map(
            lambda v: pd.array(v, dtype="Int64")),
        "float64": values(st.one_of(st.floats(), st.just(-0.0))).map(lambda v: np.asarray(v, dtype="float64")),
        "bool": values(st.booleans()).map(lambda v: np.asarray(v, dtype=bool)),
        "boolean": values(st.one_of(st.none(), st.booleans())).map(lambda v: pd.array(v, dtype="boolean")),
        "datetime": values(st.one_of(st.none(), STAMP)).map(
            lambda v: pd.to_datetime(pd.Series(v, dtype=object)).astype("datetime64[ms]").to_numpy()),
        "midnight": values(st.one_of(st.none(), st.dates(min_value=pd.Timestamp("1900-01-01").date()))).map(
            lambda v: pd.to_datetime(pd.Series(v, dtype=object)).astype("datetime64[ms]").to_numpy()),
    }[kind]


KINDS = ["texts", "all_missing", "mixed", "str", "int64", "Int64", "float64", "bool", "boolean", "datetime",
         "midnight"]


@st.composite
def frames(draw: st.DrawFn) -> gpd.GeoDataFrame:
    n = draw(st.integers(0, 8))
    kinds = draw(st.lists(st.sampled_from(KINDS), max_size=6))
    names = [draw(st.sampled_from(["a", "b", "site_id", "é"])) for _ in kinds]  # names may repeat
    points = draw(st.booleans())  # a layer of plain points takes the WKB shortcut
    geometry = draw(st.lists(st.builds(shapely.Point, COORD, COORD) if points else GEOMETRY, min_size=n, max_size=n))
    attrs = pd.DataFrame({k: draw(column(kind, n)) for k, kind in enumerate(kinds)}, index=pd.RangeIndex(n))
    attrs.columns = names
    return gpd.GeoDataFrame(attrs, geometry=geometry, crs=4326)


@settings(max_examples=400, deadline=None)
@given(frames())
def test_frame_hash_is_the_old_hash(frame: gpd.GeoDataFrame) -> None:
    assert frame_hash(frame) == reference(frame)


def test_missing_texts_and_their_words_hash_apart() -> None:
    """A missing value hashes as missing, not as the word for it: None, NaN and NA alike, and unlike 'None'."""
    def layer(values: list[object]) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame({"site_id": np.asarray(values, dtype=object)},
                                geometry=[shapely.Point(0, 0)] * len(values), crs=4326)

    assert frame_hash(layer(["a", None])) == frame_hash(layer(["a", np.nan])) == frame_hash(layer(["a", pd.NA]))
    assert frame_hash(layer(["a", None])) != frame_hash(layer(["a", "None"]))
    assert frame_hash(layer(["a", None])) == reference(layer(["a", None]))
