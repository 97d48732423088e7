"""A field coordinator's read of a GeoPackage is selected by SQLite (``Workspace.read_field``), and
gives the frame the Python masking of a whole read gave before (kept here as the oracle,
``_masked``), over generated layers on the real GeoPackage: rows in and out of the account's areas,
areas named with quotes, percents, backslashes, an empty name, a NULL area, an account with no
area or one not in the layer, a layer without ``admin_area``, hair samples in every spelling,
restricted and undeclared columns with missing values, a column marked shareable.

Where the old frame's dtype came from a row or a value the role may not see (an undeclared whole
number column read as float because a withheld row lacked it), the new frame cannot follow it
without reading that row: there its values are compared, and the frame must equal the oracle's read
of the layer as the role sees it (withheld rows gone, withheld values empty), so its dtypes tell
nothing of what was withheld.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.errors import StoreBusy, WorkspaceError
from layers.catalogue import CATALOGUE
from layers.store import arrowread, gpkg, visibility
from layers.store.visibility import AREA_FIELD, outside_areas, shared_rows
from layers.store.workspace import RESTAGES, Workspace
from services import auth

NAMES = ("A", "B", " A\u3000", "O'Brien", "50%", "back\\slash", "it's % \\ _ all", "", "ñandú ", "x') OR 1=1 --")
MEDIA = ("water", "hair", "HAIR ", " Hair\t", "hAiR\u00a0", "fish", "hairy", None)


def _masked(store: Workspace, layer: str, identity: auth.Identity) -> gpd.GeoDataFrame:
    """The field read as ``services.auth.read_layer`` made it before: the whole layer read, then
    masked in Python (the oracle)."""
    shareable = store.info(layer).shareable
    gdf = store.read(layer)
    attributes = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    inside = gdf[AREA_FIELD].isin(identity.areas) if AREA_FIELD in gdf.columns else pd.Series(False, gdf.index)
    kept = inside.to_numpy() | shared_rows(gdf, layer)
    if not kept.all():
        gdf, inside = gdf[kept].reset_index(drop=True), inside[kept].reset_index(drop=True)
    for name in outside_areas(layer, attributes, shareable):
        gdf[name] = gdf[name].astype(object).where(inside.to_numpy(), None)
    for name in outside_areas(layer, attributes, shareable):
        gdf[name] = gdf[name].astype(object).where(gdf[name].notna(), None)
    return gdf


def _visible(gdf: gpd.GeoDataFrame, layer: str, areas: tuple[str, ...], shareable: tuple[str, ...]) -> gpd.GeoDataFrame:
    """``gdf`` as a field coordinator of ``areas`` sees it: hair samples outside its areas gone, the
    other rows' non-partner values empty."""
    inside = _inside(gdf, areas)
    keep = inside | shared_rows(gdf, layer)
    out, inside = gdf[keep].reset_index(drop=True), inside[keep]
    for name in outside_areas(layer, [c for c in out.columns if c != "geometry"], shareable):
        out[name] = out[name].where(inside)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=4326)


def _cells(frame: pd.DataFrame) -> dict[str, list[object]]:
    """Each column's values as Python objects, any missing one as None (the old frame's dtypes, set by
    withheld rows, can hold NaN where the new one holds None, or 0.0 where it holds 0: equal here)."""
    return {str(c): [None if v is None or (not isinstance(v, str | shapely.Geometry) and pd.isna(v)) else v
                     for v in frame[c].astype(object)] for c in frame.columns}


def _inside(gdf: pd.DataFrame, areas: tuple[str, ...]) -> np.ndarray:
    """Which rows of a generated layer are in ``areas``, as a read compares them: the stored text
    stripped, a blank one in no area."""
    if AREA_FIELD not in gdf.columns:
        return np.zeros(len(gdf), bool)
    return np.array([isinstance(v, str) and bool(v.strip()) and v.strip() in areas for v in gdf[AREA_FIELD]], bool)


