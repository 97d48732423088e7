"""The workspace: atomic imports, killed imports, concurrent imports, appends."""
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
import pytest
import shapely

from geo.errors import InputError
from layers.store import workspace as ws_module
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
    real = ws_module._write_gdf

    def write_then_fail(path: Path, layer: str, gdf: gpd.GeoDataFrame) -> None:
        real(path, layer, gdf)  # the temporary copy is really changed ...
        raise OSError("disk full")  # ... and then the import fails

    monkeypatch.setattr(ws_module, "_write_gdf", write_then_fail)
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
        from layers.store import workspace as w
        real = w._write_gdf
        def slow(path, layer, gdf):
            real(path, layer, gdf)
            print("written", flush=True)
            time.sleep(60)
        w._write_gdf = slow
        gdf = gpd.GeoDataFrame({{"water_id": ["W1"]}}, geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=4326)
        w.Workspace({str(workspace_path)!r}).write_layer("water_bodies", gdf, source="b")
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
        from layers.store import workspace as w
        real = w._write_gdf
        def slow(path, layer, gdf):
            time.sleep(0.5)  # widen the window in which an unlocked writer would lose work
            real(path, layer, gdf)
        w._write_gdf = slow
        layer, id_field = sys.argv[1], sys.argv[2]
        gdf = gpd.GeoDataFrame({{id_field: ["X1"]}}, geometry=[shapely.Point(0, 0)], crs=4326)
        w.Workspace({str(workspace_path)!r}).write_layer(layer, gdf, source=layer)
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


def test_runs_are_recorded_newest_first(workspace_path: Path) -> None:
    ws = Workspace(workspace_path)
    ws.record_run(rules_hash="h1", input_hashes={"mining_sites": "a"}, counts={"R": 1},
                  violation_ids=["v1"])
    time.sleep(0.01)
    ws.record_run(rules_hash="h1", input_hashes={"mining_sites": "b"}, counts={"R": 2},
                  violation_ids=["v1", "v2"])
    runs = ws.runs()
    assert [r["counts"] for r in runs] == [{"R": 2}, {"R": 1}]
    assert runs[0]["violation_ids"] == ["v1", "v2"]
