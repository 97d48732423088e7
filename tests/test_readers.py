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
from layers.io import readers
from layers.io.readers import infer_layer, load_layer, source_layers

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
    assert sorted(str(p.value) for p in dups) == ["1187", "1196"]


def test_file_names_with_gdal_syntax_characters(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(_table(), geometry=shapely.points(POINTS), crs=4326)
    plain = tmp_path / "plain.geojson"
    pyogrio.write_dataframe(gdf, plain)
    path = plain.rename(tmp_path / "sites!v2 (final).geojson")  # GDAL reads '!' as archive syntax
    _check_points(load_layer(path, "mining_sites").gdf)


# ---------------------------------------------------------------- what counts as a bad file
@pytest.mark.parametrize("bug", [KeyError, IndexError, AttributeError, TypeError])
def test_a_bug_in_a_reader_surfaces_as_a_bug(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            bug: type[Exception]) -> None:
    """A programming error inside a reader is not reported as 'cannot read the file'."""
    path = tmp_path / "sites.csv"
    pd.concat([_table(), pd.DataFrame({"lat": [5.30, 5.31], "lon": [-1.99, -1.98]})],
              axis=1).to_csv(path, index=False)

    def broken(df: pd.DataFrame) -> None:
        raise bug("a bug in HgWatch")

    monkeypatch.setattr(readers, "find_geometry", broken)
    with pytest.raises(bug, match="a bug in HgWatch"):
        load_layer(path, "mining_sites")


def _xlsx(tmp_path: Path) -> Path:
    path = tmp_path / "sites.xlsx"
    pd.concat([_table(), pd.DataFrame({"lat": [5.30, 5.31], "lon": [-1.99, -1.98]})],
              axis=1).to_excel(path, index=False)
    return path


def test_a_workbook_missing_its_parts_is_a_bad_file(tmp_path: Path) -> None:
    """openpyxl reports a zip without '[Content_Types].xml' as a KeyError: still a bad file."""
    path = tmp_path / "sites.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    with pytest.raises(InputError, match=r"sites.xlsx: cannot read the file as an Excel workbook"):
        load_layer(path, "mining_sites")


def test_a_workbook_with_a_damaged_deflate_stream_is_a_bad_file(tmp_path: Path) -> None:
    """A damaged compressed sheet raises zlib.error inside openpyxl; HgWatch reports the file."""
    path = _xlsx(tmp_path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + int.from_bytes(data[info.header_offset + 26:info.header_offset + 28], "little") \
        + int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], "little")
    data[start] = 0xFF  # deflate block type 3 does not exist
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="sites.xlsx: cannot read the file as an Excel workbook.*invalid block type"):
        load_layer(path, "mining_sites")


def test_an_old_xls_workbook_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "sites.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))  # an OLE2 header
    with pytest.raises(InputError, match=r"sites.xls: old Excel 97-2003 \(.xls\) .* save it as .xlsx or .csv"):
        load_layer(path, "mining_sites")


def test_a_prj_that_is_not_utf8_is_a_bad_file(tmp_path: Path) -> None:
    """pyogrio fails on a Latin-1 .prj with an UnboundLocalError; the user reads what is wrong."""
    folder = tmp_path / "shp"
    folder.mkdir()
    gdf = gpd.GeoDataFrame(_table(), geometry=shapely.points(POINTS), crs=4326)
    pyogrio.write_dataframe(gdf, folder / "sites.shp")
    prj = folder / "sites.prj"
    prj.write_bytes(prj.read_bytes().replace(b"GCS_WGS_1984", b"GCS_WGS_1984_r\xe9seau"))
    archive = tmp_path / "sites.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f.name)
    with pytest.raises(InputError, match=r"sites.zip: cannot read the file: it holds text that is not UTF-8 "
                                         r"\(byte b'\\xe9' at position \d+\); save it as UTF-8"):
        load_layer(archive, "mining_sites")


def test_a_crs_of_another_planet_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "sites.gpkg"
    pyogrio.write_dataframe(gpd.GeoDataFrame(_table(), geometry=shapely.points(POINTS),
                                             crs="IAU_2015:49900"), path)  # Mars
    with pytest.raises(CRSError, match=r"sites.gpkg: its CRS Mars .* cannot be converted to longitude/latitude"):
        load_layer(path, "mining_sites")


