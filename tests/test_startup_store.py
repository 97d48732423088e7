"""Issue 13: ``import``, ``validate`` and ``check`` on a GeoPackage workspace never load the PostGIS
modules (SQLAlchemy, psycopg, Alembic) or the units library (pint).

They cost ~0.4 s of every command's start-up: ``layers.store.open`` loaded the PostGIS store for
any workspace, the accounts, audit, cases and keys modules imported SQLAlchemy for their PostGIS
half, and the layer catalogue loaded pint through the list of sample media. Each command runs
here as a real process (``cli.py``, as a user runs it) and lists the modules it ended with; the
same import on PostGIS does load them, so the list tells the two apart.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
from shapely.geometry import LineString, Point

from layers.store.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
NOT_ON_A_GEOPACKAGE = ("sqlalchemy", "psycopg", "alembic", "pint", "layers.store.postgis", "layers.store.pgschema",
                       "geo.quantities")
RUN = """
import atexit, json, runpy, sys
out, sys.argv = sys.argv[1], ["cli.py", *sys.argv[2:]]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
runpy.run_path("cli.py", run_name="__main__")
"""


def _modules_after(tmp_path: Path, *args: str) -> tuple[int, set[str]]:
    """Run ``cli.py *args`` in a fresh interpreter; its exit code and every module it loaded."""
    out = tmp_path / "modules.json"
    out.unlink(missing_ok=True)
    done = subprocess.run([sys.executable, "-c", RUN, str(out), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, set(json.loads(out.read_text()))


def _files(tmp_path: Path) -> tuple[Path, Path]:
    """Two mining sites as GeoParquet, one 50 m from a river given as GeoJSON, one far from it."""
    sites = gpd.GeoDataFrame({"site_id": ["S1", "S2"], "status": ["active", "active"], "uses_mercury": [True, True]},
                             geometry=[Point(-1.5, 6.00045), Point(-1.5, 6.1)], crs=4326)
    water = gpd.GeoDataFrame({"water_id": ["W1"], "name": ["Ankobra"], "kind": ["river"]},
                             geometry=[LineString([(-1.6, 6.0), (-1.4, 6.0)])], crs=4326)
    sites_path, water_path = tmp_path / "sites.parquet", tmp_path / "water.geojson"
    sites.to_parquet(sites_path)
    water.to_file(water_path, driver="GeoJSON")
    return sites_path, water_path


def test_import_validate_and_check_on_a_geopackage_load_no_postgis_or_units_module(tmp_path: Path) -> None:
    sites, water = _files(tmp_path)
    ws = ["--workspace", str(tmp_path / "ws.gpkg")]
    runs = {
        "validate": _modules_after(tmp_path, *ws, "validate", str(sites), "--layer", "mining_sites"),
        "import": _modules_after(tmp_path, *ws, "import", str(sites), "--layer", "mining_sites"),
        "import water": _modules_after(tmp_path, *ws, "import", str(water), "--layer", "water_bodies"),
        "check": _modules_after(tmp_path, *ws, "check", "--only", "HG-WATER-100"),
    }
    assert {name: code for name, (code, _) in runs.items()} == dict.fromkeys(runs, 0)
    assert {name: sorted(m for m in NOT_ON_A_GEOPACKAGE if m in loaded) for name, (_, loaded) in runs.items()} \
        == dict.fromkeys(runs, [])
    # the commands did their work: both layers stored, the run recorded with the one site within 100 m
    stored = Workspace(tmp_path / "ws.gpkg")
    assert sorted(stored.read("mining_sites")["site_id"]) == ["S1", "S2"]
    assert len(stored.read("water_bodies")) == 1
    assert "layers.store.gpkg" in runs["import"][1] and "geo.rules" in runs["check"][1]


def test_the_same_import_on_postgis_loads_them(tmp_path: Path, pg_url: str) -> None:
    """The list above can tell: the PostGIS store does load SQLAlchemy and psycopg."""
    sites, _ = _files(tmp_path)
    code, loaded = _modules_after(tmp_path, "--database-url", pg_url, "import", str(sites), "--layer", "mining_sites")
    assert code == 0
    assert {"sqlalchemy", "psycopg", "layers.store.postgis"} <= loaded
