"""Coordinate columns named alike but for the axis are read (HR, session 19, walking ``validate`` as a field
coordinator in Peru would): the Peru gold-mining points carry their coordinates as X_GEO/Y_GEO, and a copy
saved from a Spanish Excel (';' between values, ',' for decimals) was refused, "no coordinate columns found".
ArcGIS's "Add XY Coordinates" writes POINT_X/POINT_Y, QGIS's xcoord/ycoord; Spanish forms write latitud/longitud.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

from geo.errors import InputError
from layers.io.readers import load_layer
from tests.conftest import SHARED

PERU = SHARED / "peru" / "gold_mining_points.geojson"


@pytest.mark.skipif(not PERU.exists(), reason="the shared Peru data")
def test_the_peru_points_saved_by_a_spanish_excel_are_read_where_they_are(tmp_path: Path) -> None:
    real = gpd.read_file(PERU).head(20)
    path = tmp_path / "puntos_mineria.csv"
    real.drop(columns="geometry").to_csv(path, sep=";", decimal=",", index=False, encoding="utf-8")
    assert "-74,031639" in path.read_text()  # as Excel in Spanish writes it
    loaded = load_layer(path, "mining_sites")
    assert len(loaded.gdf) == 20
    assert list(loaded.gdf.geometry.x) == list(real["X_GEO"])  # the file's own columns, to the last digit
    assert list(loaded.gdf.geometry.y) == list(real["Y_GEO"])
    notes = [p.expected for p in loaded.warnings if p.kind == "coordinates"]
    assert notes == ["coordinates read from columns 'Y_GEO' (latitude) and 'X_GEO' (longitude)"]


@pytest.mark.parametrize(("header", "y", "x"), [
    ("site_id,POINT_X,POINT_Y", "POINT_Y", "POINT_X"),
    ("site_id,xcoord,ycoord", "ycoord", "xcoord"),
    ("site_id,GPS Long,GPS Lat", "GPS Lat", "GPS Long"),
    ("site_id,longitud,latitud", "latitud", "longitud"),
    ("site_id,coord-x,coord-y", "coord-y", "coord-x"),
])
def test_pairs_named_alike_but_for_the_axis(tmp_path: Path, header: str, y: str, x: str) -> None:
    path = tmp_path / "sites.csv"
    path.write_text(f"{header}\nA,-1.6,6.7\n")
    loaded = load_layer(path, "mining_sites")
    assert (loaded.gdf.geometry.x[0], loaded.gdf.geometry.y[0]) == (-1.6, 6.7)
    assert f"columns '{y}' (latitude) and '{x}' (longitude)" in str(loaded.warnings)


@pytest.mark.parametrize("header", ["site_id,x_count,miners", "site_id,POINT_X,POINT_Y,X_GEO,Y_GEO",
                                    "site_id,x_y,y_x"])
def test_no_pair_or_two_pairs_are_not_guessed(tmp_path: Path, header: str) -> None:
    path = tmp_path / "sites.csv"
    path.write_text(header + "\n" + ",".join(["A"] + ["1"] * (header.count(","))) + "\n")
    with pytest.raises(InputError, match="no coordinate columns found"):
        load_layer(path, "mining_sites")