def _store(folder: Path, name: str, gdf: gpd.GeoDataFrame, shareable: tuple[str, ...]) -> Workspace:
    store = Workspace(folder / f"{name}.gpkg")
    store.write_layers([("samples", gdf)], source="generated.geojson")
    if shareable:
        store.mark_shareable("samples", list(shareable))
    return store


ROW = st.fixed_dictionaries({
    "medium": st.sampled_from(MEDIA), "area": st.one_of(st.none(), st.sampled_from(NAMES)),
    "hg": st.one_of(st.none(), st.floats(0, 100, allow_nan=False)),
    "collector": st.one_of(st.none(), st.text("abc'%\\\"", max_size=4)),
    "depth": st.one_of(st.none(), st.integers(-5, 5)),
    "flag": st.one_of(st.none(), st.booleans()),
    "lab": st.one_of(st.none(), st.sampled_from(("L1", "L'2"))),
})


def _layer(rows: list[dict[str, object]], with_area: bool) -> gpd.GeoDataFrame:
    data: dict[str, list[object]] = {
        "sample_id": [f"S{i}" for i in range(len(rows))], "medium": [r["medium"] for r in rows],
        "hg": [r["hg"] for r in rows], "unit": ["ug/L"] * len(rows), "lab": [r["lab"] for r in rows],
        "collector_name": [r["collector"] for r in rows], "depth": [r["depth"] for r in rows],
        "below_detection": [r["flag"] for r in rows], "note_flag": [r["flag"] for r in rows]}
    if with_area:
        data[AREA_FIELD] = [r["area"] for r in rows]
    return gpd.GeoDataFrame(data, geometry=[shapely.Point(-1.9 + i / 100, 5.3) for i in range(len(rows))], crs=4326)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, min_size=1, max_size=8),
       areas=st.lists(st.sampled_from((*NAMES, "nowhere")), max_size=3, unique=True).map(tuple),
       with_area=st.booleans(), shareable=st.sampled_from(((), ("depth",), ("depth", "note_flag"))))
def test_the_sqlite_read_equals_the_python_masking(rows: list[dict[str, object]], areas: tuple[str, ...],
                                                   with_area: bool, shareable: tuple[str, ...]) -> None:
    gdf = _layer(rows, with_area)
    identity = auth.Identity("kofi", "field", areas)
    with tempfile.TemporaryDirectory() as folder:
        store = _store(Path(folder), "ws", gdf, shareable)
        new = auth.read_layer(store, "samples", identity)
        old = _masked(store, "samples", identity)
        assert list(new.columns) == list(old.columns) and _cells(new) == _cells(old)  # None where withheld, the order
        seen = _store(Path(folder), "seen", _visible(gdf, "samples", areas, shareable), shareable)
        pd.testing.assert_frame_equal(new, _masked(seen, "samples", identity))  # dtypes of what it sees only


def test_the_conditions_quote_any_area_and_select_what_pandas_selects(tmp_path: Path) -> None:
    gdf = _layer([{"medium": m, "area": a, "hg": 1.0, "collector": "c", "depth": 1, "flag": True, "lab": "L"}
                  for m in MEDIA for a in (*NAMES, None)], with_area=True)
    store = _store(tmp_path, "ws", gdf, ())
    for areas in [(), ("A",), ("O'Brien", "50%"), ("back\\slash", ""), ("x') OR 1=1 --",), ("nowhere",),
                  ("A\x00') OR 1=1 --",), NAMES]:
        got = store.read_field("samples", areas)
        inside = _inside(gdf, areas)
        expected = gdf[inside | shared_rows(gdf, "samples")]
        assert list(got["sample_id"]) == list(expected["sample_id"]), areas
        assert list(got["collector_name"].notna()) == list(inside[expected.index]), areas
    assert visibility.in_areas_sqlite(["A"], ["lab"]) == "0" == visibility.in_areas_sqlite([], [AREA_FIELD])
    assert "'" not in visibility.in_areas_sqlite(["x') OR 1=1 --"], [AREA_FIELD]).split("X'")[1].split("'")[0]


