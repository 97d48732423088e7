"""The workspace: atomic imports, killed imports, concurrent imports, appends, read-only reading,
GeoPackages made by other tools, and a lock that gives up."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from geo.errors import InputError, WorkspaceError
from layers.store import gpkg as gpkg_module
from layers.store.workspace import Workspace
from tests.conftest import ROOT


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _water() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"water_id": ["W1"], "kind": ["river"]},
                            geometry=[shapely.LineString([(-2, 5), (-1, 5)])], crs=4326)


def test_write_and_read_back_with_provenance(sites: gpd.GeoDataFrame, workspace_path: Path) -> None:
    ws = Workspace(workspace_path)
    ws.write_layer("mining_sites", sites, source="survey.csv", licence="CC-BY-4.0", accuracy_m=5)
    back = ws.read("mining_sites")
    assert list(back["site_id"]) == ["S1", "S2", "S3"]
    assert back.crs.to_epsg() == 4326
    info = ws.info("mining_sites")
    assert (info.rows, info.source, info.licence, info.accuracy_m) == (3, "survey.csv", "CC-BY-4.0", 5)


def test_a_failing_import_leaves_the_workspace_unchanged(
        sites: gpd.GeoDataFrame, workspace_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace(workspace_path)
    ws.write_layer("mining_sites", sites, source="a")
    before = _digest(workspace_path)
    real = gpkg_module.write_gdf

    def write_then_fail(path: Path, layer: str, gdf: gpd.GeoDataFrame) -> None:
        real(path, layer, gdf)  # the temporary copy is really changed ...
        raise OSError("disk full")  # ... and then the import fails

    monkeypatch.setattr(gpkg_module, "write_gdf", write_then_fail)
    with pytest.raises(OSError):
        ws.write_layer("water_bodies", _water(), source="b")
    assert _digest(workspace_path) == before
    assert [i.layer for i in ws.layers()] == ["mining_sites"]
    assert not list(workspace_path.parent.glob(".*tmp*"))  # no temporary file left behind


def test_an_import_killed_before_it_finishes_leaves_the_workspace_unchanged(
        sites: gpd.GeoDataFrame, workspace_path: Path) -> None:
    Workspace(workspace_path).write_layer("mining_sites", sites, source="a")
    before = _digest(workspace_path)
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        import geopandas as gpd, shapely
        from layers.store import gpkg as w
        from layers.store.workspace import Workspace
        real = w.write_gdf
        def slow(path, layer, gdf):
            real(path, layer, gdf)
            print("written", flush=True)
            time.sleep(60)
        w.write_gdf = slow
        gdf = gpd.GeoDataFrame({{"water_id": ["W1"]}}, geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=4326)
        Workspace({str(workspace_path)!r}).write_layer("water_bodies", gdf, source="b")
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "written"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert _digest(workspace_path) == before
    assert [i.layer for i in Workspace(workspace_path).layers()] == ["mining_sites"]
    assert len(Workspace(workspace_path).read("mining_sites")) == 3


def test_two_imports_at_once_both_land(workspace_path: Path) -> None:
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        import geopandas as gpd, shapely
        from layers.store import gpkg as w
        from layers.store.workspace import Workspace
        real = w.write_gdf
        def slow(path, layer, gdf):
            time.sleep(0.5)  # widen the window in which an unlocked writer would lose work
            real(path, layer, gdf)
        w.write_gdf = slow
        layer, id_field = sys.argv[1], sys.argv[2]
        gdf = gpd.GeoDataFrame({{id_field: ["X1"]}}, geometry=[shapely.Point(0, 0)], crs=4326)
        Workspace({str(workspace_path)!r}).write_layer(layer, gdf, source=layer)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, layer, id_field])
             for layer, id_field in (("deposits", "deposit_id"), ("residential_areas", "area_id"),
                                     ("tailings", "tailings_id"))]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    assert {i.layer for i in Workspace(workspace_path).layers()} == {
        "deposits", "residential_areas", "tailings"}


def test_append_refuses_ids_already_stored(sites: gpd.GeoDataFrame, workspace_path: Path) -> None:
    ws = Workspace(workspace_path)
    ws.write_layer("mining_sites", sites, source="a")
    more = sites.iloc[[0]].copy()
    more["site_id"] = ["S9"]
    ws.write_layers([("mining_sites", more)], source="b", append=True)
    assert list(ws.read("mining_sites")["site_id"]) == ["S1", "S2", "S3", "S9"]
    before = _digest(workspace_path)
    with pytest.raises(InputError, match="already stored"):
        ws.write_layers([("mining_sites", sites.iloc[[1]])], source="c", append=True)
    assert _digest(workspace_path) == before


def test_runs_are_recorded_newest_first(sites: gpd.GeoDataFrame, workspace_path: Path) -> None:
    ws = Workspace(workspace_path)
    with pytest.raises(WorkspaceError, match="does not exist"):  # not a bare SQLite file with runs
        ws.record_run(rules_hash="h0", input_hashes={}, counts={}, violation_ids=[])
    assert not workspace_path.exists()
    ws.write_layer("mining_sites", sites, source="a")
    ws.record_run(rules_hash="h1", input_hashes={"mining_sites": "a"}, counts={"R": 1},
                  violation_ids=["v1"])
    time.sleep(0.01)
    ws.record_run(rules_hash="h1", input_hashes={"mining_sites": "b"}, counts={"R": 2},
                  violation_ids=["v1", "v2"])
    runs = ws.runs()
    assert [r["counts"] for r in runs] == [{"R": 2}, {"R": 1}]
    assert runs[0]["violation_ids"] == ["v1", "v2"]


# ---------------------------------------------------------------- reading never writes
def _qgis_geopackage(path: Path, sites: gpd.GeoDataFrame) -> None:
    """A GeoPackage made by another tool: layers, no hgw_layers or hgw_runs table."""
    pyogrio.write_dataframe(sites, path, layer="mining_sites", driver="GPKG")
    pyogrio.write_dataframe(_water(), path, layer="roads", driver="GPKG")  # not a layer type


def test_reading_a_workspace_without_metadata_tables_leaves_it_byte_identical(
        sites: gpd.GeoDataFrame, workspace_path: Path) -> None:
    _qgis_geopackage(workspace_path, sites)
    before = _digest(workspace_path)
    ws = Workspace(workspace_path)
    assert ws.runs() == []
    assert ws.has("mining_sites") and not ws.has("water_bodies")
    assert len(ws.read("mining_sites")) == 3
    ws.layers()
    ws.info("mining_sites")
    assert _digest(workspace_path) == before
    assert sorted(p.name for p in workspace_path.parent.iterdir()) == ["ws.gpkg"]  # no journal, no lock


def test_a_geopackage_made_by_another_tool_lists_its_layers_with_unknown_provenance(
        sites: gpd.GeoDataFrame, workspace_path: Path) -> None:
    _qgis_geopackage(workspace_path, sites)
    [info] = Workspace(workspace_path).layers()
    assert (info.layer, info.source, info.licence, info.rows, info.accuracy_m, info.synthetic) == (
        "mining_sites", "unknown", "unknown", 3, None, False)
    assert info.accuracy_note == "not imported by HgWatch; no provenance recorded"
    assert info.imported_at.startswith("20")  # gpkg_contents.last_change, an ISO 8601 time


def test_a_layer_added_by_another_tool_is_listed_beside_recorded_ones(
        sites: gpd.GeoDataFrame, workspace_path: Path) -> None:
    ws = Workspace(workspace_path)
    ws.write_layer("water_bodies", _water(), source="rivers.geojson", licence="ODbL-1.0")
    pyogrio.write_dataframe(sites, workspace_path, layer="mining_sites", driver="GPKG", append=False)
    infos = {i.layer: i for i in ws.layers()}
    assert list(infos) == ["mining_sites", "water_bodies"]  # catalogue order
    assert (infos["water_bodies"].source, infos["water_bodies"].licence) == ("rivers.geojson", "ODbL-1.0")
    assert (infos["mining_sites"].source, infos["mining_sites"].rows) == ("unknown", 3)


def test_a_file_that_is_not_a_geopackage_is_a_workspace_error(workspace_path: Path) -> None:
    workspace_path.write_text("site_id,lat,lon\nA,5,-2\n")
    with pytest.raises(WorkspaceError) as info:
        Workspace(workspace_path).layers()
    assert str(info.value).startswith(f"workspace {workspace_path} is not a GeoPackage (it is not an SQLite database)")


# ---------------------------------------------------------------- a lock that gives up
def test_a_write_gives_up_on_a_held_lock_with_a_clear_message(
        sites: gpd.GeoDataFrame, workspace_path: Path) -> None:
    ws = Workspace(workspace_path, lock_timeout_s=0.5)
    ws.write_layer("mining_sites", sites, source="a")
    before = _digest(workspace_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time, filelock
            lock = filelock.FileLock({str(ws.lock_path)!r})
            lock.acquire()
            print("locked", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(WorkspaceError) as info:
            ws.write_layer("water_bodies", _water(), source="b")
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert str(info.value) == (f"workspace {workspace_path} is locked by another writer; tried for 0.5 s. "
                               "Wait for the other import or rule run to finish, then try again")
    assert 0.5 <= waited < 5
    assert _digest(workspace_path) == before
    ws.write_layer("water_bodies", _water(), source="b")  # the dead holder's lock went with it
    assert [i.layer for i in ws.layers()] == ["mining_sites", "water_bodies"]
