"""Issue: any file could make GDAL read another file or call a URL. An upload is opened only with
the driver that its extension and its content signature agree on; VRT and every other driver
are refused; GDAL's network access is off; a GeoPackage upload is read-only and its views and
triggers never run."""
from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from geo.errors import InputError
from layers.io.readers import load_layer
from tests.hostile_kit import SECRET, digest, run, sites

ACCEPTED = [".geojson", ".json", ".gpkg", ".kml", ".kmz", ".zip", ".csv", ".xlsx", ".parquet", ".shp"]


@pytest.fixture
def server_gpkg(tmp_path: Path) -> Path:
    """A GeoPackage on the server, holding informants' names: what an attacker wants."""
    path = tmp_path / "server" / "agency.gpkg"
    path.parent.mkdir()
    sites(2, informant_name=[SECRET + "-NAME", SECRET + "-NAME2"],
          informant_contact=[SECRET + "-PHONE", SECRET + "-PHONE2"]).to_file(path, layer="mining_sites")
    return path


def _vrt(src: str) -> bytes:
    return (f'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>{src}</SrcDataSource>'
            "<SrcSQL>SELECT site_id, informant_name AS name, informant_contact AS notes, geom "
            "FROM mining_sites</SrcSQL></OGRVRTLayer></OGRVRTDataSource>").encode()


def _disguise(folder: Path, suffix: str, payload: bytes) -> Path:
    """``payload`` saved under an accepted extension, directly or as the member of an archive."""
    path = folder / f"mining_sites{suffix}"
    if suffix in (".zip", ".kmz"):
        member = {"zip": "mining_sites.shp", "kmz": "doc.kml"}[suffix[1:]]
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(member, payload)
            zf.writestr("mining_sites.vrt", payload)
    else:
        path.write_bytes(payload)
    return path


@pytest.mark.parametrize("suffix", ACCEPTED)
def test_vrt_disguised_as_an_accepted_file_is_refused(tmp_path: Path, server_gpkg: Path, suffix: str) -> None:
    upload = _disguise(tmp_path, suffix, _vrt(str(server_gpkg)))
    with pytest.raises(InputError) as caught:
        load_layer(upload, "mining_sites")
    assert SECRET not in str(caught.value)
    assert upload.name in str(caught.value)


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".zip", ".kml"])
def test_cli_import_of_a_disguised_vrt_stores_nothing(tmp_path: Path, server_gpkg: Path, suffix: str) -> None:
    upload = _disguise(tmp_path, suffix, _vrt(str(server_gpkg)))
    ws = tmp_path / "ws.gpkg"
    code, out, err = run("--workspace", str(ws), "import", str(upload), "--layer", "mining_sites")
    assert code == 2
    assert SECRET not in out + err
    assert not ws.exists()




@pytest.mark.parametrize("suffix", [".geojson", ".json", ".kml", ".zip", ".gpkg"])
def test_an_upload_cannot_make_the_server_call_a_url(tmp_path: Path, listener: tuple[str, list[str]],
                                                      suffix: str) -> None:
    base, seen = listener
    upload = _disguise(tmp_path, suffix, _vrt(f"/vsicurl/{base}/agency.gpkg"))
    with pytest.raises(InputError):
        load_layer(upload, "mining_sites")
    assert seen == []


def test_a_kml_network_link_is_not_followed(tmp_path: Path, listener: tuple[str, list[str]]) -> None:
    base, seen = listener
    kml = tmp_path / "mining_sites.kml"
    kml.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<NetworkLink><Link><href>{base}/more.kml</href></Link></NetworkLink>"
        "<Placemark><name>Site 1</name><ExtendedData><Data name=\"site_id\"><value>S1</value></Data>"
        "</ExtendedData><Point><coordinates>-1.99,5.30</coordinates></Point></Placemark>"
        "</Document></kml>")
    try:
        load_layer(kml, "mining_sites")
    except InputError:
        pass
    assert seen == []


def _gpkg_with_view(path: Path) -> None:
    """A GeoPackage whose ``mining_sites`` layer is an SQL view over a table of people."""
    sites(2, informant_name=[SECRET, SECRET]).to_file(path, layer="people")
    con = sqlite3.connect(path)
    con.execute("CREATE VIEW mining_sites AS SELECT fid, geom, site_id, informant_name AS name, "
                "status, uses_mercury, amalgamation FROM people")
    con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
                "VALUES ('mining_sites', 'features', 'mining_sites', 4326)")
    con.execute("INSERT INTO gpkg_geometry_columns VALUES ('mining_sites', 'geom', 'POINT', 4326, 0, 0)")
    con.commit()
    con.close()


