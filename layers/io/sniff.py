"""Which reader may open an upload: the one that its extension AND its content agree on.

GDAL picks a driver from a file's content, whatever its name: a GDAL VRT (XML naming another
file, or a URL, to read) saved as ``mining_sites.geojson`` would be opened as VRT. So every
upload is checked here before any reader sees it, against an allow-list:

==================  ==========================================================================
extension           content required
==================  ==========================================================================
.geojson, .json     JSON whose top-level object is a FeatureCollection, a Feature or a geometry;
                    a ``crs`` member must name a CRS PROJ knows (read a block at a time:
                    ``layers.io.jsonscan``)
.gpkg               SQLite with a GeoPackage application_id or a ``gpkg_contents`` table
                    (``layers.io.containers``); views are refused as layers
.zip                a zipped Shapefile: .shp members with the .shp signature, and their .shx
                    and .dbf (``layers.io.containers``); other members are never opened
.parquet            ``PAR1`` at both ends
.kml                XML whose root element is ``kml``, without a DOCTYPE (no entities)
.kmz                a zip holding a .kml member that passes the .kml test
.csv, .txt          text that is not one of the formats above (read by pandas, never GDAL)
.xlsx               a zip (read by openpyxl, never GDAL)
==================  ==========================================================================

Anything else (a lone .shp, .xls, .vrt, .gml, ...) is refused with a message naming the file,
what its content looks like and what was expected. Nothing read through another driver is
ever shown: the messages describe the upload's own bytes.
"""
from __future__ import annotations

import codecs
import re
import xml.parsers.expat
from dataclasses import dataclass, field
from pathlib import Path

from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from geo.errors import CRSError, InputError, Problem
from layers.io import containers, jsonscan, textcheck
from layers.io.containers import Gpkg
from layers.io.signatures import EXPECTED, PARQUET, ZIP, describe, describe_binary, refuse

GEOJSON_TYPES = ("FeatureCollection", "Feature", "Point", "MultiPoint", "LineString", "MultiLineString",
                 "Polygon", "MultiPolygon", "GeometryCollection")
KINDS = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".zip": "shapefile",
         ".parquet": "parquet", ".geoparquet": "parquet", ".kml": "kml", ".kmz": "kmz",
         ".csv": "csv", ".txt": "csv", ".xlsx": "xlsx"}
_HEAD = 65536


@dataclass(frozen=True)
class Sniffed:
    """What an upload was found to be, and what its reader needs to know.

    kind : one of ``KINDS``' values.
    members : inside a .zip, the .shp members; inside a .kmz, its one .kml.
    crs_member : GeoJSON only: True when the file has a ``crs`` member (``crs`` is then its CRS).
    gpkg : GeoPackage only: its plain tables and its other schema objects.
    notes : warnings to show with the layer (zip members left unread, KML links not followed).
    """

    kind: str
    members: tuple[str, ...] = ()
    crs_member: bool = False
    crs: CRS | None = None
    gpkg: Gpkg | None = None
    notes: list[Problem] = field(default_factory=list)


class _Stop(Exception):
    """Raised from an expat handler to stop parsing."""


def sniff(path: Path) -> Sniffed:
    """Check ``path``'s content against its extension; refuse it (InputError, CRSError) otherwise."""
    suffix = path.suffix.lower()
    if suffix == ".shp":
        raise InputError(f"{path.name}: a Shapefile is several files; zip the .shp with its .shx, .dbf "
                         "and .prj and give the .zip")
    if suffix == ".xls":
        raise InputError(f"{path.name}: old Excel 97-2003 (.xls) workbooks are not read; "
                         "save it as .xlsx or .csv")
    if suffix not in KINDS:
        raise InputError(f"{path.name}: unknown file type {suffix!r}; expected one of: {', '.join(sorted(KINDS))}")
    if path.is_dir():
        raise InputError(f"{path.name}: is a directory, not a file; expected one {suffix} file")
    kind = KINDS[suffix]
    with path.open("rb") as f:
        head = f.read(_HEAD)
    if kind == "gpkg":
        return Sniffed(kind, gpkg=containers.sniff_gpkg(path, head))
    if kind == "shapefile":
        members, notes = containers.sniff_shapefile_zip(path, head)
        return Sniffed(kind, members, notes=notes)
    if kind == "kmz":
        member, data = containers.kml_in_kmz(path, head)
        return Sniffed(kind, (member,), notes=_check_kml(path, data, f"its member {member!r}"))
    if kind == "kml":
        return Sniffed(kind, notes=_check_kml(path, path.read_bytes()))
    if kind == "geojson":
        return _check_geojson(path, head)
    if kind == "parquet":
        with path.open("rb") as f:
            f.seek(max(0, path.stat().st_size - 4))
            tail = f.read(4)
        if not (head.startswith(PARQUET) and tail == PARQUET and len(head) >= 8):
            raise refuse(path, describe(head), kind)
        return Sniffed(kind)
    if kind == "xlsx":
        if not head.startswith(ZIP):
            raise refuse(path, describe(head), kind)
        return Sniffed(kind)
    looks = describe(head)  # csv: any text but the formats above
    if describe_binary(head) or looks.startswith(("XML", "a GDAL", "JSON")):
        raise refuse(path, looks, kind)
    return Sniffed(kind)


