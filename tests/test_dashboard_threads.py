"""The dashboard's rule run (``HgWatch.violations`` -> ``services.view.violations_for``) uses the
thread setting of ``check``: a bad $HGWATCH_THREADS is the same ConfigError there, and any good
number of threads gives the same violations. No mocks: the real setting on the real path."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point

from layers.store.workspace import Workspace
from services.hgwatch import HgWatch, Query
from settings import Settings

WATER = gpd.GeoDataFrame({"water_id": ["R"], "kind": ["river"]}, geometry=[LineString([(0.0, 0.0), (0.3, 0.0)])],
                         crs=4326)
SITES = gpd.GeoDataFrame({"site_id": [f"S{k}" for k in range(6)], "uses_mercury": [True] * 6},
                         geometry=[Point(0.05 * k, 0.0004 * k) for k in range(6)], crs=4326)  # 0, 44, 88, 133 ... m north


def _service(tmp_path: Path, threads: str) -> HgWatch:
    ws = Workspace(tmp_path / "ws.gpkg")
    if not ws.exists():
        ws.write_layers([("mining_sites", SITES), ("water_bodies", WATER)], source="hand-made test layers")
    return HgWatch(Settings.from_env({"HGWATCH_THREADS": threads}, workspace=ws.path))


def test_a_bad_thread_setting_is_the_dashboard_s_message_too(tmp_path: Path) -> None:
    violations, notes = _service(tmp_path, "two").violations(Query(rule_ids=("HG-WATER-100",)))
    assert violations.empty
    assert len(notes) == 1 and notes[0].startswith("$HGWATCH_THREADS is 'two'; expected a whole number of threads")


def test_the_dashboard_gives_the_same_violations_on_one_and_two_threads(tmp_path: Path) -> None:
    runs = [_service(tmp_path, n).violations(Query(rule_ids=("HG-WATER-100",))) for n in ("1", "2")]
    assert list(runs[0][0]["site_id"]) == ["S0", "S1", "S2"]  # 0, 44 and 88 m from the river
    pd.testing.assert_frame_equal(runs[0][0], runs[1][0], check_exact=True)
    assert runs[0][1] == runs[1][1]