def test_a_geopackage_view_is_refused(tmp_path: Path) -> None:
    upload = tmp_path / "mining_sites.gpkg"
    _gpkg_with_view(upload)
    before = digest(upload)
    with pytest.raises(InputError, match="view"):
        load_layer(upload, "mining_sites", source_layer="mining_sites")
    assert digest(upload) == before
    code, out, err = run("--workspace", str(tmp_path / "ws.gpkg"), "import", str(upload))
    assert code == 2 and SECRET not in out + err
    assert digest(upload) == before


def test_a_geopackage_upload_is_read_only_and_its_triggers_never_run(tmp_path: Path) -> None:
    upload = tmp_path / "mining_sites.gpkg"
    sites(3).to_file(upload, layer="mining_sites")
    con = sqlite3.connect(upload)
    con.execute("CREATE TABLE canary (hit TEXT)")
    for event in ("INSERT", "UPDATE", "DELETE"):
        con.execute(f"CREATE TRIGGER spy_{event.lower()} AFTER {event} ON mining_sites "
                    "BEGIN INSERT INTO canary VALUES ('fired'); END")
    con.commit()
    con.close()
    before = digest(upload)
    loaded = load_layer(upload, "mining_sites")
    assert len(loaded.gdf) == 3
    assert digest(upload) == before
    con = sqlite3.connect(f"file:{upload}?mode=ro", uri=True)
    assert con.execute("SELECT count(*) FROM canary").fetchone()[0] == 0
    con.close()


@pytest.mark.parametrize("suffix,payload", [
    (".geojson", b"SQLite format 3\x00" + b"\x00" * 200),
    (".gpkg", b'{"type": "FeatureCollection", "features": []}'),
    (".parquet", b'{"type": "FeatureCollection", "features": []}'),
    (".kml", b'{"type": "FeatureCollection", "features": []}'),
    (".xlsx", b"site_id,lon,lat\nS1,-1.99,5.30\n"),
    (".zip", b"PK\x05\x06" + b"\x00" * 18),
])
def test_content_that_disagrees_with_its_extension_is_refused(tmp_path: Path, suffix: str, payload: bytes) -> None:
    upload = tmp_path / f"mining_sites{suffix}"
    upload.write_bytes(payload)
    with pytest.raises(InputError) as caught:
        load_layer(upload, "mining_sites")
    assert upload.name in str(caught.value)


def test_a_zip_member_outside_the_shapefile_set_is_not_opened(tmp_path: Path, server_gpkg: Path) -> None:
    """A zipped Shapefile with an extra .vrt beside it reads the Shapefile only."""
    folder = tmp_path / "shp"
    folder.mkdir()
    sites(2).to_file(folder / "mining_sites.shp")
    upload = tmp_path / "mining_sites.zip"
    with zipfile.ZipFile(upload, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f.name)
        zf.writestr("aaa.vrt", _vrt(str(server_gpkg)))
    loaded = load_layer(upload, "mining_sites")
    assert sorted(loaded.gdf["site_id"]) == ["S1", "S2"]
    assert SECRET not in loaded.gdf.to_json()


def test_honest_files_of_every_kind_still_read(tmp_path: Path) -> None:
    frame = sites(2)
    frame.to_file(tmp_path / "a.geojson")
    frame.to_file(tmp_path / "b.gpkg", layer="mining_sites")
    frame.to_parquet(tmp_path / "c.parquet")
    frame.assign(lon=frame.geometry.x, lat=frame.geometry.y).drop(columns="geometry").to_csv(
        tmp_path / "d.csv", index=False)
    for name in ("a.geojson", "b.gpkg", "c.parquet", "d.csv"):
        got = load_layer(tmp_path / name, "mining_sites")
        assert sorted(got.gdf["site_id"]) == ["S1", "S2"], name
        assert shapely.equals_exact(got.gdf.geometry.iloc[0], gpd.GeoSeries(frame.geometry).iloc[0], 1e-9)
