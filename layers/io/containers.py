"""Checks of the container uploads before GDAL opens them: GeoPackage (SQLite) and zip archives.

- A GeoPackage is opened here with Python's sqlite3, read-only and immutable (no journal, no
  lock, nothing written, no trigger can fire), to check that it is one (GeoPackage application
  id, or a ``gpkg_contents`` table) and which of its layers are plain tables: an SQL view or a
  virtual table is never read as a layer, and GeoPackage system tables must be tables.
- A GeoPackage with a non-empty ``-wal`` file beside it (QGIS switches a file to WAL while one of
  its layers is in an edit session, and a save made while another layer is still being edited
  stays in the ``-wal``; a QGIS that died mid-session leaves it there) is read as SQLite reads it,
  the ``-wal``'s committed pages included (``with_wal``): immutable mode alone ignores the ``-wal``
  and reads the old rows. Nothing is opened for writing beside the user's file (a plain read-only
  open would create or write its ``-shm``, and fails on read-only media without one): the file
  and its ``-wal`` are copied into a private folder, and the copy, checkpointed into a
  self-contained file, is read immutable. A copy taken while a program wrote either file is taken
  again, and refused naming both files when they keep changing. Inside ``shared_copies`` (one import,
  one validation, one chunked read) every step reads the same copy, made once at the first step that
  needs it and deleted at the end: the table check, the layer listings and the reads all see the file
  as it was at that one moment.
- A .zip is read as a zipped Shapefile only: its .shp members must start with the .shp
  signature and have their .shx and .dbf beside them; any other member is never opened.
- A .kmz must hold one .kml (doc.kml, or a single .kml) whose bytes are returned for checking.
"""
from __future__ import annotations

import contextlib
import contextvars
import re
import shutil
import sqlite3
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
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
WAL_SUFFIX = "-wal"  # SQLite's write-ahead log beside a database in WAL mode
_COPY_TRIES = 5  # copies of a GeoPackage and its -wal taken while a program keeps writing them, then refused
USER_WAIT_S = 5.0  # how long a read of a user's GeoPackage waits for a program saving into it, seconds
LOCKED = ("the file is locked by another program saving into it (QGIS or another GIS, with an edit being saved);"
          f" HgWatch waited {USER_WAIT_S:g} s. Let it finish saving, or close its edit session, then try again")
_WAL_MODE = 2  # header bytes 18 and 19 (write and read format versions) of an SQLite database in WAL mode


@dataclass(frozen=True)
class Gpkg:
    """A GeoPackage upload's tables (``tables``) and its other schema objects by kind (``others``)."""

    tables: frozenset[str]
    others: dict[str, str]


def pending_wal(path: Path) -> Path | None:
    """The non-empty ``-wal`` file beside SQLite database ``path``, else None.

    SQLite reads such a file's committed pages as part of the database whatever the header's
    journal mode says (QGIS keeps there the edits saved during an edit session). Beside the file a
    symlink ``path`` leads to, as SQLite looks for it."""
    real = path.resolve()
    wal = real.with_name(real.name + WAL_SUFFIX)
    try:
        if wal.stat().st_size == 0:
            return None
    except FileNotFoundError:
        return None
    with path.open("rb") as fh:
        return wal if fh.read(len(SQLITE)) == SQLITE else None


