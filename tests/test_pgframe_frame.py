"""``pgframe.frame``: the frame a PostGIS layer read builds from psycopg's rows, against the f18c300
version kept here as the oracle (``reference``: rows transposed with ``zip``, every typed column handed
to ``coerce_types`` as Python objects). Hypothesis builds rows as psycopg gives them for the typed
columns of every catalogue dtype (text, booleans, whole numbers, reals with NaN, the infinities and
-0.0, dates; NULL anywhere), declared fields kept in ``extra``, undeclared columns of every kept kind,
rows with and without extra values, WKB as bytes, memoryview or NULL, and zero to eight rows; both
must give equal frames (columns, order, dtypes, values, index, geometry, CRS)."""
from __future__ import annotations

import datetime as dt
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.catalogue import LayerSpec, spec_for
from layers.io.coerce import coerce_types
from layers.store.pgframe import _NOTHING, _restore, frame

SPEC = spec_for("mining_sites")
TYPED = {"site_id": "str", "name": "str", "uses_mercury": "bool", "cyanide_leaching": "bool", "miners": "int",
         "working_days_per_year": "int", "gold_kg_per_year": "float", "last_inspected": "date"}
EXTRA_KINDS = ["str", "int", "float", "bool", "datetime", "Int64", "boolean"]


def reference(rows: list[tuple[Any, ...]], columns: list[list[str]], typed: list[str], spec: LayerSpec) -> gpd.GeoDataFrame:
    """``pgframe.frame`` as it was at f18c300."""
    cols = list(zip(*rows)) if rows else [()] * (len(typed) + 2)
    by_name = dict(zip(typed, cols))
    extras: list[dict[str, Any]] = [e or _NOTHING for e in cols[len(typed)]]
    data: dict[str, Any] = {}
    for name, kind in columns:
        if kind == "declared" and name in by_name:
            values = list(by_name[name])
            field = spec.field(name)
            if field is not None and field.dtype == "date":
                data[name] = pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[ms]")
            else:
                data[name] = pd.Series(values, dtype=object)
        else:
            data[name] = _restore([e.get(name) for e in extras], "str" if kind == "declared" else kind)
    geometry = shapely.from_wkb(np.asarray([g if g is None or isinstance(g, bytes) else bytes(g)
                                            for g in cols[len(typed) + 1]], dtype=object))
    out = pd.DataFrame({n: (v.reset_index(drop=True) if isinstance(v, pd.Series) else v)
                        for n, v in data.items()}, index=pd.RangeIndex(len(rows)))
    out = coerce_types(out, spec)
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geometry, crs=4326), crs=4326)


TYPED_VALUES = {
    "str": st.one_of(st.text(max_size=5), st.sampled_from(["", " a ", "é"])),
    "bool": st.booleans(),
    "int": st.integers(-(2 ** 63), 2 ** 63 - 1),
    "float": st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(-0.0)),
    "date": st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 1, 1)),
}
JSON_VALUES = {  # what an undeclared column of each kept kind holds in ``extra`` (as prepare writes it)
    "str": st.text(max_size=5), "int": st.integers(-(2 ** 53), 2 ** 53), "Int64": st.integers(-(2 ** 53), 2 ** 53),
    "float": st.floats(allow_nan=False, allow_infinity=False), "bool": st.booleans(), "boolean": st.booleans(),
    "datetime": st.datetimes(min_value=dt.datetime(1900, 1, 1)).map(lambda d: d.replace(microsecond=0).isoformat()),
}
GEOMETRY = st.one_of(
    st.none(), st.just(shapely.Point()),
    st.builds(shapely.Point, st.floats(-180, 180), st.floats(-90, 90)),
    st.builds(lambda x, y: shapely.LineString([(x, y), (x + 1, y)]), st.floats(-170, 170), st.floats(-80, 80)),
    st.builds(lambda x, y: shapely.box(x, y, x + 1, y + 1), st.floats(-170, 170), st.floats(-80, 80)))


@st.composite
def layouts(draw: st.DrawFn) -> tuple[list[tuple[Any, ...]], list[list[str]], list[str]]:
    """(rows, column layout, typed columns) as ``PostgisStore.read`` hands them to ``frame``."""
    n = draw(st.integers(0, 8))
    typed = [name for name in TYPED if draw(st.booleans())]
    in_extra = [[f"x{k}", draw(st.sampled_from(EXTRA_KINDS))] for k in range(draw(st.integers(0, 3)))]
    in_extra += [[name, "declared"] for name in ("status", "burning") if draw(st.booleans())]
    columns = [[name, "declared"] for name in typed] + in_extra
    draw(st.randoms()).shuffle(columns)
    if draw(st.booleans()):  # a column with NULL in every row: each kind's missing values
        typed_nulls = set(typed)
    else:
        typed_nulls = set()
    rows = []
    for _ in range(n):
        values = [None if name in typed_nulls or draw(st.integers(0, 4)) == 0 else draw(TYPED_VALUES[TYPED[name]])
                  for name in typed]
        extra = {name: draw(JSON_VALUES["str" if kind == "declared" else kind]) for name, kind in in_extra
                 if draw(st.booleans())}
        geometry = draw(GEOMETRY)
        wkb = None if geometry is None else shapely.to_wkb(geometry)
        if wkb is not None and draw(st.booleans()):
            wkb = memoryview(wkb)
        rows.append((*values, extra or None, wkb))
    return rows, columns, typed


def test_every_dtype_with_nulls() -> None:
    """One hand-made layout: each typed dtype with a NULL, extras with and without values."""
    typed = list(TYPED)
    rows = [("a", " b ", True, None, 5, None, 1.5, dt.date(2024, 1, 2), {"x": "1"}, shapely.to_wkb(shapely.Point(1, 2))),
            (None, None, None, False, None, 366, float("inf"), None, None, None)]
    columns = [[n, "declared"] for n in typed] + [["x", "str"]]
    _same(frame(rows, columns, typed, SPEC), reference(rows, columns, typed, SPEC))
    assert str(frame(rows, columns, typed, SPEC)["uses_mercury"].dtype) == "boolean"


@settings(max_examples=300, deadline=None)
@given(layouts())
def test_frame_is_the_old_frame(layout: tuple[list[tuple[Any, ...]], list[list[str]], list[str]]) -> None:
    rows, columns, typed = layout
    _same(frame(rows, columns, typed, SPEC), reference(rows, columns, typed, SPEC))


def _same(got: gpd.GeoDataFrame, want: gpd.GeoDataFrame) -> None:
    assert list(got.columns) == list(want.columns) and got.crs == want.crs
    attrs = [c for c in want.columns if c != "geometry"]
    pd.testing.assert_frame_equal(pd.DataFrame(got[attrs]), pd.DataFrame(want[attrs]), check_exact=True)
    pd.testing.assert_index_equal(got.index, want.index, exact=True)
    assert list(shapely.to_wkb(got.geometry.to_numpy())) == list(shapely.to_wkb(want.geometry.to_numpy()))
