"""What a file's first bytes say it is, in words a message can use, and the refusal that names it.

Used by ``layers.io.sniff`` and ``layers.io.containers``: they compare what an upload's
extension promises with what its content is, and refuse the upload when the two disagree.
The description is made from the upload's own bytes only (never from anything a driver read).
"""
from __future__ import annotations

import xml.parsers.expat
from pathlib import Path

from geo.errors import InputError

SQLITE = b"SQLite format 3\x00"
ZIP = (b"PK\x03\x04", b"PK\x05\x06")
PARQUET = b"PAR1"
SHP = b"\x00\x00\x27\x0a"  # the file code 9994 that starts a .shp and a .shx
_BINARY = ((SQLITE, "an SQLite database"), (ZIP[0], "a zip archive"), (ZIP[1], "a zip archive"),
           (PARQUET, "a Parquet file"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office (OLE2) document"),
           (SHP, "a Shapefile .shp"), (b"%PDF", "a PDF document"), (b"\x1f\x8b", "gzip-compressed data"),
           (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
           (b"\xff\xfe", "UTF-16 text (save it as UTF-8)"), (b"\xfe\xff", "UTF-16 text (save it as UTF-8)"))
EXPECTED = {
    "geojson": "GeoJSON: JSON text whose top-level object is a FeatureCollection, a Feature or a geometry",
    "gpkg": "a GeoPackage (an SQLite database with GeoPackage tables, as QGIS or GDAL write it)",
    "shapefile": "a zipped Shapefile: a .zip holding the .shp with its .shx, .dbf and .prj",
    "parquet": "GeoParquet: a Parquet file (starting and ending with PAR1)",
    "kml": "KML: XML whose root element is <kml>",
    "kmz": "KMZ: a zip archive holding one .kml (doc.kml)",
    "csv": "CSV text: a header line such as site_id,lat,lon and one line per record",
    "xlsx": "an Excel workbook (.xlsx, a zip of XML parts)",
}


class _Stop(Exception):
    """Raised from an expat handler to stop parsing."""


def refuse(path: Path, looks: str, kind: str, *, part: str = "its content") -> InputError:
    """'<file>: cannot read the file: its content looks like <looks>, not ...; expected <kind's format>'."""
    return InputError(f"{path.name}: cannot read the file: {part} looks like {looks}, not what its "
                      f"extension says; expected {EXPECTED.get(kind, kind)}")


def describe_binary(head: bytes) -> str | None:
    """The name of a binary format ``head`` starts with ('a zip archive'), else None."""
    for magic, name in _BINARY:
        if head.startswith(magic):
            return name
    return "binary data" if b"\x00" in head[:512] else None


def describe(head: bytes) -> str:
    """What the first bytes of a file look like: 'a GDAL virtual dataset (VRT ...)', 'JSON text', ..."""
    binary = describe_binary(head)
    if binary:
        return binary
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if text.startswith("<"):
        root = xml_root(head)
        if root == "OGRVRTDataSource":
            return "a GDAL virtual dataset (VRT: XML whose root element is <OGRVRTDataSource>)"
        return f"XML whose root element is <{root}>" if root else "XML or HTML text"
    if text.startswith(("{", "[")):
        return "JSON text"
    return "text"


def xml_root(data: bytes) -> str | None:
    """The local name of the root element of XML ``data`` (cut at 60 characters), else None.

    Parsing stops at a DOCTYPE (None) or at the root's start tag: no entity is ever expanded.
    """
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    found: list[str] = []

    def start(name: str, _attrs: object) -> None:
        found.append(name.rsplit(" ", 1)[-1][:60])
        raise _Stop

    def doctype(*_args: object) -> None:
        raise _Stop  # entities: not expanded, not described

    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(data, True)
    except (_Stop, xml.parsers.expat.ExpatError, ValueError):
        pass
    return found[0] if found else None