def test_a_csv_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_bytes("site_id,name,lat,lon\nA,Obuasi,5.3,-1.9\nB,Ségou,5.31,-1.98\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"sites.csv: cannot read the file: it is not UTF-8 text: line 3, "
                                         r"column 4 holds the byte 0xE9"):  # its line, not a byte position (HR, s19)
        load_layer(path, "mining_sites")


# ---------------------------------------------------------------- KML folders
KML_FOLDERS = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>survey</name>
<Placemark><name>loose</name><ExtendedData><Data name="site_id"><value>L</value></Data></ExtendedData>
  <Point><coordinates>-1.97,5.32</coordinates></Point></Placemark>
<Folder><name>Tarkwa</name>
  <Placemark><name>a</name><ExtendedData><Data name="site_id"><value>A</value></Data></ExtendedData>
    <Point><coordinates>-1.99,5.30</coordinates></Point></Placemark>
  <Folder><name>Tarkwa north</name>
    <Placemark><name>n</name><ExtendedData><Data name="site_id"><value>N</value></Data></ExtendedData>
      <Point><coordinates>-1.95,5.36</coordinates></Point></Placemark>
  </Folder>
</Folder>
<Folder><name>Prestea</name>
  <Placemark><name>b</name><ExtendedData><Data name="site_id"><value>B</value></Data></ExtendedData>
    <Point><coordinates>-1.98,5.31</coordinates></Point></Placemark>
  <Placemark><name>c</name><ExtendedData><Data name="site_id"><value>C</value></Data></ExtendedData>
    <Point><coordinates>-2.10,5.43</coordinates></Point></Placemark>
</Folder>
<Folder><name>Empty</name></Folder>
</Document></kml>
"""


def test_kml_with_several_folders_reads_every_placemark_with_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "sites.kml"
    path.write_text(KML_FOLDERS)
    gdf = load_layer(path, "mining_sites").gdf
    got = dict(zip(gdf["site_id"], gdf["folder"]))
    assert got == {"L": "survey", "A": "Tarkwa", "N": "Tarkwa north", "B": "Prestea", "C": "Prestea"}
    assert list(gdf["name"]) == ["loose", "a", "n", "b", "c"]  # file order
    c = gdf.set_index("site_id").geometry["C"]
    assert (c.x, c.y) == (-2.10, 5.43)


def test_kml_source_layer_reads_one_folder_only(tmp_path: Path) -> None:
    path = tmp_path / "sites.kml"
    path.write_text(KML_FOLDERS)
    assert source_layers(path) == ["survey", "Tarkwa", "Tarkwa north", "Prestea", "Empty"]
    gdf = load_layer(path, "mining_sites", source_layer="Prestea").gdf
    assert list(gdf["site_id"]) == ["B", "C"]
    assert "folder" not in gdf.columns


# ---------------------------------------------------------------- --crs against the file's CRS
def test_a_crs_that_conflicts_with_the_files_is_refused_naming_both(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(_table(), geometry=gpd.GeoSeries(shapely.points(POINTS), crs=4326).to_crs(32630))
    path = tmp_path / "sites.gpkg"
    pyogrio.write_dataframe(gdf, path)
    with pytest.raises(CRSError) as info:
        load_layer(path, "mining_sites", crs="EPSG:32631")
    assert str(info.value) == ("sites.gpkg: the file declares its CRS as EPSG:32630 but --crs says "
                               "EPSG:32631; HgWatch will not pick one. Drop --crs to use the file's "
                               "EPSG:32630, or correct the file")
    _check_points(load_layer(path, "mining_sites", crs="EPSG:32630").gdf)  # the same CRS: fine


@pytest.mark.parametrize("same", ["EPSG:4326", "OGC:CRS84", "+proj=longlat +datum=WGS84 +no_defs"])
def test_a_crs_equal_to_the_files_up_to_axis_order_is_accepted(tmp_path: Path, same: str) -> None:
    path = tmp_path / "sites.geojson"
    pyogrio.write_dataframe(gpd.GeoDataFrame(_table(), geometry=shapely.points(POINTS), crs=4326), path)
    _check_points(load_layer(path, "mining_sites", crs=same).gdf)
