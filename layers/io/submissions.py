"""Field submissions as the servers export them: ODK Central's CSV or ZIP with media, KoBoToolbox's CSV or XLSX.

The files are read as-is (which column holds which question: ``layers.io.submission_layout``).
A CSV may be comma- or semicolon-separated and may start with a UTF-8 byte-order mark. An ODK
Central ZIP holds the form's CSV (repeat groups in further CSVs, not read) and ``media/`` with
the photos; a photo is looked up by the file name its row gives, and only those members are read.

Every bad value is a ``Problem`` naming the file, the data row (1-based), the column, the value
and what was expected; the row's submission is then left out. A file that cannot be read at all
is an ``InputError``, and nothing else is ever raised for any input.
"""
from __future__ import annotations

import csv
import io
import math
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from geo.errors import InputError, Problem
from layers.io import tables
from layers.io.signatures import ZIP
from layers.io.submission_layout import OUTCOMES, POINT, REJECTED, Layout, layout

MAX_TABLE_BYTES = 256 * 2**20   # the export's table, inside or outside a ZIP
MAX_PHOTO_BYTES = 64 * 2**20    # one photo from a ZIP's media
Cell = Callable[[str], str]            # part -> the row's stripped text for it
Report = Callable[..., None]           # (part, value, expected, kind, severity) -> record a Problem
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, OSError,
               zlib.error, ValueError, KeyError)


@dataclass(frozen=True)
class Submission:
    """One field submission, as read from an ODK Central or KoBoToolbox export (any layout in issue 12)."""
    key: str                      # meta-instanceID (ODK) or _uuid (KoBo): makes re-import idempotent
    violation_id: str
    outcome: str                  # confirmed | false_positive | not_accessible | remediated (H4 validates transitions)
    reason: str | None
    visited_at: datetime | None   # timezone-aware UTC
    lat: float | None             # WGS84 degrees
    lon: float | None
    accuracy_m: float | None
    notes: str | None
    submitter: str | None         # SubmitterName / _submitted_by
    photos: tuple[tuple[str, bytes], ...]   # (file name, bytes) from the ZIP's media; () when none
    source: str                   # file name
    row: int                      # 1-based data row in the file, for messages


@dataclass
class _Export:
    """An export's table as text cells, and the photos it can supply (None: it carries no media)."""

    source: str
    header: list[str]
    rows: list[list[str]]
    media: zipfile.ZipFile | None = None


def read_submissions(path: Path) -> tuple[list[Submission], list[Problem]]:
    """The submissions in the export ``path`` and every problem found in it.

    Parameters
    ----------
    path : an ODK Central ``.csv`` or ``.zip`` (with media), or a KoBoToolbox ``.csv`` or ``.xlsx``.

    Returns
    -------
    The good rows as submissions, in file order, and one problem per bad value (rows with an
    error are left out; a row a reviewer rejected on the server is left out with a warning).
    """
    path = Path(path)
    export = _read_export(path)
    try:
        found = layout(export.source, export.header)
        submissions: list[Submission] = []
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        for number, cells in enumerate(export.rows, start=1):
            if not any(c.strip() for c in cells):
                continue
            key = cells[found.columns["key"]].strip() if found.columns["key"] < len(cells) else ""
            if key and key in seen:
                problems.append(Problem(export.source, number, found.name("key"), key,
                                        f"a key used once; row {seen[key]} has the same key", kind="duplicate"))
                continue
            seen[key] = number
            submission, row_problems = _submission(export, found, number, cells)
            problems += row_problems
            if submission is not None:
                submissions.append(submission)
        return submissions, problems
    finally:
        if export.media is not None:
            export.media.close()


def _read_export(path: Path) -> _Export:
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError(f"{path.name}: no such file; expected an ODK Central CSV or ZIP, or a KoBoToolbox CSV or XLSX")
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
        return _Export(path.name, header, rows)
    raise InputError(f"{path.name}: unknown file type {suffix!r}; expected an ODK Central .csv or .zip "
                     "(with media), or a KoBoToolbox .csv or .xlsx export")


def _csv_rows(source: str, data: bytes) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of CSV ``data`` (UTF-8, BOM or not, ``,`` or ``;`` between values)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: is not UTF-8 text (byte {exc.start}); expected the CSV as the server "
                         "exported it (UTF-8)") from None
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


def _read_xlsx(path: Path) -> _Export:
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
    return _Export(path.name, [_cell_text(c) for c in frame.columns], rows)


