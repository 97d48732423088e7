"""A polygon footprint layer stored whole, in chunks and on either back end holds the same rows: found
at national size (104,640 Amazon footprints copied by whole degrees, 180 of them MultiPolygons), where
a whole-file import into a GeoPackage stored every Polygon as a one-part MultiPolygon and a chunked
import, or PostGIS, kept them as the file gave them; and where a chunked import with ``--set`` recorded
its source without the rows each value filled. Hand-made files with known answers; real PostGIS."""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

import cli
from layers.store.open import open_store

SQUARE = [(-1.5, 6.0), (-1.49, 6.0), (-1.49, 6.01), (-1.5, 6.01), (-1.5, 6.0)]


def _shifted(dx: float) -> list[tuple[float, float]]:
    return [(x + dx, y) for x, y in SQUARE]


def _sites(path: Path) -> Path:
    """Four footprints: Polygon, two-part MultiPolygon, Polygon, Polygon; ``status`` empty in two rows."""
    geoms = [shapely.Polygon(_shifted(0)),
             shapely.MultiPolygon([shapely.Polygon(_shifted(0.1)), shapely.Polygon(_shifted(0.12))]),
             shapely.Polygon(_shifted(0.2)), shapely.Polygon(_shifted(0.3))]
    gpd.GeoDataFrame({"site_id": ["A", "B", "C", "D"], "status": ["active", None, "inactive", None]},
                     geometry=geoms, crs=4326).to_parquet(path)
    return path


