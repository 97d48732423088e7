"""Every store test on both back ends: the embedded GeoPackage and PostGIS (a real server,
tests/postgis.py). Write and read back equal (geometry, every column, dtypes), provenance, runs,
shareable marks, the shrink refusal, appends, a writer killed mid-transaction, concurrent writers,
a lock that gives up. Nothing is mocked: the killed and concurrent writers are other processes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from geo.errors import InputError, WorkspaceError
from layers.store.base import ReplaceRefused, Store, store_name
from layers.store.open import open_store
from layers.store.pgschema import WRITE_LOCK
from layers.store.postgis import PostgisStore
from layers.store.workspace import Workspace
from tests.conftest import ROOT

# the function each back end calls while its write transaction is open: a test process slows it
# down or stops in it to be killed there
WRITE_HOOK = {"geopackage": ("layers.store.gpkg", "write_gdf"), "postgis": ("layers.store.postgis", "copy_rows")}


@pytest.fixture
def store(location: str) -> Store:
    return open_store(location)


def _sites() -> gpd.GeoDataFrame:
    """Declared fields of every dtype (some given as text), undeclared columns of every kind, and
    points, polygons and multipolygons."""
    return gpd.GeoDataFrame({
        "site_id": ["S1", "S2", "S3"], "name": ["Alpha", "Beta <b>", None],
        "uses_mercury": [True, False, None], "miners": [12, None, 40],
        "mercury_kg_per_year": [1.5, None, 0.25],
        "survey_date": ["2024-03-01", "2024-04-15T10:30:00", None], "informant_name": ["Ama", "Kofi", None],
        "local_code": ["a-1", None, "c-3"], "visits": [1, 2, 3], "score": [0.5, np.nan, 2.0],
        "checked": [True, False, True],
        "seen": pd.to_datetime(["2024-01-01", "2024-02-03 10:00", None], format="ISO8601"),
    }, geometry=[shapely.Point(-1.99, 5.30),
                 shapely.Polygon([(-1.97, 5.30), (-1.96, 5.30), (-1.96, 5.31), (-1.97, 5.30)]),
                 shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)])], crs=4326)


def _expected_sites() -> gpd.GeoDataFrame:
    """What ``_sites()`` reads back as: declared fields in their declared dtypes, the rest kept."""
    s = _sites()
    return gpd.GeoDataFrame({
        "site_id": pd.Series(["S1", "S2", "S3"], dtype=object),
        "name": pd.Series(["Alpha", "Beta <b>", None], dtype=object),
        "uses_mercury": pd.array([True, False, None], dtype="boolean"),
        "miners": pd.array([12, None, 40], dtype="Int64"),
        "mercury_kg_per_year": [1.5, np.nan, 0.25],
        "survey_date": pd.to_datetime(["2024-03-01", "2024-04-15", None]).astype("datetime64[ms]"),
        "informant_name": pd.Series(["Ama", "Kofi", None], dtype=object),
        "local_code": pd.array(["a-1", None, "c-3"], dtype="str"),
        "visits": np.array([1, 2, 3], dtype="int64"), "score": [0.5, np.nan, 2.0],
        "checked": np.array([True, False, True]),
        "seen": s["seen"].astype("datetime64[ms]"),
    }, geometry=s.geometry.to_numpy(), crs=4326)


def _water() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"water_id": ["W1"], "kind": ["river"]},
                            geometry=[shapely.LineString([(-2, 5), (-1, 5)])], crs=4326)


def _points(layer_id: str, n: int) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({layer_id: [f"X{i}" for i in range(n)]},
                            geometry=[shapely.Point(i * 0.01, 0) for i in range(n)], crs=4326)


def _state(store: Store) -> tuple[object, ...]:
    """Everything a store holds, to compare before and after a failed change."""
    infos = store.layers()
    frames = [store.read(i.layer).to_wkb(hex=True) for i in infos]
    return (infos, [(f.dtypes.astype(str).to_dict(), f.astype(str).to_dict("list")) for f in frames],
            store.runs(100))


# ---------------------------------------------------------------- the interface
def test_both_back_ends_are_stores(tmp_path: Path, pg_url: str) -> None:
    assert isinstance(open_store(tmp_path / "ws.gpkg"), Workspace)
    assert isinstance(open_store(tmp_path / "ws.gpkg", pg_url), PostgisStore)
    assert isinstance(open_store(pg_url), PostgisStore)
    for s in (Workspace(tmp_path / "ws.gpkg"), PostgisStore(pg_url)):
        assert isinstance(s, Store)
    assert store_name(Workspace(tmp_path / "ws.gpkg")) == "ws.gpkg"
    with pytest.raises(WorkspaceError, match="expected one starting with postgresql://"):
        open_store(tmp_path / "ws.gpkg", "mysql://u@h/db")


# ---------------------------------------------------------------- write, read back equal
def test_write_and_read_back_every_column_dtype_and_geometry(store: Store) -> None:
    info = store.write_layer("mining_sites", _sites(), source="survey.csv", licence="CC-BY-4.0", accuracy_m=5)
    back = store.read("mining_sites")
    assert_geodataframe_equal(back, _expected_sites(), check_dtype=True, check_crs=True)
    assert shapely.equals_exact(back.geometry.to_numpy(), _sites().geometry.to_numpy(), tolerance=0).all()
    assert (info.layer, info.rows, info.source, info.licence, info.accuracy_m) == (
        "mining_sites", 3, "survey.csv", "CC-BY-4.0", 5)
    assert store.columns("mining_sites") == [c for c in _sites().columns if c != "geometry"]


def test_both_back_ends_read_the_same_frame(tmp_path: Path, pg_url: str) -> None:
    frames = []
    for location in (str(tmp_path / "ws.gpkg"), pg_url):
        s = open_store(location)
        s.write_layers([("mining_sites", _sites()), ("water_bodies", _water())], source="a")
        frames.append({i.layer: s.read(i.layer) for i in s.layers()})
    gpkg, pg = frames
    assert list(gpkg) == list(pg) == ["mining_sites", "water_bodies"]
    for layer in gpkg:
        assert_geodataframe_equal(pg[layer], gpkg[layer], check_dtype=True)


# ---------------------------------------------------------------- provenance, runs, marks
def test_layers_info_and_provenance(store: Store) -> None:
    assert not store.has("water_bodies")
    store.write_layer("water_bodies", _water(), source="rivers.geojson", licence="ODbL-1.0",
                      accuracy_m=500, accuracy_note="small scale")
    store.write_layer("mining_sites", _sites(), source="survey.csv", synthetic=True)
    assert [i.layer for i in store.layers()] == ["mining_sites", "water_bodies"]  # catalogue order
    water = store.info("water_bodies")
    assert (water.source, water.licence, water.rows, water.accuracy_m, water.accuracy_note, water.synthetic) == (
        "rivers.geojson", "ODbL-1.0", 1, 500, "small scale", False)
    sites = store.info("mining_sites")
    assert (sites.licence, sites.accuracy_m, sites.synthetic, sites.imported_at[:2]) == ("unknown", None, True, "20")
    assert store.has("water_bodies") and not store.has("samples")
    with pytest.raises(WorkspaceError, match=r"holds no 'samples' layer$"):
        store.info("samples")
    with pytest.raises(WorkspaceError, match=r"holds no 'samples' layer$"):
        store.read("samples")


def test_runs_are_recorded_newest_first(store: Store) -> None:
    store.write_layer("mining_sites", _sites(), source="a")
    first = store.record_run(rules_hash="h1", input_hashes={"mining_sites": "a"}, counts={"R": 1},
                             violation_ids=["v1"])
    second = store.record_run(rules_hash="h1", input_hashes={"mining_sites": "b", "a_layer": "c"},
                              counts={"R2": 2, "R10": 0}, violation_ids=["v2", "v1"])
    runs = store.runs()
    assert [r["run_id"] for r in runs] == [second, first] and second > first
    assert runs[0]["counts"] == {"R10": 0, "R2": 2} and list(runs[0]["counts"]) == ["R10", "R2"]
    assert runs[0]["input_hashes"] == {"a_layer": "c", "mining_sites": "b"}
    assert runs[0]["violation_ids"] == ["v1", "v2"] and runs[1]["violation_ids"] == ["v1"]
    assert [r["run_id"] for r in store.runs(limit=1)] == [second]


def test_shareable_marks(store: Store) -> None:
    store.write_layer("mining_sites", _sites(), source="a")
    assert store.mark_shareable("mining_sites", ["local_code", "visits"]) == ("local_code", "visits")
    assert store.info("mining_sites").shareable == ("local_code", "visits")
    assert store.mark_shareable("mining_sites", ["visits"], undo=True) == ("local_code",)
    with pytest.raises(WorkspaceError, match="restricted"):
        store.mark_shareable("mining_sites", ["informant_name"])
    store.write_layer("mining_sites", _sites(), source="again")  # a mark stays through a new import
    assert store.info("mining_sites").shareable == ("local_code",)


# ---------------------------------------------------------------- refusals change nothing
def test_a_replacement_that_drops_most_rows_is_refused(store: Store) -> None:
    store.write_layer("deposits", _points("deposit_id", 4), source="four.csv")
    before = _state(store)
    change = store.replacement("deposits", 1)
    assert (change.stored, change.incoming, change.lost, change.needs_replace_all) == (4, 1, 3, True)
    assert not store.replacement("deposits", 2).needs_replace_all
    with pytest.raises(ReplaceRefused) as refused:
        store.write_layers([("water_bodies", _water()), ("deposits", _points("deposit_id", 1))], source="one.csv")
    assert str(refused.value) == (
        "deposits holds 4 rows; this file (one.csv) has 1; 3 rows would go. Pass --replace-all to replace them.\n"
        f"Nothing was stored; workspace {store.path} is unchanged.")
    assert _state(store) == before  # not even the water layer of the same change
    store.write_layers([("deposits", _points("deposit_id", 1))], source="one.csv", replace_all=True)
    assert store.info("deposits").rows == 1 and len(store.read("deposits")) == 1


def test_append_adds_rows_and_refuses_ids_already_stored(store: Store) -> None:
    store.write_layer("mining_sites", _sites(), source="a")
    more = _sites().iloc[[0]].copy()
    more["site_id"] = ["S9"]
    more["new_col"] = ["n"]
    [info] = store.write_layers([("mining_sites", more)], source="b", append=True)
    back = store.read("mining_sites")
    assert info.rows == 4 and list(back["site_id"]) == ["S1", "S2", "S3", "S9"]
    assert list(back.columns[-2:]) == ["new_col", "geometry"] and back["new_col"].isna().sum() == 3
    before = _state(store)
    with pytest.raises(InputError, match="1 id is already stored") as clash:
        store.write_layers([("mining_sites", _sites().iloc[[1]])], source="c", append=True)
    assert [p.value for p in clash.value.problems] == ["S2"]
    assert _state(store) == before


def test_a_layer_in_another_crs_is_refused(store: Store) -> None:
    with pytest.raises(WorkspaceError, match="must be in EPSG:4326"):
        store.write_layer("water_bodies", _water().to_crs(3857), source="x")


# ---------------------------------------------------------------- other processes
def _writer_script(location: str, backend: str, body: str) -> str:
    module, name = WRITE_HOOK[backend]
    return textwrap.dedent(f"""
        import sys, time, json
        sys.path.insert(0, {str(ROOT)!r})
        import geopandas as gpd, shapely, importlib
        from layers.store.open import open_store
        hooked = importlib.import_module({module!r})
        real = getattr(hooked, {name!r})
    """) + textwrap.dedent(body) + textwrap.dedent(f"""
        setattr(hooked, {name!r}, hook)
        layer, id_field = sys.argv[1], sys.argv[2]
        gdf = gpd.GeoDataFrame({{id_field: ["X1"]}}, geometry=[shapely.Point(0, 0)], crs=4326)
        open_store({location!r}).write_layer(layer, gdf, source=layer)
    """)


def test_a_writer_killed_mid_transaction_leaves_the_previous_state(store: Store, location: str, backend: str) -> None:
    store.write_layer("mining_sites", _sites(), source="a")
    store.record_run(rules_hash="h", input_hashes={}, counts={}, violation_ids=["v"])
    before = _state(store)
    script = _writer_script(location, backend, """
        def hook(*args, **kwargs):
            real(*args, **kwargs)  # the change is really made inside the transaction ...
            print("written", flush=True)
            time.sleep(60)  # ... and the writer is killed before it commits
    """)
    proc = subprocess.Popen([sys.executable, "-c", script, "water_bodies", "water_id"], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "written"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert _state(store) == before
    started = time.monotonic()
    store.write_layer("water_bodies", _water(), source="b")  # the dead writer's lock went with it
    assert time.monotonic() - started < 10
    assert [i.layer for i in store.layers()] == ["mining_sites", "water_bodies"]


def test_concurrent_writers_take_turns_and_all_land(store: Store, location: str, backend: str,
                                                    tmp_path: Path) -> None:
    log = tmp_path / "turns.jsonl"
    script = _writer_script(location, backend, f"""
        def hook(*args, **kwargs):
            start = time.time()
            time.sleep(0.4)  # widen the window in which writers not taking turns would overlap
            real(*args, **kwargs)
            with open({str(log)!r}, "a") as f:
                f.write(json.dumps([start, time.time()]) + "\\n")
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, layer, id_field])
             for layer, id_field in (("deposits", "deposit_id"), ("residential_areas", "area_id"),
                                     ("tailings", "tailings_id"))]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    assert {i.layer for i in store.layers()} == {"deposits", "residential_areas", "tailings"}
    turns = sorted(json.loads(line) for line in log.read_text().splitlines())
    assert len(turns) == 3
    assert all(earlier[1] <= later[0] for earlier, later in zip(turns, turns[1:]))  # no two at once


