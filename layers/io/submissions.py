"""Field submissions as the servers export them: ODK Central's CSV or ZIP with media, KoBoToolbox's CSV or XLSX.

The files are read as-is (their table and media: ``layers.io.form_exports``; which column holds
which question: ``layers.io.submission_layout``). A photo is looked up in a ZIP's media by the
file name its row gives, and only those members are read; a KoBo ``photo_URL`` is never fetched.

Every bad value is a ``Problem`` naming the file, the data row (1-based), the column, the value
and what was expected; the row's submission is then left out. A file that cannot be read at all
is an ``InputError``, and nothing else is ever raised for any input.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from geo.errors import InputError, Problem
from geo.words import one_of
from layers.io.form_exports import Export, media_file, read_export
from layers.io.image_types import not_a_photo, unreadable
from layers.io.submission_layout import OUTCOMES, POINT, REJECTED, Layout, layout

CLOCK_SLACK = timedelta(hours=1)  # a visit dated later than now by more than this gets a warning
Cell = Callable[[str], str]            # part -> the row's stripped text for it
Report = Callable[..., None]           # (part, value, expected, kind, severity) -> record a Problem


@dataclass(frozen=True)
class Submission:
    """One field submission, as read from an ODK Central or KoBoToolbox export (any layout in issue 12)."""
    key: str                      # KEY (ODK; kept across edits on the server) or _uuid (KoBo): makes re-import idempotent
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
    edits: int = 0                # times it was edited on the server (ODK Central's ``Edits``; 0 when not given)
    layout: Layout | None = field(default=None, compare=False, repr=False)  # where each part is in the file

    def column(self, part: str) -> str:
        """The file's column holding ``part`` (a question of ``QUESTIONS``, or ``key``, ``submitter``,
        ``edits``), as the file spells it (``visit-violation_id``); the part's own name for a submission
        made without a file's layout. A split geopoint's ``visit_location`` is its latitude column."""
        if self.layout is None:
            return part
        if part == POINT and part not in self.layout.columns and "lat" in self.layout.columns:
            part = "lat"
        return self.layout.name(part) if part in self.layout.columns else part


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
    export = read_export(path)
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


def _submission(export: Export, found: Layout, number: int,
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
        problem("outcome", outcome or None, one_of(OUTCOMES), kind="allowed" if outcome else "missing")
    reason = cell("reason") or None
    if outcome in OUTCOMES and outcome != "confirmed" and reason is None:
        problem("reason", None, f"a reason: the form requires one when the outcome is {outcome!r}", kind="missing")
    visited_at = _time(cell("visited_at"), lambda v, e: problem("visited_at", v, e, kind="type"))
    if visited_at is not None and visited_at > datetime.now(UTC) + CLOCK_SLACK:  # a phone whose clock is wrong
        problem("visited_at", cell("visited_at"), "a time that has passed: this visit is dated in the future (the"
                " phone's clock or time zone may be wrong); it is imported as given", kind="future", severity="warning")
    lat, lon, accuracy = _position(found, cell, problem)
    photos = _photos(export, cell("photo"), problem)
    if any(p.severity == "error" for p in problems):
        return None, problems
    return Submission(key, violation_id, outcome, reason, visited_at, lat, lon, accuracy, cell("notes") or None,
                      cell("submitter") or None, photos, export.source, number,
                      int(cell("edits")) if cell("edits").isdecimal() else 0, found), problems


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


def _photos(export: Export, name: str, report: Report) -> tuple[tuple[str, bytes], ...]:
    """The photo a row names, from the ZIP's media; () when it names none."""
    if not name:
        return ()
    if export.media is None:
        where = "KoBoToolbox exports carry" if export.source.lower().endswith(".xlsx") else "a CSV export carries"
        report("photo", name, f"the photo itself: {where} no media, so it is not attached; import "
               "ODK Central's ZIP with media to attach photos", "no_media", "warning")
        return ()
    try:
        data = media_file(export, name)
    except InputError as exc:
        report("photo", name, f"a readable photo: {exc}", "photo")
        return ()
    if data is None:
        report("photo", name, f"the photo in the ZIP's media/ folder ({export.source} has no member named so)", "missing")
        return ()
    if expected := not_a_photo(data):
        report("photo", name, f"{expected}: media/{name} is not one; nothing of this row is applied", "photo_type")
        return ()
    if damaged := unreadable(data):
        report("photo", name, f"a photo that opens: {damaged}; it is kept as the phone sent it, with its SHA-256, and "
               "listed in the workbench rather than drawn", "photo_damaged", "warning")
    return ((name, data),)
