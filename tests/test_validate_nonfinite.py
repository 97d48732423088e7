"""A NaN coordinate is an error that ``--repair`` does not paper over. GEOS calls such a geometry
invalid ('Invalid Coordinate'), and make_valid drops the vertex: a footprint with one unknown corner
came back as a triangle, stored under --repair and reported only as "repaired with make_valid into a
Polygon" (found planting errors in a national footprint file). The position is unknown, so the row is
refused whole, with or without --repair; an infinite coordinate stays a range error."""
from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

import cli
from layers.catalogue import spec_for
from layers.io.validate import validate
from layers.store.open import open_store

NAN = math.nan
SQUARE = shapely.Polygon([(0, 0), (0.01, 0), (0.01, 0.01), (0, 0.01), (0, 0)])
with np.errstate(invalid="ignore"):
    NAN_CORNER = shapely.polygons([(0, 0), (0.01, 0), (NAN, 0.005), (0.01, 0.01), (0, 0.01), (0, 0)])
    NAN_POINT = shapely.points(NAN, 1.0)
INF_POINT = shapely.points(math.inf, 1.0)


def frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"site_id": ["OK", "CORNER", "POINT", "INF"]},
                            geometry=[SQUARE, NAN_CORNER, NAN_POINT, INF_POINT], crs=4326)


@pytest.mark.parametrize("repair", [False, True])
def test_a_nan_coordinate_is_refused_with_or_without_repair(repair: bool) -> None:
    kept, problems = validate(frame(), spec_for("mining_sites"), source="sites.parquet", repair=repair)
    errors = {p.row: str(p) for p in problems if p.severity == "error"}
    assert set(errors) == {2, 3, 4}, errors
    for row, value in [(2, "Invalid Coordinate[nan 0.005]"), (3, "Invalid Coordinate[nan 1]")]:
        assert f"row {row}" in errors[row] and f"value '{value}'" in errors[row]
        assert "with finite coordinates" in errors[row] and "--repair does not guess" in errors[row]
    assert "longitude in [-180, 180]" in errors[4] and "finite" not in errors[4]  # a range error, as before
    assert not [p for p in problems if p.severity != "error"]  # nothing reported as repaired
    assert shapely.to_wkt(kept.geometry.iloc[1]) == shapely.to_wkt(NAN_CORNER)  # not made into a triangle


def test_import_with_repair_stores_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sites.parquet"
    frame().iloc[:2].to_parquet(path)
    ws = tmp_path / "ws.gpkg"
    code = cli.main(["--workspace", str(ws), "import", str(path), "--layer", "mining_sites", "--repair"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "sites.parquet, row 2, id CORNER, field 'geometry'" in err and "with finite coordinates" in err
    assert not ws.exists() or "mining_sites" not in {i.layer for i in open_store(ws).layers()}  # nothing stored
