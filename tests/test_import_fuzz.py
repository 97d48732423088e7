"""Hypothesis: garbage given to `import` never crashes and never changes the workspace."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cli
from layers.store.workspace import Workspace

VALID = json.dumps({"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"site_id": f"S{i}", "status": "active", "miners": i},
     "geometry": {"type": "Point", "coordinates": [-1.9 + i / 100, 5.3]}} for i in range(5)]})
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ws") / "ws.gpkg"
    gdf = gpd.GeoDataFrame({"site_id": ["A"]}, geometry=[shapely.Point(-2, 5)], crs=4326)
    Workspace(path).write_layer("mining_sites", gdf, source="seed")
    return path


def _import_must_not_crash(path: Path, data: bytes, workspace: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path.write_bytes(data)
    before = hashlib.sha256(workspace.read_bytes()).hexdigest()
    code = cli.main(["--workspace", str(workspace), "import", str(path), "--layer", "mining_sites"])
    capsys.readouterr()
    if code != 0:
        assert code == 2
        assert hashlib.sha256(workspace.read_bytes()).hexdigest() == before
    else:  # garbage that happens to be a valid layer was imported whole: put the seed back
        Workspace(workspace).write_layer("mining_sites", gpd.GeoDataFrame(
            {"site_id": ["A"]}, geometry=[shapely.Point(-2, 5)], crs=4326), source="seed")


@SETTINGS
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".geojson", ".csv", ".gpkg", ".kml",
                                                              ".zip", ".parquet", ".xlsx"]))
def test_random_bytes(data: bytes, suffix: str, seeded: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    _import_must_not_crash(tmp_path / f"garbage{suffix}", data, seeded, capsys)


@SETTINGS
@given(cut=st.integers(min_value=0, max_value=len(VALID)), flips=st.lists(
    st.tuples(st.integers(0, len(VALID) - 1), st.sampled_from(list('{}[]",:0-.ae '))), max_size=6))
def test_truncated_or_garbled_geojson(cut: int, flips: list[tuple[int, str]], seeded: Path,
                                      tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    text = list(VALID[:cut])
    for pos, char in flips:
        if pos < len(text):
            text[pos] = char
    _import_must_not_crash(tmp_path / "garbled.geojson", "".join(text).encode(), seeded, capsys)
