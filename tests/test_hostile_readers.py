"""Issue 10, reader level: hostile and awkward uploads get a message naming file, row, field and
value, or are read as the user meant; never a traceback, a silent cut, or another driver.

Called through ``layers.io.readers`` directly (the CLI is tested elsewhere)."""
from __future__ import annotations

import json
import sqlite3
import struct
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.errors import CRSError, HgWatchError, InputError, Problem
from layers.io import gdalread
from layers.io.readers import load_layer, source_layers
from tests.hostile_kit import SECRET, digest, sites

OPEN = [(-1.99, 5.30), (-1.98, 5.30), (-1.98, 5.31), (-1.99, 5.31)]  # four corners, not closed
RING_MESSAGE = "a closed ring (first point = last point)"


def _open_ring_wkb() -> bytes:
    return struct.pack("<BII", 1, 3, 1) + struct.pack("<I", len(OPEN)) + b"".join(
        struct.pack("<dd", x, y) for x, y in OPEN)


def _geometry_errors(exc: InputError) -> list[Problem]:
    return [p for p in exc.problems if p.field == "geometry" and p.severity == "error"]


# ---------------------------------------------------------------- a polygon ring left open
def _open_geojson(tmp_path: Path) -> Path:
    path = tmp_path / "mining_sites.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
        "site_id": "P1", "status": "active"}, "geometry": {"type": "Polygon", "coordinates": [OPEN]}}]}))
    return path


def _gpkg_with_wkb(tmp_path: Path, wkb: bytes) -> Path:
    """A GeoPackage whose one polygon blob holds ``wkb`` after its GeoPackage header."""
    path = tmp_path / "mining_sites.gpkg"
    gpd.GeoDataFrame({"site_id": ["P1"], "status": ["active"]},
                     geometry=[shapely.Polygon(OPEN)], crs=4326).to_file(path, layer="mining_sites",
                                                                         SPATIAL_INDEX="NO")
    con = sqlite3.connect(path)
    blob = con.execute("SELECT geom FROM mining_sites").fetchone()[0]
    header = 8 + (0, 32, 48, 48, 64)[(blob[3] >> 1) & 7]
    con.execute("UPDATE mining_sites SET geom = ?", (blob[:header] + wkb,))
    con.commit()
    con.close()
    return path


def _open_gpkg(tmp_path: Path) -> Path:
    return _gpkg_with_wkb(tmp_path, _open_ring_wkb())


def _open_parquet(tmp_path: Path) -> Path:
    path = tmp_path / "mining_sites.parquet"
    geo = {"version": "1.0.0", "primary_column": "geometry",
           "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Polygon"]}}}
    table = pa.table({"site_id": ["P1"], "status": ["active"], "geometry": [_open_ring_wkb()]})
    pq.write_table(table.replace_schema_metadata({b"geo": json.dumps(geo).encode()}), path)
    return path


def _open_csv(tmp_path: Path) -> Path:
    path = tmp_path / "mining_sites.csv"
    ring = ", ".join(f"{x} {y}" for x, y in OPEN)
    path.write_text(f'site_id,status,geometry\nP1,active,"POLYGON (({ring}))"\n')
    return path


@pytest.mark.parametrize("make", [_open_geojson, _open_gpkg, _open_parquet, _open_csv])
def test_an_open_ring_is_a_problem_naming_row_id_and_what_was_expected(tmp_path: Path, make: object) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(InputError) as caught:
        load_layer(path, "mining_sites")
    (problem,) = _geometry_errors(caught.value)
    assert (problem.file, problem.row, problem.feature_id, problem.field) == (path.name, 1, "P1", "geometry")
    assert problem.expected == f"{RING_MESSAGE}; pass --repair to close it"
    assert "-1.99" in str(problem.value) and len(str(problem.value)) <= 80
    if path.suffix != ".csv":
        assert problem.value == "ring 1 of polygon 1 starts at (-1.99, 5.3) but ends at (-1.99, 5.31)"


@pytest.mark.parametrize("make", [_open_geojson, _open_gpkg, _open_csv])
def test_repair_closes_an_open_ring_and_says_so(tmp_path: Path, make: object) -> None:
    loaded = load_layer(make(tmp_path), "mining_sites", repair=True)  # type: ignore[operator]
    assert shapely.equals(loaded.gdf.geometry.iloc[0], shapely.Polygon(OPEN))
    assert [p.expected for p in loaded.warnings if p.kind == "repaired"] == [
        f"repaired: the ring was closed ({RING_MESSAGE})"]
    assert "_open_ring" not in loaded.gdf.columns


