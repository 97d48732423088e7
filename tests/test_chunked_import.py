"""``cli.py import --chunk-rows N`` (issue 13, bounded memory): a GeoParquet imported N records at a
time stores exactly what a whole-file import stores (same table, rows, values and geometry bytes,
same provenance), prints the same problems, and stores nothing when any chunk holds an error."""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

import cli
from geo.errors import InputError
from layers.store.workspace import Workspace
from services import imports

ROWS = [1, 3, 4, 100]


def _clean(path: Path, *, first: int = 0) -> Path:
    """Eleven clean sites whose extra columns change dtype by chunk when read alone: an integer and
    a true/false column missing only in the last rows, a text column missing in the first ones, a Z
    point and an export column (``hgw_``) that an import drops."""
    n = 11
    frame = {"site_id": [f"S{first + i}" for i in range(n)], "status": ["Active", "inactive", "unknown"] * 3 + ["x"] * 2,
             "miners": ["3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13"],
             "count_extra": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, None],
             "flag_extra": [True, False] * 5 + [None],
             "note_extra": [None, None, None, None, None, "a", "b", None, "c", "d", "é"],
             "hgw_export": ["x"] * n}
    frame["status"] = ["Active", "inactive", "unknown", "active", "Inactive", "active", "unknown", "active",
                       "inactive", "active", "active"]
    geoms = [shapely.Point(-1.5 + i / 100, 6.0 + i / 100) for i in range(n)]
    geoms[2] = shapely.Point(-1.0, 6.5, 120.0)
    gdf = gpd.GeoDataFrame(frame, geometry=geoms, crs=4326)
    gdf["nullable_extra"] = gdf["count_extra"].astype("Int64")  # pandas' own dtype, kept in the file
    gdf.to_parquet(path)
    return path


def _dump(path: Path) -> dict[str, object]:
    """What a workspace holds: the layer's table SQL and rows (geometry bytes included), its
    metadata rows, and its provenance without the import time."""
    with sqlite3.connect(path) as con:
        out: dict[str, object] = {
            "sql": con.execute("SELECT sql FROM sqlite_master WHERE name = 'mining_sites'").fetchall(),
            "rows": con.execute("SELECT * FROM mining_sites ORDER BY fid").fetchall(),
            "contents": con.execute("SELECT table_name, data_type, srs_id, min_x, min_y, max_x, max_y "
                                    "FROM gpkg_contents").fetchall(),
            "geometry": con.execute("SELECT * FROM gpkg_geometry_columns").fetchall(),
            "indexes": con.execute("SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger') "
                                   "ORDER BY name").fetchall(),
            "provenance": con.execute("SELECT layer, source, licence, rows FROM hgw_layers").fetchall()}
    return out


def _import(ws: Path, file: Path, *extra: str) -> int:
    return cli.main(["--workspace", str(ws), "import", str(file), "--layer", "mining_sites", *extra])


