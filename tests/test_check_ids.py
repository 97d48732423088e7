"""Issue 13: ``check`` on files does not hash the subject ids twice. A layer read from ONE file was
validated whole (a missing or repeated id is refused there, naming the file and the row), so the
rule engine takes its ids as checked (``run_rules(ids_checked=...)``); a layer given in several
files is concatenated after validation, so the engine still checks its ids across the files.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from geo.errors import InputError
from geo.rules import run_rules
from layers.catalogue import CATALOGUE
from layers.io.readers import load_layer
from services.checks import check
from settings import Settings


def _write(folder: Path, name: str, ids: list[str]) -> Path:
    path = folder / name
    sites = [{"site_id": sid, "uses_mercury": True, "geometry": Point(0.0001 * (k + 1), 0.0)} for k, sid in enumerate(ids)]
    gpd.GeoDataFrame(sites, crs="EPSG:4326").to_file(path)
    return path


@pytest.fixture
def water(tmp_path: Path) -> Path:
    path = tmp_path / "water.geojson"
    gpd.GeoDataFrame([{"water_id": "W1", "kind": "river", "geometry": LineString([(0.0, -0.01), (0.0, 0.01)])}],
                     crs="EPSG:4326").to_file(path)
    return path


def _settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return Settings(workspace=tmp_path / "none.gpkg", threads_value="1")


def test_one_file_gives_what_the_engine_gives_with_its_own_id_check(tmp_path: Path, water: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    sites = _write(tmp_path, "sites.geojson", ["A", "B", "C"])
    got = check(_settings(tmp_path, monkeypatch), only=["HG-WATER-100"], record=False,
                files=[("mining_sites", str(sites)), ("water_bodies", str(water))]).evaluation
    frames = {"mining_sites": load_layer(sites, "mining_sites").gdf, "water_bodies": load_layer(water, "water_bodies").gdf}
    own = run_rules(Settings.from_env().rules, frames, schemas=CATALOGUE, only=["HG-WATER-100"])
    assert list(got.violations["site_id"]) == ["A", "B", "C"]
    pd.testing.assert_frame_equal(pd.DataFrame(got.violations), pd.DataFrame(own.violations))
    assert got.summaries == own.summaries


def test_a_repeated_id_in_one_file_is_refused_by_the_validator(tmp_path: Path, water: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    sites = _write(tmp_path, "sites.geojson", ["A", "B", "A"])
    with pytest.raises(InputError) as err:
        check(_settings(tmp_path, monkeypatch), only=["HG-WATER-100"], record=False,
              files=[("mining_sites", str(sites)), ("water_bodies", str(water))])
    dup = [p for p in err.value.problems if p.kind == "duplicate"]
    assert [(p.file, p.row, p.field, p.value) for p in dup] == [("sites.geojson", 3, "site_id", "A")]


def test_an_id_repeated_across_two_files_is_still_refused_by_the_engine(tmp_path: Path, water: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = _write(tmp_path, "one.geojson", ["A", "B"]), _write(tmp_path, "two.geojson", ["C", "A"])
    with pytest.raises(InputError) as err:
        check(_settings(tmp_path, monkeypatch), only=["HG-WATER-100"], record=False,
              files=[("mining_sites", str(one)), ("mining_sites", str(two)), ("water_bodies", str(water))])
    dup = [p for p in err.value.problems if p.kind == "duplicate"]
    assert [(p.row, p.field, p.value) for p in dup] == [(1, "site_id", "A"), (4, "site_id", "A")]


def test_the_engine_takes_the_ids_of_a_checked_layer_as_given() -> None:
    """``ids_checked`` is the caller's word: the engine does not look again (it would refuse this)."""
    frame = gpd.GeoDataFrame({"site_id": ["A", "A"], "uses_mercury": [True, True]},
                             geometry=[Point(0.0001, 0), Point(0.0002, 0)], crs="EPSG:4326")
    water = gpd.GeoDataFrame({"water_id": ["W"], "kind": ["river"]}, geometry=[LineString([(0, -1), (0, 1)])],
                             crs="EPSG:4326")
    frames = {"mining_sites": frame, "water_bodies": water}
    rules = Settings.from_env().rules
    with pytest.raises(InputError):
        run_rules(rules, frames, schemas=CATALOGUE, only=["HG-WATER-100"])
    assert len(run_rules(rules, frames, schemas=CATALOGUE, only=["HG-WATER-100"], ids_checked=["mining_sites"])
               .violations) == 2