def test_a_write_gives_up_on_a_held_lock_with_a_clear_message(location: str, backend: str) -> None:
    store: Store = Workspace(location, lock_timeout_s=0.5) if backend == "geopackage" else \
        PostgisStore(location, lock_timeout_s=0.5)
    store.write_layer("mining_sites", _sites(), source="a")
    before = _state(store)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        if {backend!r} == "geopackage":
            import filelock
            lock = filelock.FileLock({str(getattr(store, "lock_path", ""))!r})
            lock.acquire()
        else:
            from layers.store.pgschema import engine_for
            con = engine_for({location!r}).raw_connection()
            con.cursor().execute("SELECT pg_advisory_xact_lock(%s)", ({WRITE_LOCK},))
        print("locked", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(WorkspaceError) as info:
            store.write_layer("water_bodies", _water(), source="b")
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert str(info.value) == (f"workspace {store.path} is locked by another writer; tried for 0.5 s. "
                               "Wait for the other import or rule run to finish, then try again")
    assert 0.5 <= waited < 5
    assert _state(store) == before


def test_readers_do_not_wait_for_a_writer(pg_url: str) -> None:
    """PostGIS: a read during another writer's open transaction sees the last committed state."""
    store = PostgisStore(pg_url)
    store.write_layer("deposits", _points("deposit_id", 3), source="a")
    with psycopg.connect(pg_url) as con:  # another writer, its transaction left open
        con.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
        con.execute("DELETE FROM deposits")
        started = time.monotonic()
        assert len(store.read("deposits")) == 3
        assert time.monotonic() - started < 5