class WalCopies:
    """The private copies ``with_wal`` made for one read, by the real path of the file copied;
    deleted on leaving the ``with`` block. ``active()`` makes ``with_wal`` use and keep them (see
    ``shared_copies``). Made inside a ``shared_copies`` block (a chunked read inside a whole ``check``),
    it reads and makes that block's copies, which live as long as it does."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._made: dict[Path, Path] = {}
        self._outer = _ACTIVE.get()

    def __enter__(self) -> WalCopies:
        return self

    def __exit__(self, *exc: object) -> None:
        self._made.clear()
        self._stack.close()

    @contextlib.contextmanager
    def active(self) -> Iterator[WalCopies]:
        """Inside, ``with_wal`` reads this object's copies (made at the first need). Not held across
        a ``yield`` of a generator: its caller would run inside it too."""
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    def get(self, path: Path) -> Path | None:
        return self._made.get(path.resolve()) or (None if self._outer is None else self._outer.get(path))

    def make(self, path: Path, name: str) -> Path:
        if self._outer is not None:
            return self._outer.make(path, name)
        copy = self._stack.enter_context(_private_copy(path, name))
        self._made[path.resolve()] = copy
        return copy


_ACTIVE: contextvars.ContextVar[WalCopies | None] = contextvars.ContextVar("hgwatch_wal_copies", default=None)


@contextlib.contextmanager
def shared_copies() -> Iterator[None]:
    """Inside, every read of one SQLite file with a ``-wal`` (``with_wal``) reads one private copy,
    made at the first read that needs it and deleted on leaving (an enclosing ``shared_copies``
    keeps them until it ends). Per thread and task (a context variable): another session's read
    never sees it. Around plain blocks only, never around a ``yield`` (``WalCopies.active``)."""
    if _ACTIVE.get() is not None:
        yield
        return
    with WalCopies() as copies, copies.active():
        yield


def shared_copy(path: Path) -> Path | None:
    """The private copy of ``path`` the enclosing ``shared_copies`` holds, else None."""
    copies = _ACTIVE.get()
    return None if copies is None else copies.get(path)


@contextlib.contextmanager
def with_wal(path: Path, name: str) -> Iterator[Path]:
    """SQLite database ``path`` as SQLite reads it, to be opened immutable: ``path`` itself, or,
    when a non-empty ``-wal`` is beside it, a private copy named ``name`` (in a temporary folder,
    deleted afterwards) into which the copied ``-wal``'s committed pages were checkpointed.
    Inside ``shared_copies``, the copy it holds of ``path`` (made now if it has none yet).
    Nothing is written beside ``path``. InputError naming both files when they cannot be copied,
    or kept changing while they were (a program saving into them)."""
    copies = _ACTIVE.get()
    held = None if copies is None else copies.get(path)
    if held is not None:
        yield held
        return
    if pending_wal(path) is None:
        yield path
        return
    if copies is not None:
        yield copies.make(path, name)
        return
    with _private_copy(path, name) as copy:
        yield copy


@contextlib.contextmanager
def _private_copy(path: Path, name: str) -> Iterator[Path]:
    """``path`` and its ``-wal`` copied into a temporary folder (deleted afterwards) as ``name``,
    the ``-wal``'s committed pages checkpointed into it (``with_wal``)."""
    with tempfile.TemporaryDirectory(prefix="hgwatch-") as folder:
        copy = Path(folder) / name
        wal = _copy_with_wal(path, copy)
        try:
            with contextlib.closing(sqlite3.connect(copy, isolation_level=None)) as con:
                mode = str(con.execute("PRAGMA journal_mode = DELETE").fetchone()[0])
        except sqlite3.Error as exc:
            mode = str(exc)
        if mode.lower() != "delete":
            raise InputError(f"{path.name}: cannot read the file with the edits saved in its {wal.name}: SQLite "
                             f"cannot apply them ({mode}); open it in QGIS and save, or close its edit session")
        yield copy