def test_a_geometry_geos_cannot_build_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    one_point_ring = struct.pack("<BIII", 1, 3, 1, 1) + struct.pack("<dd", -1.99, 5.3)  # GDAL reads it, GEOS not
    path = _gpkg_with_wkb(tmp_path, one_point_ring)
    with pytest.raises(InputError) as caught:
        load_layer(path, "mining_sites")
    (problem,) = _geometry_errors(caught.value)
    assert (problem.row, problem.feature_id) == (1, "P1")
    assert problem.value == "point array must contain 0 or >1 elements"  # GEOS, via shapely
    assert problem.expected == "a Point, Polygon, MultiPolygon geometry that GEOS can build"


# ---------------------------------------------------------------- values as people write them
def test_messages_show_plain_numbers(tmp_path: Path) -> None:
    path = tmp_path / "mining_sites.csv"
    path.write_text("site_id,status,lon,lat,miners\nA,active,-1.99,5.3,inf\nB,active,-1.99,5.31,-4\n")
    with pytest.raises(InputError) as caught:
        load_layer(path)
    text = str(caught.value)
    assert "np." not in text
    assert "row 1, id A, field 'miners': value 'inf': expected a whole number" in text
    assert "row 2, id B, field 'miners': value -4: impossible value: expected at least 0" in text


def test_crs_messages_show_plain_bounds(tmp_path: Path) -> None:
    path = tmp_path / "mining_sites.csv"
    path.write_text("site_id,x,y\nA,500000,600000\n")
    with pytest.raises(CRSError) as caught:
        load_layer(path)
    assert "(500000.0, 600000.0, 500000.0, 600000.0)" in str(caught.value)
    assert "np." not in str(caught.value)


# ---------------------------------------------------------------- CRS
def _geojson(tmp_path: Path, crs_member: object, x: float = -1.99, y: float = 5.30) -> Path:
    data = json.loads(sites(1).to_json())
    data["features"][0]["geometry"]["coordinates"] = [x, y]
    if crs_member is not None:
        data["crs"] = crs_member
    path = tmp_path / "mining_sites.geojson"
    path.write_text(json.dumps(data))
    return path


