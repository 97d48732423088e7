"""Hypothesis: garbage given to `import` never crashes and never changes the workspace."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
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


def _import_must_not_crash(path: Path, data: bytes, workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path.write_bytes(data)
    before = hashlib.sha256(workspace.read_bytes()).hexdigest()
    code = cli.main(["--workspace", str(workspace), "import", str(path), "--layer", "mining_sites"])
    capsys.readouterr()
    if code != 0:
        assert code == 2
        assert hashlib.sha256(workspace.read_bytes()).hexdigest() == before
    else:  # garbage that happens to be a valid layer was imported whole: put the seed back
        Workspace(workspace).write_layer("mining_sites", gpd.GeoDataFrame(
            {"site_id": ["A"]}, geometry=[shapely.Point(-2, 5)], crs=4326), source="seed", replace_all=True)


@SETTINGS
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".geojson", ".csv", ".gpkg", ".kml",
                                                              ".zip", ".parquet", ".xlsx"]))
def test_random_bytes(data: bytes, suffix: str, seeded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _import_must_not_crash(tmp_path / f"garbage{suffix}", data, seeded, capsys)


@SETTINGS
@given(cut=st.integers(min_value=0, max_value=len(VALID)), flips=st.lists(
    st.tuples(st.integers(0, len(VALID) - 1), st.sampled_from(list('{}[]",:0-.ae '))), max_size=6))
def test_truncated_or_garbled_geojson(cut: int, flips: list[tuple[int, str]], seeded: Path,
                                      tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = list(VALID[:cut])
    for pos, char in flips:
        if pos < len(text):
            text[pos] = char
    _import_must_not_crash(tmp_path / "garbled.geojson", "".join(text).encode(), seeded, capsys)


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Valid files of the container formats (zip, SQLite, Parquet), which random bytes never make."""
    folder = tmp_path_factory.mktemp("valid")
    gdf = gpd.read_file(io.StringIO(VALID))
    out: dict[str, bytes] = {}
    pyogrio.write_dataframe(gdf, folder / "s.gpkg")
    gdf.to_parquet(folder / "s.parquet")
    pd.DataFrame({"site_id": ["A", "B"], "lat": [5.3, 5.4], "lon": [-1.9, -1.8]}).to_excel(
        folder / "s.xlsx", index=False)
    for name in ("s.gpkg", "s.parquet", "s.xlsx"):
        out[Path(name).suffix] = (folder / name).read_bytes()
    pyogrio.write_dataframe(gdf, folder / "s.shp")
    shp = io.BytesIO()
    with zipfile.ZipFile(shp, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in ("shp", "shx", "dbf", "prj"):
            zf.write(folder / f"s.{part}", f"s.{part}")
    out[".zip"] = shp.getvalue()
    pyogrio.write_dataframe(gdf, folder / "s.kml", driver="LIBKML")
    kmz = io.BytesIO()
    with zipfile.ZipFile(kmz, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(folder / "s.kml", "doc.kml")
    out[".kmz"] = kmz.getvalue()
    return out


@SETTINGS
@given(suffix=st.sampled_from([".xlsx", ".zip", ".kmz", ".gpkg", ".parquet"]),
       cut=st.floats(min_value=0.2, max_value=1.0),
       flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=8))
def test_damaged_container_files(suffix: str, cut: float, flips: list[tuple[float, int]],
                                 valid_files: dict[str, bytes], seeded: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A damaged workbook, zip, GeoPackage or Parquet file is refused, never a crash."""
    data = bytearray(valid_files[suffix][:max(1, int(len(valid_files[suffix]) * cut))])
    for where, byte in flips:
        data[int(where * len(data))] = byte
    _import_must_not_crash(tmp_path / f"damaged{suffix}", bytes(data), seeded, capsys)