def _cell_text(value: object) -> str:
    """A workbook cell as the text a CSV export would hold."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value)


def _read_zip(path: Path) -> _Export:
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
    return _Export(path.name, header, rows, archive)


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


def _submission(export: _Export, found: Layout, number: int,
                cells: Sequence[str]) -> tuple[Submission | None, list[Problem]]:
    """One row as a submission, or None and the problems that keep it out."""
    problems: list[Problem] = []

    def cell(part: str) -> str:
        index = found.columns.get(part)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    def problem(part: str, value: object, expected: str, kind: str = "invalid", severity: str = "error") -> None:
        problems.append(Problem(export.source, number, found.name(part) if part in found.columns else part,
                                value, expected, severity, kind=kind))

    if len(cells) > len(found.header) and any(c.strip() for c in cells[len(found.header):]):
        problems.append(Problem(export.source, number, None, len(cells),
                                f"at most {len(found.header)} values, one per header column", kind="shape"))
    review = cell("review")
    if review in REJECTED[found.server]:
        problem("review", review, f"a submission not rejected on {found.server}; this one is left out",
                kind="rejected", severity="warning")
        return None, problems
    key, violation_id, outcome = cell("key"), cell("violation_id"), cell("outcome")
    for part, value in (("key", key), ("violation_id", violation_id)):
        if not value:
            problem(part, None, "a value: every submission names it", kind="missing")
    if outcome not in OUTCOMES:
        problem("outcome", outcome or None, f"one of {list(OUTCOMES)}", kind="allowed" if outcome else "missing")
    reason = cell("reason") or None
    if outcome in OUTCOMES and outcome != "confirmed" and reason is None:
        problem("reason", None, f"a reason: the form requires one when the outcome is {outcome!r}", kind="missing")
    visited_at = _time(cell("visited_at"), lambda v, e: problem("visited_at", v, e, kind="type"))
    lat, lon, accuracy = _position(found, cell, problem)
    photos = _photos(export, cell("photo"), problem)
    if any(p.severity == "error" for p in problems):
        return None, problems
    return Submission(key, violation_id, outcome, reason, visited_at, lat, lon, accuracy, cell("notes") or None,
                      cell("submitter") or None, photos, export.source, number), problems


def _time(text: str, problem: Callable[[str, str], None]) -> datetime | None:
    """An ISO 8601 time with its UTC offset (``Z`` or ``+02:00``), as UTC; None when empty."""
    if not text:
        return None
    expected = "an ISO 8601 date and time with its UTC offset, e.g. 2024-05-01T10:15:00.000+02:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None or value.utcoffset() is None:
        problem(text, expected)
        return None
    return value.astimezone(UTC)


def _position(found: Layout, get: Cell, report: Report) -> tuple[float | None, float | None, float | None]:
    """Latitude, longitude and accuracy (metres) from the split columns or the one "lat lon alt acc" text."""
    if POINT in found.columns:
        text = get(POINT)
        parts = text.split()
        if not text:
            return None, None, None
        if len(parts) not in (2, 3, 4):
            report(POINT, text, "a geopoint 'latitude longitude altitude accuracy', e.g. '-5.5 -1.25 310 4.5'", "type")
            return None, None, None
        values = {"lat": parts[0], "lon": parts[1], "accuracy": parts[3] if len(parts) == 4 else ""}
        where = dict.fromkeys(values, POINT)
    else:
        values = {part: get(part) for part in ("lat", "lon", "accuracy")}
        where = {part: part for part in values}
    limits = {"lat": (-90.0, 90.0, "a latitude in degrees, -90 to 90"),
              "lon": (-180.0, 180.0, "a longitude in degrees, -180 to 180"),
              "accuracy": (0.0, math.inf, "an accuracy in metres, 0 or more")}
    numbers: dict[str, float | None] = {}
    for part, text in values.items():
        low, high, expected = limits[part]
        if not text:
            numbers[part] = None
            continue
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not (low <= number <= high):
            report(where[part], text, expected, "range" if not math.isnan(number) else "type")
            number = math.nan
        numbers[part] = number
    if (numbers["lat"] is None) != (numbers["lon"] is None):
        part = "lat" if numbers["lat"] is None else "lon"
        report(where[part], None, "both a latitude and a longitude, or neither", "missing")
    if any(v is not None and math.isnan(v) for v in numbers.values()):
        return None, None, None
    return numbers["lat"], numbers["lon"], numbers["accuracy"]


def _photos(export: _Export, name: str, report: Report) -> tuple[tuple[str, bytes], ...]:
    """The photo a row names, from the ZIP's media; () when it names none."""
    if not name:
        return ()
    if export.media is None:
        where = "KoBoToolbox exports" if export.source.lower().endswith(".xlsx") else "a CSV export"
        report("photo", name, f"the photo itself: {where} carry no media, so it is not attached; import "
               "ODK Central's ZIP with media to attach photos", "no_media", "warning")
        return ()
    members = [i for i in export.media.infolist() if not i.is_dir() and i.filename.rsplit("/", 1)[-1] == name]
    members.sort(key=lambda i: (not i.filename.startswith("media/"), i.filename))
    if not members:
        report("photo", name, f"the photo in the ZIP's media/ folder ({export.source} has no member named so)", "missing")
        return ()
    try:
        data = _member(export.source, export.media, members[0], MAX_PHOTO_BYTES)
    except InputError as exc:
        report("photo", name, f"a readable photo: {exc}", "photo")
        return ()
    return ((name, data),)

