"""``cli.py import --replace-all``: a replacement that would drop most of a layer is refused
unless asked for, and nothing changes on a refusal."""
from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

import cli
from layers.store.workspace import Workspace


def _sites(n: int) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(n)], "status": ["active"] * n},
                            geometry=[Point(-1.5 + i / 1000, 6.0) for i in range(n)], crs=4326)


def test_replacing_most_of_a_layer_needs_replace_all(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = Workspace(tmp_path / "ws.gpkg")
    ws.write_layer("mining_sites", _sites(10), source="first survey")
    small = tmp_path / "mining_sites.geojson"
    _sites(2).to_file(small, driver="GeoJSON")
    before = hashlib.sha256(ws.path.read_bytes()).hexdigest()
    base = ["--workspace", str(ws.path), "import", str(small)]
    assert cli.main(base) == 2
    err = capsys.readouterr().err
    assert "--replace-all" in err and "Traceback" not in err
    assert hashlib.sha256(ws.path.read_bytes()).hexdigest() == before
    assert cli.main([*base, "--replace-all"]) == 0
    assert sorted(ws.read("mining_sites")["site_id"]) == ["S0", "S1"]
