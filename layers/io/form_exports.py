"""A form export as the server wrote it: its table as text cells, and the media a ZIP carries.

ODK Central's CSV or "all data and media" ZIP (the form's CSV, the shortest CSV name, and
``media/``; repeat-group CSVs are not read), KoBoToolbox's CSV or XLSX (the first sheet; repeat
groups are in further sheets). A CSV is UTF-8 with or without a byte-order mark, ``,`` or ``;``
between values. Sizes are bounded whatever a ZIP's headers claim. A file that cannot be read is
an ``InputError`` naming it; nothing else is raised for any input. Which column holds which
question is ``layers.io.submission_layout``; the values are read by ``layers.io.submissions``.
"""
from __future__ import annotations

import csv
import io
import math
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from geo.errors import InputError
from layers.io import tables, textcheck
from layers.io.signatures import ZIP

MAX_TABLE_BYTES = 256 * 2**20   # the export's table, inside or outside a ZIP
MAX_PHOTO_BYTES = 64 * 2**20    # one photo from a ZIP's media
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, OSError,
               zlib.error, ValueError, KeyError)


@dataclass
class Export:
    """An export's table as text cells, and the photos it can supply (None: it carries no media)."""

    source: str
    header: list[str]
    rows: list[list[str]]
    media: zipfile.ZipFile | None = None
    by_name: dict[str, zipfile.ZipInfo] = field(default_factory=dict)  # a ZIP member by its file name


def read_export(path: Path) -> Export:
    """The table (and, for a ZIP, the media) of the export ``path``; the caller closes ``media``."""
    suffix = path.suffix.lower()
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "no such file"
        raise InputError(f"{path}: {what}; expected an ODK Central CSV or ZIP, or a KoBoToolbox CSV or XLSX")
    with path.open("rb") as f:
        head = f.read(8)
    if suffix in (".zip", ".xlsx") and not head.startswith(ZIP):
        raise InputError(f"{path.name}: is not a zip archive, which a {suffix} file is; "
                         "expected the file as the server exported it")
    if suffix == ".zip":
        return _read_zip(path)
    if suffix == ".xlsx":
        return _read_xlsx(path)
    if suffix in (".csv", ".txt"):
        if path.stat().st_size > MAX_TABLE_BYTES:
            raise InputError(f"{path.name}: is larger than {MAX_TABLE_BYTES // 2**20} MiB; expected one form's export")
        header, rows = _csv_rows(path.name, path.read_bytes())
        return Export(path.name, header, rows)
    raise InputError(f"{path.name}: unknown file type {suffix!r}; expected an ODK Central .csv or .zip "
                     "(with media), or a KoBoToolbox .csv or .xlsx export")


def _csv_rows(source: str, data: bytes) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of CSV ``data`` (UTF-8, BOM or not, ``,`` or ``;`` between values)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        found = textcheck.not_utf8(data)
        assert found is not None  # what failed to decode
        advice = ("Download the CSV from the server again (it exports UTF-8; a spreadsheet that saved it again "
                  f"changed it), or {textcheck.ADVICE['csv'][0].lower()}{textcheck.ADVICE['csv'][1:]}")
        raise InputError(f"{source}: {textcheck.message(found, advice)}") from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise InputError(f"{source}: cannot read the file as CSV ({exc}); expected the CSV as the server "
                         "exported it") from None
    if not rows:
        raise InputError(f"{source}: is empty; expected a header row and one row per submission")
    return rows[0], rows[1:]


def _read_xlsx(path: Path) -> Export:
    """The first sheet of a KoBoToolbox workbook (repeat groups are in further sheets, not read)."""
    try:
        names = tables.sheet_names(path)
        if not names:
            raise InputError(f"{path.name}: holds no worksheet; expected KoBoToolbox's XLSX export")
        frame, problems = tables.read_xlsx(path, names[0])
    except _ZIP_ERRORS as exc:  # openpyxl lets a damaged zip's own errors through
        raise InputError(f"{path.name}: cannot read the file as an Excel workbook ({exc}); "
                         "expected KoBoToolbox's XLSX export") from None
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(f"{path.name}: cannot be read as a form export", errors)
    rows = [[_cell_text(v) for v in record] for record in frame.itertuples(index=False, name=None)]
    return Export(path.name, [_cell_text(c) for c in frame.columns], rows)


def _cell_text(value: object) -> str:
    """A workbook cell as the text a CSV export would hold."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value)


def _read_zip(path: Path) -> Export:
    """ODK Central's "all data and media" ZIP: the form's CSV (the shortest CSV name) and ``media/``."""
    try:
        archive = zipfile.ZipFile(path)
    except _ZIP_ERRORS as exc:
        raise InputError(f"{path.name}: cannot read the zip archive ({exc}); expected ODK Central's ZIP export") from None
    try:
        tables_in = sorted((i for i in archive.infolist() if i.filename.lower().endswith(".csv") and not i.is_dir()),
                           key=lambda i: (len(i.filename), i.filename))
        if not tables_in:
            raise InputError(f"{path.name}: holds no .csv; expected ODK Central's ZIP export (the form's CSV and media/)")
        main = tables_in[0]
        data = _member(path.name, archive, main, MAX_TABLE_BYTES)
        header, rows = _csv_rows(f"{path.name}:{main.filename}", data)
    except BaseException:
        archive.close()
        raise
    return Export(path.name, header, rows, archive)


def _member(source: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes, refused beyond ``limit`` (whatever size its header claims)."""
    if info.file_size > limit:
        raise InputError(f"{source}: its member {info.filename!r} is larger than {limit // 2**20} MiB")
    try:
        with archive.open(info) as f:
            data = f.read(limit + 1)
    except _ZIP_ERRORS as exc:
        raise InputError(f"{source}: cannot read its member {info.filename!r} ({exc})") from None
    if len(data) > limit:
        raise InputError(f"{source}: its member {info.filename!r} is larger than {limit // 2**20} MiB")
    return data


def media_file(export: Export, name: str) -> bytes | None:
    """The member of the ZIP's media named ``name`` (``media/`` first, then any folder); None when absent.

    Raises
    ------
    InputError
        The member cannot be read or is larger than ``MAX_PHOTO_BYTES``.
    """
    if export.media is None:
        return None
    if not export.by_name:  # once per export: media/ first, then any folder, in name order
        infos = sorted((i for i in export.media.infolist() if not i.is_dir()),
                       key=lambda i: (not i.filename.startswith("media/"), i.filename))
        for info in reversed(infos):
            export.by_name[info.filename.rsplit("/", 1)[-1]] = info
    found = export.by_name.get(name)
    return None if found is None else _member(export.source, export.media, found, MAX_PHOTO_BYTES)