def test_a_wholly_restricted_layer_is_refused(tmp_path: Path) -> None:
    store = Workspace(tmp_path / "ws.gpkg")
    store.write_layers([("samples", _layer([{"medium": "water", "area": "A", "hg": 1.0, "collector": "c",
                                              "depth": 1, "flag": True, "lab": "L"}], True))], source="x")
    restricted = [name for name in CATALOGUE if visibility.wholly_restricted(name)]
    with pytest.raises(WorkspaceError, match="restricted"):
        store.read_field(restricted[0], ("A",))


def _commit_elsewhere(path: Path, name: str) -> None:
    """Another program (a process of its own, Python's sqlite3) commits a change to a sample's lab."""
    script = ("import sys; from pathlib import Path; from layers.store import gpkg\n"
              "with gpkg.transaction(Path(sys.argv[1])) as con:\n"
              "    con.execute('UPDATE samples SET lab = ? WHERE sample_id = ?', (sys.argv[2], 'S0'))")
    subprocess.run([sys.executable, "-c", script, str(path), name], check=True, timeout=60,
                   cwd=Path(__file__).resolve().parents[1])


@pytest.mark.parametrize("commits", [1, RESTAGES])
def test_a_commit_between_the_two_reads_reads_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    commits: int) -> None:
    """The two reads are two snapshots: another program commits right after the first (the rows of
    the areas), every time or once; the read is made again, or refused after ``RESTAGES`` tries."""
    store = _store(tmp_path, "ws", _layer([{"medium": "water", "area": a, "hg": 1.0, "collector": "c", "depth": 1,
                                             "flag": True, "lab": "L"} for a in ("A", "B")], True), ())
    arrow = arrowread._arrow
    calls: list[str] = []

    def committing(*args: object, **kwargs: object) -> object:
        got = arrow(*args, **kwargs)  # type: ignore[arg-type]
        calls.append(str(args[3]))
        if len(calls) % 2 and len(calls) < 2 * commits:  # after the first part of a try
            _commit_elsewhere(store.real, f"lab {len(calls)}")
        return got

    monkeypatch.setattr(arrowread, "_arrow", committing)
    if commits == RESTAGES:
        with pytest.raises(StoreBusy, match="kept changing"):
            store.read_field("samples", ("B",))
        assert len(calls) == 2 * RESTAGES
        return
    got = store.read_field("samples", ("B",))
    assert len(calls) == 4 and calls[0] == calls[2] and "X'42'" in calls[0]  # both parts, twice
    assert list(got["lab"]) == ["lab 1", "L"]  # the second try, after the commit: one state


def test_a_layer_read_feature_by_feature_is_joined_the_same_way(tmp_path: Path) -> None:
    """A field type the Arrow read does not rebuild (a DATE column another program added) makes both
    reads feature reads (``arrowread._joined``): the same rows, order and values as the old masking."""
    pairs = [("water", "A"), ("hair", "B"), ("hair", "A"), ("water", None), ("water", "B")]
    rows: list[dict[str, object]] = [{"medium": m, "area": a, "hg": 1.0, "collector": f"c{i}", "depth": i,
                                      "flag": None, "lab": "L"} for i, (m, a) in enumerate(pairs)]
    store = _store(tmp_path, "ws", _layer(rows, True), ())
    with gpkg.transaction(store.real) as con:
        con.execute('ALTER TABLE samples ADD COLUMN "visited" DATE')
        con.execute("UPDATE samples SET visited = '2024-01-0' || fid")
    assert "OFTDate" in pyogrio.read_info(store.real, layer="samples")["ogr_types"]  # not rebuilt from Arrow
    identity = auth.Identity("kofi", "field", ("A",))
    new, old = auth.read_layer(store, "samples", identity), _masked(store, "samples", identity)
    assert list(new["sample_id"]) == ["S0", "S2", "S3", "S4"] and list(new.index) == [0, 1, 2, 3]
    assert list(new.columns) == list(old.columns) and _cells(new) == _cells(old)
    assert list(new["collector_name"]) == ["c0", "c2", None, None]
    assert [str(v)[:10] if v is not None else None for v in new["visited"]] == ["2024-01-01", "2024-01-03", None, None]