def _copy_with_wal(path: Path, copy: Path) -> Path:
    """Copy ``path`` and its ``-wal`` to ``copy`` and its ``-wal``, both as they were at one moment
    (neither file changed while they were copied); the ``-wal`` copied."""
    real = path.resolve()
    wal = real.with_name(real.name + WAL_SUFFIX)
    for _ in range(_COPY_TRIES):
        try:
            before = _states(real, wal)
            shutil.copyfile(real, copy)
            shutil.copyfile(wal, copy.with_name(copy.name + WAL_SUFFIX))
            if _states(real, wal) == before:
                return wal
        except FileNotFoundError:  # the -wal went (the program saved and closed it): copy again
            if pending_wal(path) is None:
                copy.with_name(copy.name + WAL_SUFFIX).unlink(missing_ok=True)
                shutil.copyfile(real, copy)
                return wal
        except OSError as exc:
            raise InputError(f"{path.name}: cannot read the file with its {wal.name}: {exc.strerror}") from None
    raise InputError(f"{path.name}: cannot read the file: a program kept saving into it and its {wal.name} while "
                     f"HgWatch copied them ({_COPY_TRIES} tries); let QGIS finish saving, or close its edit "
                     "session, and try again")


def upload_wal_note(name: str, data: bytes) -> list[Problem]:
    """A warning for GeoPackage ``name`` uploaded as its bytes alone (no ``-wal`` can come with it)
    when its header says WAL: edits saved in its ``-wal`` may be missing."""
    if not (data.startswith(SQLITE) and _WAL_MODE in data[18:20]):
        return []
    return [Problem(name, None, None, None, f"the file is in WAL mode (QGIS switches a GeoPackage to it while a layer "
                    f"is being edited): edits saved in its {name}{WAL_SUFFIX} file do not come with an upload and "
                    "may be missing; end the QGIS edit sessions on it (save, or stop editing) and upload it again, "
                    "or import it with `cli.py import` where it lies", "warning", kind="wal")]


def _states(*paths: Path) -> tuple[tuple[int, int, int], ...]:
    """(inode, size, modification time in ns) of each of ``paths``: any write changes one."""
    return tuple((st.st_ino, st.st_size, st.st_mtime_ns) for st in (p.stat() for p in paths))


def sniff_gpkg(path: Path, head: bytes) -> Gpkg:
    """Check that ``path`` is a GeoPackage whose system tables are tables, and that no program is
    saving into it (``not_being_saved``); read nothing else (the committed pages of a ``-wal`` beside
    it included: ``with_wal``)."""
    if not head.startswith(SQLITE):
        raise refuse(path, describe(head), "gpkg")
    not_being_saved(path, head)
    with with_wal(path, f"upload{path.suffix.lower()}") as source:
        return _sniff_tables(path, source, head)


def not_being_saved(path: Path, head: bytes) -> None:
    """Wait up to ``USER_WAIT_S`` for a program saving into the user's GeoPackage ``path`` (QGIS
    committing an edit, which keeps readers out while it writes its pages) to finish. InputError
    naming the file when it does not, or when a program stopped halfway through a save (its
    ``-journal`` is hot: the file holds part of that save until SQLite undoes it, which needs a write
    beside the user's file that HgWatch does not make; the file would otherwise be read half-saved).

    The file is read through SQLite read-only (its schema's first page, under SQLite's shared lock for
    that moment), never written. A file in WAL mode is not waited for: a writer there keeps no reader
    out, and its ``-wal`` is read from a copy (``with_wal``)."""
    if _WAL_MODE in head[18:20]:
        return
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=USER_WAIT_S)
    except sqlite3.Error:  # the checks that follow say what is wrong with it
        return
    try:
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:  # any other than these two: the checks that follow say what is wrong
        if "locked" in str(exc) or "busy" in str(exc):
            raise InputError(f"{path.name}: {LOCKED}") from None
        if "readonly" in str(exc):
            raise InputError(f"{path.name}: a program stopped halfway through saving into the file (its"
                             f" {path.name}-journal is still beside it), so the file holds part of that save."
                             " HgWatch does not change your file: open it once in QGIS (or any SQLite tool),"
                             " which undoes the unfinished save, then try again") from None
    finally:
        con.close()


def _sniff_tables(path: Path, source: Path, head: bytes) -> Gpkg:
    """``sniff_gpkg`` of ``path``, read from ``source`` (``path`` itself or its copy with its WAL)."""
    deadline = time.monotonic() + _SQL_SECONDS
    try:
        con = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
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
