"""What a field photo's EXIF says about when and where it was taken, read by ExifRead.

Only the photo's own bytes are read (no file is opened, nothing is fetched). A photo without
EXIF, or with EXIF that cannot be read, gives ``PhotoFacts(None, None, None)``: the photo is
still evidence (its SHA-256 is what proves it), it just says nothing about its time or place.
"""
from __future__ import annotations

import io
import logging
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import exifread

# ExifRead reports a damaged EXIF block through these (and its own logger, silenced below)
_EXIF_ERRORS = (ValueError, KeyError, IndexError, TypeError, ZeroDivisionError, struct.error, EOFError,
                OverflowError, AttributeError, RecursionError, UnicodeError)
_EXIF_TIME = "%Y:%m:%d %H:%M:%S"


@dataclass(frozen=True)
class PhotoFacts:
    """A photo's EXIF time and position.

    taken_at : timezone-aware UTC when the photo says which zone its clock was in (a GPS time
        stamp, or ``OffsetTimeOriginal``); naive camera-clock time when it does not; None without EXIF time.
    lat, lon : WGS84 degrees from the GPS block (south and west negative); None without GPS.
    """

    taken_at: datetime | None
    lat: float | None
    lon: float | None


def photo_facts(data: bytes) -> PhotoFacts:
    """The EXIF time and GPS position of the photo ``data`` (JPEG, TIFF, HEIC, PNG or WebP bytes)."""
    tags = _tags(data)
    return PhotoFacts(_taken_at(tags), *_position(tags))


def _tags(data: bytes) -> dict[str, Any]:
    logger = logging.getLogger("exifread")
    level = logger.level
    logger.setLevel(logging.CRITICAL)  # a photo without EXIF is not an error worth a log line
    try:
        return dict(exifread.process_file(io.BytesIO(data), details=False, extract_thumbnail=False))
    except _EXIF_ERRORS:
        return {}
    finally:
        logger.setLevel(level)


def _values(tags: dict[str, Any], name: str) -> Any:
    tag = tags.get(name)
    return None if tag is None else tag.values


def _text(tags: dict[str, Any], name: str) -> str | None:
    value = _values(tags, name)
    return value.strip().rstrip("\x00").strip() if isinstance(value, str) and value.strip() else None


def _numbers(tags: dict[str, Any], name: str) -> list[float] | None:
    value = _values(tags, name)
    if not isinstance(value, list) or len(value) != 3:
        return None
    try:
        return [float(v) for v in value]
    except _EXIF_ERRORS:
        return None


def _position(tags: dict[str, Any]) -> tuple[float | None, float | None]:
    lat = _degrees(_numbers(tags, "GPS GPSLatitude"), _text(tags, "GPS GPSLatitudeRef"), "S", 90.0)
    lon = _degrees(_numbers(tags, "GPS GPSLongitude"), _text(tags, "GPS GPSLongitudeRef"), "W", 180.0)
    if lat is None or lon is None:
        return None, None
    return lat, lon


def _degrees(dms: list[float] | None, ref: str | None, negative: str, limit: float) -> float | None:
    """Degrees, minutes, seconds and a hemisphere letter as signed decimal degrees; None when out of range."""
    if dms is None or ref is None:
        return None
    value = dms[0] + dms[1] / 60.0 + dms[2] / 3600.0
    value = -value if ref.upper().startswith(negative) else value
    return value if abs(value) <= limit else None


def _taken_at(tags: dict[str, Any]) -> datetime | None:
    gps = _gps_time(tags)
    if gps is not None:
        return gps
    text = _text(tags, "EXIF DateTimeOriginal") or _text(tags, "Image DateTime")
    if text is None:
        return None
    try:
        local = datetime.strptime(text[:19], _EXIF_TIME)
    except ValueError:
        return None
    offset = _text(tags, "EXIF OffsetTimeOriginal") or _text(tags, "EXIF OffsetTime")
    try:
        zone = datetime.strptime(offset, "%z").tzinfo if offset else None
    except ValueError:
        zone = None
    return local.replace(tzinfo=zone).astimezone(UTC) if zone is not None else local


def _gps_time(tags: dict[str, Any]) -> datetime | None:
    """The GPS block's UTC date and time (``GPSDate`` + ``GPSTimeStamp``), when both are there."""
    day, hms = _text(tags, "GPS GPSDate"), _numbers(tags, "GPS GPSTimeStamp")
    if day is None or hms is None:
        return None
    try:
        midnight = datetime.strptime(day[:10], "%Y:%m:%d").replace(tzinfo=UTC)
        return midnight + timedelta(hours=hms[0], minutes=hms[1], seconds=hms[2])
    except (ValueError, OverflowError):
        return None