def test_a_crs_member_naming_an_unknown_code_is_refused(tmp_path: Path) -> None:
    path = _geojson(tmp_path, {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::999999"}})
    with pytest.raises(CRSError, match=r"mining_sites.geojson: its 'crs' member names "
                                       r"'urn:ogc:def:crs:EPSG::999999', a CRS PROJ does not know"):
        load_layer(path)


def test_a_crs_member_naming_a_known_code_is_used(tmp_path: Path) -> None:
    path = _geojson(tmp_path, {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32630"}},
                    611000.0, 586000.0)
    point = load_layer(path).gdf.geometry.iloc[0]
    assert (round(point.x, 2), round(point.y, 2)) == (-2.0, 5.3)


def test_projected_geojson_without_a_crs_member_takes_the_users_crs(tmp_path: Path) -> None:
    path = _geojson(tmp_path, None, 611000.0, 586000.0)
    with pytest.raises(CRSError, match="probably projected"):
        load_layer(path)
    point = load_layer(path, crs="EPSG:32630").gdf.geometry.iloc[0]
    assert (round(point.x, 2), round(point.y, 2)) == (-2.0, 5.3)


@pytest.mark.parametrize("crs", ["EPSG:4978", "EPSG:5773"])  # geocentric, vertical
def test_a_crs_neither_geographic_nor_projected_is_refused_by_name(tmp_path: Path, crs: str) -> None:
    path = tmp_path / "mining_sites.csv"
    path.write_text("site_id,x,y\nA,1,2\n")
    with pytest.raises(CRSError, match=f"--crs '{crs}' is a (geocentric|vertical) CRS"):
        load_layer(path, crs=crs)


def test_a_file_in_a_geocentric_crs_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "mining_sites.gpkg"
    sites(1).set_crs(4978, allow_override=True).to_file(path, layer="mining_sites")
    with pytest.raises(CRSError, match="mining_sites.gpkg: its CRS EPSG:4978 is a geocentric CRS"):
        load_layer(path)


# ---------------------------------------------------------------- spreadsheets
def _book(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


HEADER: list[object] = ["site_id", "status", "lon", "lat"]


def test_an_xlsx_with_two_sheets_is_refused_naming_them_until_one_is_chosen(tmp_path: Path) -> None:
    path = _book(tmp_path / "mining_sites.xlsx", {"north": [HEADER, ["A", "active", -1.99, 5.30]],
                                                  "south": [HEADER, ["B", "active", -1.98, 5.31]]})
    with pytest.raises(InputError, match=r"holds several sheets \(north and south\); name one"):  # in words (HR, s19)
        load_layer(path)
    assert source_layers(path) == ["north", "south"]
    assert list(load_layer(path, source_layer="south").gdf["site_id"]) == ["B"]
    with pytest.raises(InputError, match=r"has no sheet 'west'; it holds north and south"):
        load_layer(path, source_layer="west")


def test_an_empty_second_sheet_does_not_block_the_first(tmp_path: Path) -> None:
    path = _book(tmp_path / "mining_sites.xlsx", {"data": [HEADER, ["A", "active", -1.99, 5.30]], "notes": []})
    assert list(load_layer(path).gdf["site_id"]) == ["A"]


def test_duplicate_headers_are_an_error_naming_the_header(tmp_path: Path) -> None:
    csv_path = tmp_path / "mining_sites.csv"
    csv_path.write_text("site_id,name,name,lon,lat\nA,x,y,-1.99,5.3\n")
    xlsx_path = _book(tmp_path / "mining_sites.xlsx", {"s": [["site_id", "name", "lon", "name", "lat"],
                                                             ["A", "x", -1.99, "y", 5.3]]})
    for path, letters in ((csv_path, "B, C"), (xlsx_path, "B, D")):
        with pytest.raises(InputError) as caught:
            load_layer(path)
        (problem,) = [p for p in caught.value.problems if p.kind == "duplicate_header"]
        assert str(problem) == (f"error: {path.name}, field 'name': duplicate column header: 2 columns "
                                f"({letters}) are named 'name'; rename all but one so that no value is lost")


def test_a_formula_cell_is_named_by_its_cell(tmp_path: Path) -> None:
    path = _book(tmp_path / "mining_sites.xlsx", {"s": [HEADER, ["A", "active", "=1-3", 5.30]]})
    with pytest.raises(InputError) as caught:
        load_layer(path)
    (problem,) = [p for p in caught.value.problems if p.kind == "formula"]
    assert (problem.row, problem.field, problem.value) == (1, "lon", "=1-3")
    assert problem.expected.startswith("cell C2 holds a formula, not a value")


# ---------------------------------------------------------------- GeoPackages that are not
def test_a_plain_sqlite_file_is_not_a_geopackage(tmp_path: Path) -> None:
    path = tmp_path / "mining_sites.gpkg"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE mining_sites (site_id TEXT)")
    con.commit()
    con.close()
    with pytest.raises(InputError, match="mining_sites.gpkg: cannot read the file: it is an SQLite database "
                                         "but not a GeoPackage"):
        load_layer(path)


def test_a_view_that_gdal_lists_unregistered_is_refused(tmp_path: Path) -> None:
    """A view GDAL would list as a layer without a gpkg_contents row is refused as well."""
    path = tmp_path / "mining_sites.gpkg"
    sites(2, informant_name=[SECRET, SECRET]).to_file(path, layer="people")
    con = sqlite3.connect(path)
    con.execute("CREATE VIEW mining_sites AS SELECT fid, site_id, informant_name AS name FROM people")
    con.commit()
    con.close()
    before = digest(path)
    with pytest.raises(InputError) as caught:
        load_layer(path, "mining_sites", source_layer="mining_sites")
    assert SECRET not in str(caught.value) and digest(path) == before


def test_gpkg_contents_as_a_view_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mining_sites.gpkg"
    sites(1).to_file(path, layer="mining_sites")
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE gpkg_contents RENAME TO contents_table")
    con.execute("CREATE VIEW gpkg_contents AS SELECT * FROM contents_table")
    con.commit()
    con.close()
    with pytest.raises(InputError, match="its GeoPackage table 'gpkg_contents' is an SQL view, not a table"):
        load_layer(path)


# ---------------------------------------------------------------- archives and XML
def _shapefile_zip(tmp_path: Path, name: str, leave_out: str = "", into: Path | None = None) -> Path:
    folder = tmp_path / "shp"
    folder.mkdir()
    gpd.GeoDataFrame({"site_id": ["S1"]}, geometry=[shapely.Point(-1.99, 5.3)], crs=4326).to_file(
        folder / "mining_sites.shp")
    path = (into or tmp_path) / name
    with zipfile.ZipFile(path, "w") as zf:
        for f in folder.iterdir():
            if f.suffix != leave_out:
                zf.write(f, f.name)
    return path


def test_a_zipped_shapefile_without_its_shx_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"'mining_sites.shp' comes without \['mining_sites.shx'\]; "
                                         r"zip the .shp with its .shx, .dbf and .prj"):
        load_layer(_shapefile_zip(tmp_path, "mining_sites.zip", ".shx"))


def test_a_lone_shp_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "mining_sites.shp"
    path.write_bytes(b"\x00\x00\x27\x0a" + bytes(96))
    with pytest.raises(InputError, match=r"mining_sites.shp: .*zip the .shp with its .shx, .dbf and .prj"):
        load_layer(path)


def test_a_zip_in_a_folder_with_gdal_syntax_in_its_name_reads(tmp_path: Path) -> None:
    folder = tmp_path / "a.zip!x:y"
    folder.mkdir()
    path = _shapefile_zip(tmp_path, "mining sites!v2.zip", into=folder)
    assert list(load_layer(path, "mining_sites").gdf["site_id"]) == ["S1"]


def test_a_kmz_reads_its_doc_kml_and_refuses_a_disguised_one(tmp_path: Path) -> None:
    kml = tmp_path / "s.kml"
    pyogrio.write_dataframe(sites(2), kml, driver="LIBKML")
    good = tmp_path / "mining_sites.kmz"
    with zipfile.ZipFile(good, "w") as zf:
        zf.write(kml, "doc.kml")
    assert sorted(load_layer(good).gdf["site_id"]) == ["S1", "S2"]
    bad = tmp_path / "bad_sites.kmz"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("doc.kml", "<OGRVRTDataSource><OGRVRTLayer name='x'/></OGRVRTDataSource>")
    with pytest.raises(InputError, match=r"its member 'doc.kml' looks like a GDAL virtual dataset"):
        load_layer(bad, "mining_sites")


def test_kml_with_a_doctype_is_refused_before_any_entity_is_expanded(tmp_path: Path) -> None:
    path = tmp_path / "mining_sites.kml"
    path.write_text('<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                    '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>&x;</name>'
                    "<Point><coordinates>-1.99,5.3</coordinates></Point></Placemark></Document></kml>")
    with pytest.raises(InputError, match="declares a DOCTYPE") as caught:
        load_layer(path)
    assert "root:" not in str(caught.value)


def test_json_nested_too_deeply_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mining_sites.geojson"
    path.write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(InputError, match="nested too deeply"):
        load_layer(path)


# ---------------------------------------------------------------- no network


def test_gdal_itself_makes_no_request_once_locked(tmp_path: Path, listener: tuple[str, list[str]]) -> None:
    """The network lock holds even for a VRT handed straight to GDAL, past every check."""
    base, seen = listener
    vrt = tmp_path / "direct.vrt"
    vrt.write_text(f"<OGRVRTDataSource><OGRVRTLayer name='x'><SrcDataSource>/vsicurl/{base}/a.gpkg"
                   "</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>")
    link = _geojson(tmp_path, {"type": "link", "properties": {"href": f"{base}/crs.wkt", "type": "ogcwkt"}})
    gdalread.lock_network()
    with pytest.raises((pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError)):
        pyogrio.read_dataframe(vrt)
    pyogrio.read_dataframe(f"GeoJSON:{link}")  # GDAL fetches a linked CRS when the network is on
    assert seen == []


def test_a_linked_crs_member_is_refused_and_not_fetched(tmp_path: Path, listener: tuple[str, list[str]]) -> None:
    base, seen = listener
    path = _geojson(tmp_path, {"type": "link", "properties": {"href": f"{base}/crs.wkt", "type": "ogcwkt"}})
    with pytest.raises(CRSError, match="its 'crs' member is not a named CRS"):
        load_layer(path)
    assert seen == []


# ---------------------------------------------------------------- fuzz: no disguise opens a driver
VRT = b"<OGRVRTDataSource><OGRVRTLayer name='x'><SrcDataSource>/etc/passwd</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>"
DISGUISES = st.sampled_from([VRT, b"\xef\xbb\xbf" + VRT, b"  \n" + VRT, b"<?xml version='1.0'?>" + VRT,
                             b"<!-- x -->" + VRT])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=DISGUISES, suffix=st.sampled_from([".geojson", ".json", ".gpkg", ".kml", ".kmz", ".zip", ".shp",
                                                  ".parquet", ".csv", ".xlsx"]))
def test_no_disguise_opens_another_driver(tmp_path_factory: pytest.TempPathFactory, payload: bytes,
                                          suffix: str) -> None:
    folder = tmp_path_factory.mktemp("up")
    path = folder / f"mining_sites{suffix}"
    if suffix in (".zip", ".kmz"):
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("doc.kml" if suffix == ".kmz" else "mining_sites.shp", payload)
    else:
        path.write_bytes(payload)
    with pytest.raises(HgWatchError) as caught:
        load_layer(path, "mining_sites")
    message = str(caught.value)
    assert path.name in message
    assert "root:" not in message and "/etc/passwd" not in message  # nothing the VRT names or reads
