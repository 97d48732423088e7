"""``cli.py import --chunk-rows N`` of a GeoJSON or a GeoPackage (issue 13): now that both are read
as one stream of GDAL's Arrow batches, they are imported in chunks as GeoParquet is, and store
exactly what a whole-file import stores; a GeoPackage of several layers (a whole import takes every
layer named after a layer type) is refused in chunks with what to do. Fails before: --chunk-rows
was refused for anything but GeoParquet."""
from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import pytest

from tests.test_chunked_import import _clean, _dump, _import, _problems


def _as(kind: str, tmp_path: Path) -> Path:
    gdf = gpd.read_parquet(_clean(tmp_path / "sites.parquet")).drop(columns=["nullable_extra"])
    path = tmp_path / f"sites.{kind}"
    gdf.to_file(path, **({"layer": "mining_sites"} if kind == "gpkg" else {}))
    return path


@pytest.mark.parametrize("kind", ["geojson", "gpkg"])
@pytest.mark.parametrize("rows", [1, 4, 100])
def test_a_chunked_import_of_a_geojson_or_geopackage_stores_what_a_whole_import_stores(
        tmp_path: Path, kind: str, rows: int, capsys: pytest.CaptureFixture[str]) -> None:
    file = _as(kind, tmp_path)
    assert _import(tmp_path / "whole.gpkg", file, "--chunk-rows", "0") == 0
    whole_err = capsys.readouterr().err
    assert _import(tmp_path / "chunked.gpkg", file, "--chunk-rows", str(rows)) == 0
    chunked_err = capsys.readouterr().err
    whole, chunked = _dump(tmp_path / "whole.gpkg"), _dump(tmp_path / "chunked.gpkg")
    assert chunked == whole
    assert len(whole["rows"]) == 11  # type: ignore[arg-type]
    assert _problems(chunked_err) == _problems(whole_err)


@pytest.mark.parametrize("kind", ["geojson", "gpkg"])
def test_an_error_in_a_chunked_geojson_or_geopackage_stores_nothing(tmp_path: Path, kind: str,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    gdf = gpd.read_parquet(_clean(tmp_path / "sites.parquet")).drop(columns=["nullable_extra"])
    gdf.loc[9, "site_id"] = "S0"
    file = tmp_path / f"bad.{kind}"
    gdf.to_file(file, **({"layer": "mining_sites"} if kind == "gpkg" else {}))
    ws = tmp_path / "ws.gpkg"
    assert _import(ws, file, "--chunk-rows", "0") != 0
    whole = capsys.readouterr().err
    assert _import(ws, file, "--chunk-rows", "3") != 0
    chunked = capsys.readouterr().err
    assert _problems(chunked) == _problems(whole) and "duplicate id: already used by record 1" in chunked
    assert not ws.exists()


def test_a_geopackage_of_several_layers_is_refused_in_chunks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = _as("gpkg", tmp_path)
    gpd.read_file(file).iloc[:2].to_file(file, layer="tailings")
    ws = tmp_path / "ws.gpkg"
    assert _import(ws, file, "--chunk-rows", "4") == 2
    assert ("sites.gpkg holds 2 layers; --chunk-rows imports a GeoPackage of one layer: import it whole "
            "(--chunk-rows 0)") in capsys.readouterr().err
    assert not ws.exists()
    before = hashlib.sha256(file.read_bytes()).hexdigest()
    assert _import(ws, file, "--chunk-rows", "0") == 0  # whole: both layers
    assert hashlib.sha256(file.read_bytes()).hexdigest() == before


@pytest.mark.parametrize("kind", ["geojson", "gpkg"])
def test_source_layer_in_chunks_is_taken_or_refused_never_ignored(tmp_path: Path, kind: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """--source-layer with --chunk-rows: the GeoPackage's one layer named is imported as a whole import
    imports it; another name, or any name for a GeoJSON, is refused with what the file holds (the chunked
    import read the file's one layer whatever --source-layer said)."""
    file = _as(kind, tmp_path)
    ws = tmp_path / "ws.gpkg"
    assert _import(ws, file, "--chunk-rows", "4", "--source-layer", "tailings") == 2
    holds = "holds the layer mining_sites" if kind == "gpkg" else "is not a GeoPackage"
    assert capsys.readouterr().err == (
        f"hgwatch: sites.{kind}: --source-layer 'tailings': the file {holds}; --chunk-rows imports the one layer"
        " of a GeoPackage: name that one, or import the file whole (--chunk-rows 0)\n")
    assert not ws.exists()
    if kind == "gpkg":
        assert _import(ws, file, "--chunk-rows", "4", "--source-layer", "mining_sites") == 0
        assert _import(tmp_path / "whole.gpkg", file, "--chunk-rows", "0", "--source-layer", "mining_sites") == 0
        assert _dump(ws) == _dump(tmp_path / "whole.gpkg")
