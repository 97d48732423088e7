"""Checks of the container uploads before GDAL opens them: GeoPackage (SQLite) and zip archives.

- A GeoPackage is opened here with Python's sqlite3, read-only and immutable (no journal, no
  lock, nothing written, no trigger can fire), to check that it is one (GeoPackage application
  id, or a ``gpkg_contents`` table) and which of its layers are plain tables: an SQL view or a
  virtual table is never read as a layer, and GeoPackage system tables must be tables.
- A .zip is read as a zipped Shapefile only: its .shp members must start with the .shp
  signature and have their .shx and .dbf beside them; any other member is never opened.
- A .kmz must hold one .kml (doc.kml, or a single .kml) whose bytes are returned for checking.
"""
from __future__ import annotations

import re
import sqlite3
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from geo.errors import InputError, Problem
from layers.io.signatures import SHP, SQLITE, ZIP, describe, refuse

GPKG_IDS = (b"GPKG", b"GP10", b"GP11")  # application_id at byte 68 of the SQLite header
# What GDAL may read beside a .shp: the Shapefile set and its harmless sidecars.
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".sbn", ".sbx", ".qix", ".fix", ".atx",
                   ".aih", ".ain", ".ixs", ".mxs", ".qpj", ".qmd", ".qml", ".shp.xml")
ZIP_ERRORS: tuple[type[Exception], ...] = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError,
                                           OSError, ValueError)
_MEMBER = re.compile(r"[\w .,()+@~&'=-]+(/[\w .,()+@~&'=-]+)*")
_MAX_KML = 512 * 2 ** 20  # bytes: a larger doc.kml is refused rather than inflated
_SQL_SECONDS = 10.0


@dataclass(frozen=True)
class Gpkg:
    """A GeoPackage upload's tables (``tables``) and its other schema objects by kind (``others``)."""

    tables: frozenset[str]
    others: dict[str, str]


def sniff_gpkg(path: Path, head: bytes) -> Gpkg:
    """Check that ``path`` is a GeoPackage whose system tables are tables; read nothing else."""
    if not head.startswith(SQLITE):
        raise refuse(path, describe(head), "gpkg")
    deadline = time.monotonic() + _SQL_SECONDS
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        raise InputError(f"{path.name}: cannot read the file: SQLite cannot open it ({exc})") from None
    try:
        con.set_progress_handler(lambda: int(time.monotonic() > deadline), 10000)
        rows = con.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
        tables = {str(n) for t, n, sql in rows if t == "table" and not str(sql or "").upper().lstrip()
                  .startswith("CREATE VIRTUAL")}
        others = {str(n): ("an SQL view" if t == "view" else "a virtual table")
                  for t, n, _ in rows if t in ("view", "table") and str(n) not in tables}
        if head[68:72] not in GPKG_IDS and "gpkg_contents" not in tables:
            raise InputError(f"{path.name}: cannot read the file: it is an SQLite database but not a "
                             "GeoPackage (no GeoPackage application id, no gpkg_contents table); expected "
                             "a GeoPackage as QGIS or GDAL write it")
        system = sorted(n for n in others if n.lower().startswith("gpkg_"))
        if system:
            raise InputError(f"{path.name}: cannot read the file: its GeoPackage table {system[0]!r} is "
                             f"{others[system[0]]}, not a table; expected a GeoPackage as QGIS or GDAL write it")
    except sqlite3.Error as exc:
        raise InputError(f"{path.name}: cannot read the file: SQLite cannot read it ({exc})") from None
    finally:
        con.close()
    return Gpkg(frozenset(tables), others)


def check_gpkg_layer(path: Path, gpkg: Gpkg, layer: str) -> None:
    """Refuse reading ``layer`` unless it is a plain table (a view runs SQL over other tables)."""
    if layer in gpkg.tables:
        return
    kind = gpkg.others.get(layer, "not a table of the file")
    raise InputError(f"{path.name}: layer {layer!r} is {kind}, not a table; HgWatch reads only tables from "
                     "a GeoPackage (an SQL view is a query over other tables). Save the layer as a table, "
                     "e.g. with QGIS 'Export > Save Features As'")


