"""``cli.py tiles``: the vector tiles of the dashboard's first map built ahead of the first
visitor, under the keys the dashboard then finds on disk (nothing built again)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import cli
import services.tiles as service_tiles
from layers.store.workspace import DEFAULT_PATH
from render.map.assets import VENDOR_DIR, installed
from render.map.tiles import tippecanoe_path
from services.auth import LOCAL
from services.hgwatch import HgWatch, Query
from services.tiles import vector_layers
from settings import Settings

pytestmark = pytest.mark.skipif(
    not DEFAULT_PATH.exists() or not installed(VENDOR_DIR, "protomaps-leaflet") or tippecanoe_path() is None,
    reason="needs the demo workspace, tippecanoe and the protomaps-leaflet files (`make install`)")


def _bundles(folder: Path) -> dict[str, float]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else {}


def test_tiles_command_builds_what_the_dashboard_then_reuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    folder = tmp_path / "tiles"
    monkeypatch.setattr(service_tiles, "TILES_DIR", folder)
    monkeypatch.setenv("HGWATCH_TILES_ABOVE", "25")  # the demo's 150 sites travel as tiles
    assert cli.main(["--workspace", str(ws), "tiles"]) == 0
    out = capsys.readouterr().out
    assert "vector tiles: Mining sites (150): 150 features" in out
    assert "tiles of the first map ready in" in out
    built = _bundles(folder)
    assert built and all((folder / key / "tiles.pmtiles").is_file() for key in built)
    # the dashboard: the local analyst, every rule picked in the sidebar (not None), a fresh process
    svc = HgWatch(Settings.from_env(None, workspace=ws), LOCAL)
    every = tuple(r.id for r in svc.rules().rules)
    keys = {t.bundle.key for t in vector_layers(svc.map(Query(rule_ids=every)))}
    assert keys and keys <= set(built)
    assert set(_bundles(folder)) == set(built)  # nothing new was built for the first visitor


def test_tiles_command_says_why_nothing_was_tiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    monkeypatch.setattr(service_tiles, "TILES_DIR", tmp_path / "tiles")
    monkeypatch.setenv("HGWATCH_TILES_ABOVE", "1000000")
    assert cli.main(["--workspace", str(ws), "tiles"]) == 0
    assert "no vector tiles built: no layer has more than 1,000,000 features ($HGWATCH_TILES_ABOVE)" \
        in capsys.readouterr().out
    assert not (tmp_path / "tiles").exists()


def test_serve_builds_the_first_maps_tiles_in_the_background(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import subprocess
    import sys
    import time
    import uuid

    from layers.store.workspace import Workspace
    from tests.browser_harness import ROOT, free_port

    ws = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    store = Workspace(ws)
    sites, info = store.read("mining_sites"), store.info("mining_sites")
    sites.loc[sites.index[0], "name"] = f"serve warm {uuid.uuid4().hex}"  # archives no other test makes
    store.write_layer("mining_sites", sites, source=info.source, licence=info.licence, accuracy_m=info.accuracy_m,
                      synthetic=info.synthetic)
    monkeypatch.setattr(service_tiles, "TILES_DIR", tmp_path / "expected")
    monkeypatch.setenv("HGWATCH_TILES_ABOVE", "25")
    keys = {t.bundle.key for t in vector_layers(HgWatch(Settings.from_env(None, workspace=ws), LOCAL).map(Query()))}
    served = ROOT / "static" / "tiles"
    new = {k for k in keys if not (served / k).exists()}  # the renamed sites' at least; others may be shared
    assert new
    env = {**os.environ, "HGWATCH_TILES_ABOVE": "25", "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    env.pop("HGWATCH_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "cli.py", "--workspace", str(ws), "serve", "--port", str(free_port()),
                             "--api-port", str(free_port())], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not all((served / k / "index.json").is_file() for k in keys):  # no visitor asked for a map
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not build the tiles"
            time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        for k in new:
            shutil.rmtree(served / k, ignore_errors=True)