@pytest.mark.parametrize("rows", ROWS)
def test_a_chunked_import_stores_what_a_whole_import_stores(tmp_path: Path, rows: int,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    file = _clean(tmp_path / "sites.parquet")
    assert _import(tmp_path / "whole.gpkg", file, "--chunk-rows", "0") == 0
    whole_err = capsys.readouterr().err
    assert _import(tmp_path / "chunked.gpkg", file, "--chunk-rows", str(rows)) == 0
    chunked_err = capsys.readouterr().err
    whole, chunked = _dump(tmp_path / "whole.gpkg"), _dump(tmp_path / "chunked.gpkg")
    assert chunked == whole
    assert len(whole["rows"]) == 11  # type: ignore[arg-type]
    assert "hgw_export" not in str(whole["sql"]) and "REAL" in str(whole["sql"])  # count_extra: a float column
    assert _problems(chunked_err) == _problems(whole_err)


def _problems(err: str) -> list[str]:
    """What an import printed, without its progress lines ('[  0.1 s] ...')."""
    return [line for line in err.splitlines() if not line.startswith("[")]


@pytest.mark.parametrize("rows", ROWS)
def test_an_error_in_any_chunk_stores_nothing_and_says_what_a_whole_import_says(
        tmp_path: Path, rows: int, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "sites.parquet"
    gdf = gpd.read_parquet(_clean(file))
    gdf.loc[9, "site_id"] = "S0"  # a duplicate of the first chunk's id, in the last chunks
    gdf.loc[10, "miners"] = "-4"
    gdf.to_parquet(file)
    ws = Workspace(tmp_path / "ws.gpkg")
    ws.write_layer("mining_sites", gpd.read_parquet(_clean(tmp_path / "old.parquet", first=100))
                   .drop(columns=["hgw_export", "note_extra"]), source="old survey")
    before = hashlib.sha256(ws.path.read_bytes()).hexdigest()
    assert _import(ws.path, file, "--chunk-rows", "0") != 0
    whole = capsys.readouterr().err
    assert _import(ws.path, file, "--chunk-rows", str(rows)) != 0
    chunked = capsys.readouterr().err
    assert _problems(chunked) == _problems(whole) and len(_problems(whole)) == 3
    assert "duplicate id: already used by record 1" in chunked and "expected at least 0" in chunked
    assert hashlib.sha256(ws.path.read_bytes()).hexdigest() == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".ws.gpkg")]  # no staging file left
    assert _import(tmp_path / "new.gpkg", file, "--chunk-rows", str(rows)) != 0
    assert not (tmp_path / "new.gpkg").exists()


@pytest.mark.parametrize("rows", [1, 4])
def test_a_chunked_append_and_its_refusals_equal_the_whole_ones(tmp_path: Path, rows: int,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    first, more = _clean(tmp_path / "first.parquet"), _clean(tmp_path / "more.parquet", first=50)
    for name, size in (("whole", "0"), ("chunked", str(rows))):
        ws = tmp_path / f"{name}.gpkg"
        assert _import(ws, first, "--chunk-rows", size) == 0
        assert _import(ws, more, "--append", "--chunk-rows", size) == 0
        assert _import(ws, first, "--append", "--chunk-rows", size) != 0  # every id is stored already
        assert _import(ws, _small(tmp_path), "--chunk-rows", size) != 0  # 2 rows would replace 22
    out = capsys.readouterr().err
    assert out.count("cannot append to mining_sites: 11 ids are already stored; nothing was imported") == 2
    assert out.count("--replace-all") >= 2
    assert _dump(tmp_path / "chunked.gpkg") == _dump(tmp_path / "whole.gpkg")


def _small(tmp_path: Path) -> Path:
    path = tmp_path / "small.parquet"
    gpd.GeoDataFrame({"site_id": ["Z1", "Z2"], "status": ["active", "active"]},
                     geometry=[shapely.Point(0, 6), shapely.Point(0, 7)], crs=4326).to_parquet(path)
    return path


def test_when_an_import_goes_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = _clean(tmp_path / "sites.parquet")
    assert imports.chunk_rows(file, None) == 0
    monkeypatch.setattr(imports, "AUTO_CHUNK_ABOVE", 10)
    assert imports.chunk_rows(file, None) == imports.CHUNK_ROWS
    assert imports.chunk_rows(file, 0) == 0 and imports.chunk_rows(file, 5) == 5
    with pytest.raises(InputError, match="--chunk-rows -1: expected a number of records >= 1, or 0"):
        imports.chunk_rows(file, -1)
    geojson = tmp_path / "sites.geojson"
    gpd.read_parquet(file).drop(columns=["hgw_export"]).to_file(geojson, driver="GeoJSON")
    assert imports.chunk_rows(geojson, None) == 0  # chunks are automatic for a large GeoParquet only
    csv = tmp_path / "sites.csv"
    csv.write_text("site_id,lat,lon\nS1,6.0,-1.5\n")
    with pytest.raises(Exception, match="sites.csv: --chunk-rows imports GeoParquet, GeoJSON and GeoPackage in chunks"):
        imports.load_chunks(csv, "mining_sites", rows=3)


