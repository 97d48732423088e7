"""Issue 13: a ``check`` of files loads none of the case work (cases, their photos and EXIF reader),
which only a recorded run uses (the recorded runs' cases are tested in ``tests/test_cases*.py``)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
from shapely.geometry import LineString, Point

from tests.conftest import ROOT

CASE_WORK = ("services.cases", "layers.io.photos", "exifread", "layers.store.cases", "settings.cases")


def _inputs(folder: Path) -> tuple[Path, Path]:
    """Two sites 0 and 222 m east of a meridian river on the equator."""
    sites = gpd.GeoDataFrame({"site_id": ["A", "C"], "uses_mercury": [True, True]},
                             geometry=[Point(0.0, 0.0), Point(0.002, 0.0)], crs="EPSG:4326")
    water = gpd.GeoDataFrame({"water_id": ["W"], "kind": ["river"]},
                             geometry=[LineString([(0.0, -0.01), (0.0, 0.01)])], crs="EPSG:4326")
    paths = folder / "sites.geojson", folder / "water.geojson"
    sites.to_file(paths[0])
    water.to_file(paths[1])
    return paths


def _loaded_after_main(argv: list[str], cwd: Path) -> tuple[int, set[str]]:
    code = ("import json, sys, cli\ncode = cli.main(json.loads(sys.argv[1]))\n"
            "print(json.dumps([code, sorted(sys.modules)]))")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(argv)], cwd=cwd, capture_output=True, text=True,
                         check=True, timeout=300)
    got, loaded = json.loads(out.stdout.splitlines()[-1])
    return got, set(loaded)


def test_a_check_of_files_loads_no_case_work(tmp_path: Path) -> None:
    sites, water = _inputs(tmp_path)
    code, loaded = _loaded_after_main(["--workspace", str(tmp_path / "none.gpkg"), "check", "--layer",
                                       f"mining_sites={sites}", "--layer", f"water_bodies={water}", "--only",
                                       "HG-WATER-100", "--no-record"], ROOT)
    assert code == 0
    assert "services.checks" in loaded  # the check ran
    assert sorted(m for m in CASE_WORK if m in loaded) == []