def _check_geojson(path: Path, head: bytes) -> Sniffed:
    """The GeoJSON ``path``'s top-level type and CRS, checked; the whole file read as JSON in bounded
    memory (``jsonscan``: a block at a time, never the document as Python objects)."""
    try:
        top = jsonscan.scan(path, ("type", "crs"))
    except jsonscan.TooDeep:
        raise refuse(path, f"JSON nested too deeply to read (more than {jsonscan.MAX_DEPTH} levels)",
                     "geojson") from None
    except (jsonscan.NotUTF8, jsonscan.NotJSON) as exc:
        if isinstance(exc, jsonscan.NotUTF8):  # UTF-16 (which json.loads read, and GDAL did not) named
            found = None if describe_binary(head) else textcheck.not_utf8(path)
            if found is not None:  # Latin-1 text: where, and what to do
                raise InputError(f"{path.name}: cannot read the file: "
                                 f"{textcheck.message(found, textcheck.ADVICE['geojson'])}") from None
            raise refuse(path, describe_binary(head) or "text that is not UTF-8", "geojson") from None
        if not describe(head).startswith("JSON"):
            raise refuse(path, describe(head), "geojson") from None
        raise InputError(f"{path.name}: cannot read the file: Failed to read GeoJSON data: it is not valid "
                         f"JSON: {exc.reason} at line {exc.line}, column {exc.column}, near {exc.near!r}; "
                         f"expected {EXPECTED['geojson']}") from None
    kind = top.members.get("type")
    if kind not in GEOJSON_TYPES:
        what = (f'JSON whose top-level "type" is {str(kind)[:40]!r}' if "type" in top.members
                else 'JSON without a top-level "type"' if top.kind == "object" else "a JSON list or value")
        raise refuse(path, what, "geojson")
    if "crs" not in top.members or top.members["crs"] is None:
        return Sniffed("geojson")
    return Sniffed("geojson", crs_member=True, crs=_geojson_crs(path, top.members["crs"]))


def _geojson_crs(path: Path, member: object) -> CRS:
    """The CRS a GeoJSON ``crs`` member names; refused when it is a link or a code PROJ does not know."""
    props = member.get("properties") if isinstance(member, dict) else None
    name = props.get("name") if isinstance(props, dict) else None
    expected = ("expected a named CRS PROJ knows, e.g. {\"type\": \"name\", \"properties\": {\"name\": "
                "\"urn:ogc:def:crs:EPSG::32630\"}}, or no 'crs' member for longitude/latitude (WGS84)")
    if not isinstance(member, dict) or member.get("type") != "name" or not isinstance(name, str):
        kind = member.get("type") if isinstance(member, dict) else None
        raise CRSError(f"{path.name}: its 'crs' member is not a named CRS (type {str(kind)[:30]!r}); "
                       f"linked or unnamed CRSs are not read; {expected}")
    shown = name[:80]
    if "://" in name and not name.split("://", 1)[1].startswith("www.opengis.net/def/crs/"):
        raise CRSError(f"{path.name}: its 'crs' member names {shown!r}, a URL; URLs are never fetched; {expected}")
    try:
        return CRS.from_user_input(name)
    except ProjCRSError:
        raise CRSError(f"{path.name}: its 'crs' member names {shown!r}, a CRS PROJ does not know; "
                       f"{expected}") from None


def _check_kml(path: Path, data: bytes, part: str = "its content") -> list[Problem]:
    """Refuse ``data`` unless it is XML with root <kml> and no DOCTYPE; note links not followed."""
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    names: dict[str, int] = {}  # the root's local name first, then how many NetworkLinks

    def start(name: str, _attrs: object) -> None:
        local = name.rsplit(" ", 1)[-1]
        if not names and local != "kml":
            raise _Stop
        names[local] = names.get(local, 0) + 1

    def doctype(*_args: object) -> None:
        raise InputError(f"{path.name}: cannot read the file: it declares a DOCTYPE (entities, or a DTD "
                         "to fetch); expected KML without one, as Google Earth and QGIS write it")

    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    try:
        parser.Parse(data, True)
    except _Stop:
        raise refuse(path, describe(data[:_HEAD]), "kml", part=part) from None
    except (xml.parsers.expat.ExpatError, ValueError) as exc:
        found = textcheck.not_utf8(data) if _declared_utf8(data) else None
        if found is not None:  # a Latin-1 name in a file that says (or by default is) UTF-8: where, what to do
            inside = "" if part == "its content" else f"{part}: "
            raise InputError(f"{path.name}: cannot read the file: {inside}"
                             f"{textcheck.message(found, textcheck.ADVICE['kml'])}") from None
        if not names:
            raise refuse(path, describe(data[:_HEAD]), "kml", part=part) from None
        raise InputError(f"{path.name}: cannot read the file: it is not well-formed XML ({exc}); "
                         f"expected {EXPECTED['kml']}") from None
    if not names:
        raise refuse(path, describe(data[:_HEAD]), "kml", part=part)
    links = names.get("NetworkLink", 0)
    if not links:
        return []
    return [Problem(path.name, None, None, None, f"{links} NetworkLink(s) to other KML were not followed; "
                    "only the placemarks in this file were read", "warning", kind="link")]


def _declared_utf8(data: bytes) -> bool:
    """Whether XML ``data`` is UTF-8 by its declaration (none, or ``encoding="UTF-8"``): a file that
    declares another encoding is read in it, and its errors are XML's."""
    if not data.lstrip(codecs.BOM_UTF8).startswith(b"<?xml"):
        return True
    declared = re.search(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""", data[:data.find(b"?>") + 1])
    return declared is None or declared.group(1).lower().replace(b"_", b"-") in (b"utf-8", b"utf8")
