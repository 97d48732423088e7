"""Issue 13: ``cli.py check`` of files, not recorded, loads no module it does not use.

The check is run as a program (``cli.py`` as ``__main__``: its start-up prefetch, its quick exit),
in a fresh interpreter, and the modules loaded by its end are listed from an exit handler (the
quick exit runs those). A module listed in ``UNUSED`` is one such a check never calls: the writer
lock (filelock: nothing is written to the workspace), password hashing (argon2: the run acts as
the command line's analyst, no one signs in), the "did you mean" suggestions
(difflib: for a file with an unknown value only), and the API, dashboard, ODK, field pack and
dossier modules. The check's answer is asserted too, so that the test cannot pass on a check
that failed early.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point

ROOT = Path(__file__).resolve().parents[1]
UNUSED = ("filelock", "argon2", "difflib",
          "streamlit", "api", "app", "pygeoapi", "services.odk", "services.fieldpack", "services.dossier",
          "render.dossier", "render.report", "render.map", "services.tiles")
LISTED = """
import atexit, json, runpy, sys
listed = sys.argv[1]
atexit.register(lambda: open(listed, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_a_check_of_files_loads_no_writer_lock_account_suggestion_or_page_module(tmp_path: Path) -> None:
    sites = gpd.GeoDataFrame({"site_id": ["S1", "S2"], "uses_mercury": [True, True]},
                             geometry=[Point(-1.0, 6.0), Point(-1.0, 6.5)], crs="EPSG:4326")
    water = gpd.GeoDataFrame({"water_id": ["W1"], "kind": ["river"]},
                             geometry=[LineString([(-1.0005, 5.9), (-1.0005, 6.1)])], crs="EPSG:4326")
    sites.to_parquet(tmp_path / "sites.parquet")
    water.to_parquet(tmp_path / "water.parquet")
    listed = tmp_path / "modules.json"
    out = subprocess.run(
        [sys.executable, "-c", LISTED, str(listed), str(ROOT / "cli.py"), "--workspace", str(tmp_path / "ws.gpkg"),
         "check", "--layer", "mining_sites=sites.parquet", "--layer", "water_bodies=water.parquet",
         "--only", "HG-WATER-100", "--out", "v.csv", "--no-record"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "1 violation(s) in 1 rule(s) run" in out.stdout  # S1 is ~55 m from the river, S2 ~11 km
    assert pd.read_csv(tmp_path / "v.csv")["subject_id"].tolist() == ["S1"]
    loaded = set(json.loads(listed.read_text()))
    assert "services.hgwatch" in loaded and "geo.rules.evaluate" in loaded  # the check itself ran here
    assert sorted(m for m in loaded if any(m == u or m.startswith(f"{u}.") for u in UNUSED)) == []
    assert not (tmp_path / "ws.gpkg").exists()  # nothing was written to the workspace
