"""Form exports written byte for byte in the layouts ODK Central and KoBoToolbox download (issue 12).

ODK Central (central-backend's CSV): ``SubmissionDate``, the form's fields in form order with group
paths joined by ``-`` and each geopoint split into ``-Latitude``, ``-Longitude``, ``-Altitude``,
``-Accuracy``, ``meta-instanceID`` (the meta group), then ``KEY``, ``SubmitterID``,
``SubmitterName``, ``AttachmentsPresent``, ``AttachmentsExpected``, ``Status``, ``ReviewState``,
``DeviceID``, ``Edits``, ``FormVersion``. Its ZIP holds ``<form>.csv`` and ``media/<file>``.

KoBoToolbox (formpack): ``start``, ``end``, the fields with group paths joined by ``/``, a geopoint
``g`` as the raw ``g`` (no group path) and ``<group>/_g_latitude``, ``_longitude``, ``_altitude``,
``_precision``; a photo followed by ``<photo>_URL``; then ``_id``, ``_uuid``, ``_submission_time``,
``_validation_status``, ``_notes``, ``_status``, ``_submitted_by``, ``__version__``, ``_tags``,
``_index``. CSV separated by ``;`` with a BOM by default; XLSX with the same columns.
"""
from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
from PIL import ExifTags, Image

FIELDS = ("violation_id", "outcome", "reason", "visit_location", "visited_at", "photo", "notes")


def jpeg(lat: float | None = None, lon: float | None = None, when: datetime | None = None,
         offset: str | None = None, color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A real JPEG (16 x 16) whose EXIF carries a GPS position and a DateTimeOriginal (camera clock)."""
    exif = Image.Exif()
    if when is not None:
        ifd = exif.get_ifd(ExifTags.IFD.Exif)
        ifd[ExifTags.Base.DateTimeOriginal] = when.strftime("%Y:%m:%d %H:%M:%S")
        if offset is not None:
            ifd[ExifTags.Base.OffsetTimeOriginal] = offset
    if lat is not None and lon is not None:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef] = "S" if lat < 0 else "N"
        gps[ExifTags.GPS.GPSLatitude] = _dms(abs(lat))
        gps[ExifTags.GPS.GPSLongitudeRef] = "W" if lon < 0 else "E"
        gps[ExifTags.GPS.GPSLongitude] = _dms(abs(lon))
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 4)


def odk_header(group: str | None = "visit") -> list[str]:
    prefix = f"{group}-" if group else ""
    fields: list[str] = []
    for name in FIELDS:
        if name == "visit_location":
            fields += [f"{prefix}{name}-{part}" for part in ("Latitude", "Longitude", "Altitude", "Accuracy")]
        else:
            fields.append(prefix + name)
    return (["SubmissionDate", *fields, "meta-instanceID", "KEY", "SubmitterID", "SubmitterName",
             "AttachmentsPresent", "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits", "FormVersion"])


def odk_row(s: dict[str, Any]) -> list[str]:
    """One Central CSV row from a dict with the form's answers, ``key``, ``submitter``, ``review``; ``instance``
    (the data's meta-instanceID, which each edit on the server changes; default: ``key``) and ``edits``."""
    fields: list[str] = []
    for name in FIELDS:
        if name == "visit_location":
            fields += [_text(s.get(p)) for p in ("lat", "lon", "alt", "accuracy")]
        else:
            fields.append(_text(s.get(name)))
    photos = 1 if s.get("photo") else 0
    return (["2024-05-02T09:00:00.000Z", *fields, s.get("instance", s["key"]), s["key"], "7", _text(s.get("submitter")),
             str(photos), str(photos), "", _text(s.get("review")), "collect:abc", str(s.get("edits", 0)), "1"])


def kobo_header(group: str | None = "visit") -> list[str]:
    prefix = f"{group}/" if group else ""
    fields: list[str] = []
    for name in FIELDS:
        if name == "visit_location":
            fields.append(name)  # formpack writes the raw point without its group path
            fields += [f"{prefix}_{name}_{part}" for part in ("latitude", "longitude", "altitude", "precision")]
        elif name == "photo":
            fields += [prefix + name, prefix + name + "_URL"]
        else:
            fields.append(prefix + name)
    return (["start", "end", *fields, "_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status",
             "_submitted_by", "__version__", "_tags", "_index"])


def kobo_row(s: dict[str, Any], index: int) -> list[object]:
    fields: list[object] = []
    for name in FIELDS:
        if name == "visit_location":
            parts = [s.get(p) for p in ("lat", "lon", "alt", "accuracy")]
            fields.append(" ".join(_text(p) for p in parts) if parts[0] is not None else "")
            fields += [_number(p) for p in parts]
        elif name == "photo":
            photo = _text(s.get("photo"))
            fields += [photo, f"https://kf.kobotoolbox.org/media/original?media_file=x/{photo}" if photo else ""]
        else:
            fields.append(_text(s.get(name)))
    return (["2024-05-01T09:00:00.000+02:00", "2024-05-01T09:30:00.000+02:00", *fields, 1000 + index, s["key"],
             "2024-05-02T09:00:00", _text(s.get("review")), "", "submitted_via_web", _text(s.get("submitter")),
             "vAbC", "", index])


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _number(value: object) -> object:
    return "" if value is None else value


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[object]], *, sep: str, bom: bool) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[_text(v) for v in row] for row in rows])
    return buf.getvalue().encode("utf-8-sig" if bom else "utf-8")


def odk_csv(path: Path, submissions: Sequence[dict[str, Any]], *, group: str | None = "visit", sep: str = ",",
            bom: bool = False) -> Path:
    path.write_bytes(csv_bytes(odk_header(group), [odk_row(s) for s in submissions], sep=sep, bom=bom))
    return path


def odk_zip(path: Path, submissions: Sequence[dict[str, Any]], media: dict[str, bytes], *,
            group: str | None = "visit", form: str = "hgwatch_inspection") -> Path:
    """Central's "all data and media" ZIP: ``<form>.csv`` and ``media/<name>``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{form}.csv", csv_bytes(odk_header(group), [odk_row(s) for s in submissions], sep=",", bom=False))
        for name, data in media.items():
            z.writestr(f"media/{name}", data)
    return path


def kobo_csv(path: Path, submissions: Sequence[dict[str, Any]], *, group: str | None = "visit", sep: str = ";",
             bom: bool = True) -> Path:
    rows = [kobo_row(s, i) for i, s in enumerate(submissions, start=1)]
    path.write_bytes(csv_bytes(kobo_header(group), rows, sep=sep, bom=bom))
    return path


def kobo_xlsx(path: Path, submissions: Sequence[dict[str, Any]], *, group: str | None = "visit") -> Path:
    """KoBo's XLSX: the main sheet (named after the form) first; numbers as numbers."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "HgWatch inspection"
    sheet.append(kobo_header(group))
    for i, s in enumerate(submissions, start=1):
        sheet.append(kobo_row(s, i))
    book.save(path)
    return path
