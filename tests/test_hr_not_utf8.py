"""A file that is not UTF-8 is told by line and column, with the bytes found and what to do (HR, session 19).

Found: a CSV saved by Excel as 'CSV (Comma delimited)' (Windows-1252: 'São José' as the bytes 0xE3 and 0xE9)
was refused naming "byte b'\\xe3' at position 52", a GeoJSON as "text that is not UTF-8, not what its extension
says", a KML as "not well-formed XML (invalid token)", and a form export as "byte 49". The bytes here are real
Windows-1252, as Python's cp1252 codec (the one Excel's export uses) writes them.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

import cli
from geo.errors import InputError
from layers.io.form_exports import read_export
from layers.io.readers import load_layer
from layers.io.textcheck import not_utf8

NAME = "São José"
SAY = "'B,São José,active,-1.5,6.8'"


def _refusal(path: Path, layer: str = "mining_sites") -> str:
    with pytest.raises(InputError) as refused:
        load_layer(path, layer)
    return str(refused.value)


def test_an_excel_csv_names_line_column_bytes_and_how_to_save_it(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sites.csv"
    path.write_bytes(f"site_id,name,status,lon,lat\nA,Ok,active,-1.6,6.7\nB,{NAME},active,-1.5,6.8\n".encode("cp1252"))
    said = _refusal(path)
    assert said.startswith("sites.csv: cannot read the file: it is not UTF-8 text: line 3, column 4 holds the "
                           "byte 0xE3, which UTF-8 cannot read (the line reads 'B,S[0xE3]o Jos[0xE9],active,-1.5,6.8')")
    assert f"it would say {SAY}" in said
    assert "'CSV UTF-8 (Comma delimited) (*.csv)'" in said and "position" not in said
    assert cli.main(["validate", str(path), "--layer", "mining_sites"]) == 1
    out = capsys.readouterr().out
    assert "line 3, column 4 holds the byte 0xE3" in out and "Traceback" not in out


def test_the_place_is_found_far_into_a_large_file(tmp_path: Path) -> None:
    """Past pandas' and textcheck's own blocks: line and column count from the file's start, a BOM not counted."""
    path = tmp_path / "sites.csv"
    good = "".join(f"S{i},Nome {i},active,-1.6,6.7\n" for i in range(60_000))  # about 1.8 MB
    path.write_bytes(b"\xef\xbb\xbf" + b"site_id,name,status,lon,lat\n" + good.encode()
                     + f"B,Vila {NAME},active,-1.5,6.8\n".encode("cp1252"))
    said = _refusal(path)
    assert "line 60002, column 9 holds the byte 0xE3" in said
    found = not_utf8(path)
    assert found is not None and (found.line, found.column, found.found) == (60002, 9, b"\xe3")


def test_a_utf8_file_has_no_such_place(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_bytes(("x\n" * 10 + NAME).encode())
    assert not_utf8(path) is None
    two = "é".encode()  # a character cut between two blocks is not an error
    assert not_utf8((b"a" * ((1 << 20) - 1)) + two) is None


def test_a_latin1_geojson_is_told_where_whole_and_in_chunks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mining_sites.geojson"
    feature = {"type": "Feature", "properties": {"site_id": "B", "name": NAME}, "geometry":
               {"type": "Point", "coordinates": [-1.5, 6.8]}}
    path.write_bytes(('{"type": "FeatureCollection", "features": [\n' + json.dumps(feature, ensure_ascii=False)
                      + "\n]}\n").encode("cp1252"))
    said = _refusal(path)
    assert "cannot read the file: it is not UTF-8 text: line 2, column 62 holds the byte 0xE3" in said
    assert '"name": "São José"' in said and "RFC 7946" in said
    ws = tmp_path / "ws.gpkg"
    assert cli.main(["--workspace", str(ws), "import", str(path), "--chunk-rows", "1"]) == 2
    assert "line 2, column 62 holds the byte 0xE3" in capsys.readouterr().err
    utf16 = tmp_path / "utf16.geojson"  # UTF-16 is still named as such
    utf16.write_bytes(path.read_bytes().decode("cp1252").encode("utf-16"))
    assert "UTF-16 text (save it as UTF-8)" in _refusal(utf16)


def test_a_latin1_kml_is_told_where_unless_it_declares_its_encoding(tmp_path: Path) -> None:
    body = (f'<kml xmlns="http://www.opengis.net/kml/2.2"><Document>\n<Placemark><name>{NAME}</name>'
            "<Point><coordinates>-1.5,6.8</coordinates></Point></Placemark>\n</Document></kml>\n")
    path = tmp_path / "sites.kml"
    path.write_bytes(('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("cp1252"))
    said = _refusal(path)
    assert "it is not UTF-8 text: line 3, column 19 holds the byte 0xE3" in said
    assert "<name>São José</name>" in said and 'encoding="ISO-8859-1"' in said
    kmz = tmp_path / "sites.kmz"
    with zipfile.ZipFile(kmz, "w") as z:
        z.writestr("doc.kml", path.read_bytes())
    assert "its member 'doc.kml': it is not UTF-8 text: line 3, column 19" in _refusal(kmz)
    declared = tmp_path / "declared.kml"  # what the message offers: the encoding named, the file is read
    declared.write_bytes(('<?xml version="1.0" encoding="ISO-8859-1"?>\n' + body).encode("cp1252"))
    assert list(load_layer(declared, "mining_sites").gdf["name"]) == [NAME]


def test_a_form_export_saved_again_by_a_spreadsheet(tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    path.write_bytes(f"KEY,site_id,notes\nuuid:1,A,ok\nuuid:2,B,{NAME}\n".encode("cp1252"))
    with pytest.raises(InputError) as refused:
        read_export(path)
    said = str(refused.value)
    assert said.startswith("visits.csv: it is not UTF-8 text: line 3, column 11 holds the byte 0xE3")
    assert "Download the CSV from the server again" in said and "(byte" not in said