@pytest.fixture
def where(location: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The command-line arguments naming the test's store (GeoPackage or PostGIS)."""
    monkeypatch.delenv("HGWATCH_DATABASE_URL", raising=False)
    return ["--database-url", location] if location.startswith("postgresql") else ["--workspace", location]


@pytest.mark.parametrize("rows", ["0", "1", "3"])
def test_a_mixed_polygon_layer_is_stored_as_the_file_gives_it(tmp_path: Path, where: list[str], rows: str) -> None:
    file = _sites(tmp_path / "sites.parquet")
    assert cli.main([*where, "import", str(file), "--layer", "mining_sites", "--chunk-rows", rows]) == 0
    stored = open_store(where[1]).read("mining_sites")
    assert list(stored["site_id"]) == ["A", "B", "C", "D"]
    assert list(stored.geom_type) == ["Polygon", "MultiPolygon", "Polygon", "Polygon"]
    assert [g.wkb for g in stored.geometry] == [g.wkb for g in gpd.read_parquet(file).geometry]


@pytest.mark.parametrize("rows", ["0", "1", "3"])
def test_a_chunked_import_records_the_rows_each_set_value_filled(tmp_path: Path, where: list[str], rows: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    file = _sites(tmp_path / "sites.parquet")
    assert cli.main([*where, "import", str(file), "--layer", "mining_sites", "--chunk-rows", rows,
                     "--set", "status=abandoned", "--set", "uses_mercury=true", "--set", "site_id=X"]) == 0
    wanted = ("sites.parquet [not in the file, given with --set (assumed, not observed): status=abandoned (2 rows),"
              " uses_mercury=true (4 rows)]")
    assert open_store(where[1]).info("mining_sites").source == wanted
    assert f"recorded: source {wanted};" in capsys.readouterr().err
    stored = open_store(where[1]).read("mining_sites")
    assert list(stored["status"]) == ["active", "abandoned", "inactive", "abandoned"]


def _planted(path: Path) -> Path:
    """Five footprints, four with an error of its own (rows 2-5) that the geodesic kernel cannot take:
    a polygon in metres, one with an infinite and one with a NaN coordinate, a line."""
    metres = shapely.transform(shapely.Polygon(_shifted(0.1)), lambda c: c * 111_320.0)
    wkb = [shapely.Polygon(_shifted(0)).wkb, metres.wkb,
           shapely.Polygon([(-1.3, 6.0), (-1.29, 6.0), (-1.29, float("inf")), (-1.3, 6.0)]).wkb,
           shapely.Polygon([(-1.2, 6.0), (-1.19, 6.0), (float("nan"), 6.01), (-1.2, 6.0)]).wkb,
           shapely.LineString([(-1.1, 6.0), (-1.09, 6.0)]).wkb]
    frame = gpd.GeoDataFrame({"site_id": ["A", "B", "C", "D", "E"]},
                             geometry=gpd.GeoSeries.from_wkb(wkb), crs=4326)
    frame.to_parquet(path)
    return path


def _check_argv(tmp_path: Path, sites: Path) -> list[str]:
    """``cli.py check`` of HG-WATER-100 on ``sites`` against one river (written beside it), not recorded."""
    gpd.GeoDataFrame({"water_id": ["W1"], "kind": ["river"]},
                     geometry=[shapely.LineString([(-1.6, 6.005), (-1.0, 6.005)])], crs=4326).to_parquet(
        tmp_path / "water.parquet")
    return ["--workspace", str(tmp_path / "ws.gpkg"), "check", "--only", "HG-WATER-100", "--no-record",
            "--layer", f"mining_sites={sites}", "--layer", f"water_bodies={tmp_path / 'water.parquet'}",
            "--set", "mining_sites.uses_mercury=true", "--out", str(tmp_path / "v.csv")]


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("rows", ["1", "2", "5"])
def test_a_chunked_check_of_a_file_with_bad_geometries_lists_its_errors_as_a_whole_check(
        tmp_path: Path, rows: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HGWATCH_DATABASE_URL", raising=False)
    sites = _planted(tmp_path / "sites.parquet")
    argv = _check_argv(tmp_path, sites)
    assert cli.main([*argv, "--chunk-rows", "0"]) == 2
    whole = capsys.readouterr().err
    assert cli.main([*argv, "--chunk-rows", rows]) == 2
    chunked = capsys.readouterr().err
    assert "Traceback" not in chunked and not (tmp_path / "v.csv").exists()
    listed = [line for line in whole.splitlines() if line.startswith("  error: sites.parquet")]
    assert all(f"sites.parquet, row {n}, id {i}, field 'geometry'" in text
               for n, i, text in zip(range(2, 6), "BCDE", sorted(listed, key=lambda t: t.split(", id ")[1]), strict=True))
    assert [line for line in chunked.splitlines() if line.startswith("  error:")] == listed


def _geojson_with_open_ring(path: Path) -> Path:
    """Five footprints as GeoJSON text; the ring of row 3 (id C) is left open."""
    features = []
    for k, name in enumerate("ABCDE"):
        ring = [list(c) for c in _shifted(0.1 * k)]
        if name == "C":
            ring = ring[:-1]
        features.append({"type": "Feature", "properties": {"site_id": name},
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


@pytest.mark.filterwarnings("ignore:Non closed ring detected:RuntimeWarning")
@pytest.mark.parametrize("rows", ["1", "2", "5"])
def test_a_chunked_check_of_a_geojson_with_an_open_ring_says_what_a_whole_check_says(
        tmp_path: Path, rows: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HGWATCH_DATABASE_URL", raising=False)
    sites = _geojson_with_open_ring(tmp_path / "sites.geojson")
    argv = _check_argv(tmp_path, sites)
    assert cli.main([*argv, "--chunk-rows", "0"]) == 2
    whole = [line for line in capsys.readouterr().err.splitlines() if line.startswith("  error:")]
    assert whole == ["  error: sites.geojson, row 3, id C, field 'geometry': value 'ring 1 of polygon 1 starts at "
                     "(-1.3, 6.0) but ends at (-1.3, 6.01)': a closed ring (first point = last point); pass --repair"
                     " to close it"]
    assert cli.main([*argv, "--chunk-rows", rows]) == 2
    assert [line for line in capsys.readouterr().err.splitlines() if line.startswith("  error:")] == whole
    assert cli.main([*argv, "--chunk-rows", rows, "--repair"]) == 0  # closed, reported, and checked
    assert (tmp_path / "v.csv").exists()
