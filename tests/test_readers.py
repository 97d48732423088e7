"""Every reader: GeoJSON, GeoPackage, zipped Shapefile, GeoParquet, KML, CSV and XLSX."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from geo.errors import CRSError, InputError
from layers.io.readers import infer_layer, load_layer

POINTS = [(-1.99, 5.30), (-1.98, 5.31)]


def _check_points(gdf: gpd.GeoDataFrame) -> None:
    assert gdf.crs.to_epsg() == 4326
    got = sorted((round(g.x, 7), round(g.y, 7)) for g in gdf.geometry)
    assert got == sorted(POINTS)


def _table() -> pd.DataFrame:
    return pd.DataFrame({"site_id": ["A", "B"], "status": ["active", "Inactive"],
                         "uses_mercury": ["yes", "no"]})


@pytest.mark.parametrize("driver,suffix", [("GeoJSON", ".geojson"), ("GPKG", ".gpkg"),
                                           ("LIBKML", ".kml")])
def test_vector_formats(tmp_path: Path, driver: str, suffix: str) -> None:
    gdf = gpd.GeoDataFrame(_table(), geometry=shapely.points(POINTS), crs=4326)
    path = tmp_path / f"sites{suffix}"
    pyogrio.write_dataframe(gdf, path, driver=driver)
    loaded = load_layer(path, "mining_sites")
    _check_points(loaded.gdf)
    assert list(loaded.gdf["status"]) == ["active", "inactive"]  # case normalised
    assert list(loaded.gdf["uses_mercury"]) == [True, False]


def test_zipped_shapefile(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(_table(), geometry=gpd.GeoSeries(shapely.points(POINTS), crs=4326).to_crs(32630))
    folder = tmp_path / "shp"
    folder.mkdir()
    pyogrio.write_dataframe(gdf, folder / "sites.shp")
    archive = tmp_path / "sites.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f.name)
    loaded = load_layer(archive, "mining_sites")
    _check_points(loaded.gdf)  # reprojected from UTM 30N back to lon/lat
    assert list(loaded.gdf["uses_mercury"]) == [True, False]  # DBF cut it to 'uses_mercu'


def test_geoparquet(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(_table(), geometry=shapely.points(POINTS), crs=4326)
    path = tmp_path / "sites.parquet"
    gdf.to_parquet(path)
    _check_points(load_layer(path, "mining_sites").gdf)


def test_geopackage_with_several_layers_picks_the_named_one(tmp_path: Path) -> None:
    path = tmp_path / "survey.gpkg"
    sites = gpd.GeoDataFrame(_table(), geometry=shapely.points(POINTS), crs=4326)
    water = gpd.GeoDataFrame({"water_id": ["W1"], "kind": ["river"]},
                             geometry=[shapely.LineString([(-2, 5), (-1, 5)])], crs=4326)
    pyogrio.write_dataframe(sites, path, layer="mining_sites")
    pyogrio.write_dataframe(water, path, layer="water_bodies")
    assert len(load_layer(path, "water_bodies").gdf) == 1
    assert len(load_layer(path, "mining_sites").gdf) == 2
    with pytest.raises(InputError, match="several layers"):
        load_layer(path, "deposits")


@pytest.mark.parametrize("columns", [
    {"lat": [5.30, 5.31], "lon": [-1.99, -1.98]},
    {"Latitude": [5.30, 5.31], "Longitude": [-1.99, -1.98]},
    {"y": [5.30, 5.31], "x": [-1.99, -1.98]},
    {"_gps_latitude": [5.30, 5.31], "_gps_longitude": [-1.99, -1.98]},            # KoBoToolbox
    {"grp-location-Latitude": [5.30, 5.31], "grp-location-Longitude": [-1.99, -1.98]},  # ODK Central
    {"_geolocation": ["[5.30, -1.99]", "[5.31, -1.98]"]},                          # KoBo JSON pair
    {"gps": ["5.30 -1.99 120 4.5", "5.31 -1.98 118 3.9"]},                         # ODK geopoint
    {"geometry": ["POINT (-1.99 5.3)", "POINT (-1.98 5.31)"]},                     # HgWatch CSV
])
def test_csv_coordinate_columns(tmp_path: Path, columns: dict[str, list[object]]) -> None:
    path = tmp_path / "sites.csv"
    pd.concat([_table(), pd.DataFrame(columns)], axis=1).to_csv(path, index=False)
    loaded = load_layer(path, "mining_sites")
    _check_points(loaded.gdf)
    assert any(p.kind == "crs" and "assumed" in p.expected for p in loaded.warnings)


def test_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "sites.xlsx"
    pd.concat([_table(), pd.DataFrame({"lat": [5.30, 5.31], "lon": [-1.99, -1.98]})],
              axis=1).to_excel(path, index=False)
    _check_points(load_layer(path, "mining_sites").gdf)


def test_projected_file_is_reprojected(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(_table(), geometry=gpd.GeoSeries(shapely.points(POINTS), crs=4326).to_crs(32630))
    path = tmp_path / "sites.gpkg"
    pyogrio.write_dataframe(gdf, path)
    loaded = load_layer(path, "mining_sites")
    _check_points(loaded.gdf)
    assert not any(p.kind == "crs" for p in loaded.warnings)  # a declared CRS is no assumption


def test_no_crs_and_projected_coordinates_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    pd.concat([_table(), pd.DataFrame({"y": [586000.0, 587100.0], "x": [611000.0, 612100.0]})],
              axis=1).to_csv(path, index=False)
    with pytest.raises(CRSError, match="will not guess"):
        load_layer(path, "mining_sites")
    loaded = load_layer(path, "mining_sites", crs="EPSG:32630")  # the user names it: accepted
    assert loaded.gdf.geometry.iloc[0].x == pytest.approx(-1.9999, abs=0.01)


def test_geojson_with_projected_numbers_is_refused(tmp_path: Path) -> None:
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"site_id": "A"},
         "geometry": {"type": "Point", "coordinates": [611000.0, 586000.0]}}]}
    path = tmp_path / "sites.geojson"
    path.write_text(json.dumps(doc))
    with pytest.raises(CRSError, match="probably projected"):
        load_layer(path, "mining_sites")


def test_layer_type_from_file_name() -> None:
    assert infer_layer("gshhg_rivers.geojson") == "water_bodies"
    assert infer_layer("tailings_2024.csv") == "tailings"
    assert infer_layer("mining_sites.gpkg") == "mining_sites"
    assert infer_layer("export.csv") is None


def test_unknown_extension_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sites.docx"
    path.write_text("x")
    with pytest.raises(InputError, match="unknown file type"):
        load_layer(path, "mining_sites")


def test_shared_peru_points_report_their_two_duplicate_ids() -> None:
    from tests.conftest import SHARED

    with pytest.raises(InputError) as info:
        load_layer(SHARED / "peru" / "gold_mining_points.geojson", "mining_sites")
    dups = [p for p in info.value.problems if p.kind == "duplicate"]
    assert sorted(p.value for p in dups) == ["1187", "1196"]


def test_file_names_with_gdal_syntax_characters(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(_table(), geometry=shapely.points(POINTS), crs=4326)
    plain = tmp_path / "plain.geojson"
    pyogrio.write_dataframe(gdf, plain)
    path = plain.rename(tmp_path / "sites!v2 (final).geojson")  # GDAL reads '!' as archive syntax
    _check_points(load_layer(path, "mining_sites").gdf)
