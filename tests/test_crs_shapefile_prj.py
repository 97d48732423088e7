"""A zipped Shapefile without its .prj: the refusal says to put the .prj in the zip (or give --crs).

Found trying bad files of my own: a zip of .shp, .shx and .dbf in UTM metres was told only "give it with
--crs"; the usual cause is a .prj left out of the zip, and the fix a person can make without knowing the
CRS's code is to add it.
"""
from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from pyproj import Transformer

from geo.errors import CRSError
from layers.io.readers import read_raw


def _zip(tmp_path: Path, *, prj: bool) -> Path:
    sites = gpd.GeoDataFrame({"site_id": ["A", "B"]}, geometry=[shapely.Point(600_000, 740_000),
                                                                 shapely.Point(610_000, 750_000)], crs="EPSG:32630")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sites.to_file(tmp_path / "sites.shp")
    path = tmp_path / "sites.zip"
    with zipfile.ZipFile(path, "w") as z:
        for ext in ("shp", "shx", "dbf", *(["prj"] if prj else [])):
            z.write(tmp_path / f"sites.{ext}", f"sites.{ext}")
    return path


def test_a_zip_without_its_prj_is_told_to_add_it(tmp_path: Path) -> None:
    with pytest.raises(CRSError) as refused:
        read_raw(_zip(tmp_path, prj=False))
    assert str(refused.value) == (
        "sites.zip: has no CRS and its coordinates (600000.0, 740000.0, 610000.0, 750000.0) are not "
        "longitude/latitude degrees, so HgWatch will not guess one; give it with --crs (e.g. --crs EPSG:32630); "
        "or put the Shapefile's .prj (the file beside its .shp that names its CRS) in the zip")
    gdf, _ = read_raw(_zip(tmp_path, prj=False), crs="EPSG:32630")  # or given: read
    lon, lat = Transformer.from_crs(32630, 4326, always_xy=True).transform(600_000, 740_000)
    assert (gdf.geometry.iloc[0].x, gdf.geometry.iloc[0].y) == pytest.approx((lon, lat), abs=1e-9)
    assert -2.2 < lon < -2.0 and 6.6 < lat < 6.8  # near Obuasi
    gdf, _ = read_raw(_zip(tmp_path, prj=True))
    assert len(gdf) == 2