def _members(path: Path, head: bytes, kind: str) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """The open archive and its file members (no folders, no macOS '__MACOSX/' or '._' copies)."""
    if not head.startswith(ZIP):
        raise refuse(path, describe(head), kind)
    try:
        archive = zipfile.ZipFile(path)
    except ZIP_ERRORS as exc:
        raise InputError(f"{path.name}: cannot read the file: it is not a readable zip archive ({exc})") from None
    infos = [i for i in archive.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")
             and not PurePosixPath(i.filename).name.startswith("._")]
    return archive, infos


def _member_ok(path: Path, info: zipfile.ZipInfo) -> None:
    name = info.filename
    if not _MEMBER.fullmatch(name) or any(part in (".", "..") for part in name.split("/")):
        raise InputError(f"{path.name}: cannot read the file: its member name {name[:80]!r} has characters "
                         "HgWatch does not open; rename it with letters, digits, spaces, '.', '-' or '_'")
    if info.flag_bits & 0x1:
        raise InputError(f"{path.name}: cannot read the file: its member {name!r} is encrypted; zip it "
                         "without a password")


def _read(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, size: int) -> bytes:
    try:
        with archive.open(info) as f:
            return f.read(size)
    except ZIP_ERRORS as exc:
        raise InputError(f"{path.name}: cannot read the file: its member {info.filename!r} is damaged "
                         f"({exc})") from None


def sniff_shapefile_zip(path: Path, head: bytes) -> tuple[tuple[str, ...], list[Problem]]:
    """The .shp members of a zipped Shapefile, and a warning naming the members left unread."""
    archive, infos = _members(path, head, "shapefile")
    with archive:
        names = [i.filename for i in infos]
        shps = [i for i in infos if i.filename.lower().endswith(".shp")]
        if not shps:
            raise InputError(f"{path.name}: cannot read the file: it holds no Shapefile (.shp) but "
                             f"{names[:8]}; expected a zipped Shapefile: the .shp with its .shx, .dbf and .prj")
        lower = {n.lower() for n in names}
        for info in shps:
            _member_ok(path, info)
            first = _read(path, archive, info, 4096)
            if not first.startswith(SHP):
                raise refuse(path, describe(first), "shapefile", part=f"its member {info.filename!r}")
            stem = info.filename[:-4].lower()
            lacking = [stem + ext for ext in (".shx", ".dbf") if stem + ext not in lower]
            if lacking:
                raise InputError(f"{path.name}: cannot read the file: {info.filename!r} comes without "
                                 f"{lacking}; zip the .shp with its .shx, .dbf and .prj")
    stems = [i.filename[:-4].lower() for i in shps]
    unread = [n for n in names if not any(n.lower() == s + part for s in stems for part in SHAPEFILE_PARTS)]
    notes = [Problem(path.name, None, None, None, f"zip member(s) {unread[:8]} are not part of a Shapefile "
                     "and were not opened", "warning", kind="zip")] if unread else []
    return tuple(i.filename for i in shps), notes


def kml_in_kmz(path: Path, head: bytes) -> tuple[str, bytes]:
    """The name and bytes of a KMZ's KML: doc.kml, else its only .kml."""
    archive, infos = _members(path, head, "kmz")
    with archive:
        kmls = [i for i in infos if i.filename.lower().endswith(".kml")]
        root = [i for i in kmls if i.filename.lower() == "doc.kml"]
        if not kmls:
            raise InputError(f"{path.name}: cannot read the file: it holds no .kml but "
                             f"{[i.filename for i in infos][:8]}; expected a KMZ holding doc.kml")
        if not root and len(kmls) > 1:
            raise InputError(f"{path.name}: cannot read the file: it holds several KML files "
                             f"{[i.filename for i in kmls][:8]} and no doc.kml; expected one")
        info = (root or kmls)[0]
        _member_ok(path, info)
        if info.file_size > _MAX_KML:
            raise InputError(f"{path.name}: cannot read the file: its {info.filename!r} inflates to "
                             f"{info.file_size} bytes; HgWatch reads a KML of at most {_MAX_KML} bytes")
        return info.filename, _read(path, archive, info, _MAX_KML + 1)
