"""The values of the query parameters of items and of one feature, checked before pygeoapi reads them.

pygeoapi 0.21 read a bad value with a message that named neither the parameter nor the value, or not
at all: ``limit=abc`` got "limit value should be an integer", ``offset=-1`` "offset value should be
positive or zero", ``bbox=1,2,3`` a message with no value, ``datetime=garbage`` dateutil's "Unknown
string format: garbage" (no parameter), ``bbox-crs=foo`` alone "bbox-crs specified without bbox
parameter"; and it answered 200 to ``skipGeometry=maybe`` (read as false), ``resulttype=foo`` (read as
``results``), a latitude beyond 90 or a non-finite number in ``bbox`` (no feature, as if the box were
right), and an interval whose start is after its end (none). An equality filter whose value its
property cannot hold (``?miners=abc``) got "value 'abc': expected a number", naming no property, and one on a
date property written otherwise than YYYY-MM-DD (``?survey_date=2024-3-1``) found nothing, with 200.

``problems`` names each bad value: the parameter, the value given (cut to ``parameters.NAME_CHARS``
characters) and what is expected. The gate (``api.app.KeyGate``) answers 400 with them after the names
are accepted (``api.parameters``), so a property named here is one the key may use: a restricted field
is refused by its name first, as a made-up one is, and never reaches this module.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime

from api.config import CRS84, MAX_ITEMS
from api.parameters import Route, shown
from services.features import Served

CRS84_NAMES = (CRS84, "[OGC:CRS84]", "OGC:CRS84")
TRUE_FALSE = ("true", "false")
RESULT_TYPES = ("results", "hits")
DIGITS = 18  # of a limit or an offset, at most
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")  # the value of an equality filter on a date property
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?")
DATETIME_EXPECTED = ("expected an RFC 3339 date or date-time (2024-05-01, 2024-05-01T10:00:00Z) or an interval"
                     " START/END of two of them, '..' or nothing for an open end (2024-01-01/.., ../2024-12-31)")
BBOX_EXPECTED = ("expected 4 numbers W,S,E,N (or 6: W,S,LOW,E,N,HIGH) in degrees of CRS84: longitude -180 to 180,"
                 " latitude -90 to 90, S not above N (W greater than E crosses the antimeridian),"
                 " e.g. bbox=-2.1,5.2,-1.8,5.4")


def _whole(value: str) -> int | None:
    """``value`` as a whole number of at most ``DIGITS`` digits (Python reads no more than 4,300: a longer one
    made the gate fail, a JSON 500), else None."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= DIGITS else None


def _bbox(value: str) -> str | None:
    parts = value.split(",")
    if len(parts) not in (4, 6):
        return f"{len(parts)} value(s)"
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return "a value that is not a number"
    if not all(math.isfinite(n) for n in numbers):
        return "a value that is not a finite number"
    if len(numbers) == 6 and numbers[2] > numbers[5]:
        return "LOW above HIGH"
    west, south, east, north = numbers[:2] + numbers[-2:] if len(numbers) == 4 else numbers[:2] + numbers[3:5]
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        return "a longitude beyond -180 to 180"
    if not (-90 <= south <= 90 and -90 <= north <= 90):
        return "a latitude beyond -90 to 90"
    if south > north:
        return "S above N"
    return None


def _instant(text: str) -> datetime | None:
    """``text`` as an aware date-time (UTC when it gives no offset), or None when it is no RFC 3339 date."""
    if RFC3339.fullmatch(text) is None:
        return None
    try:
        when = datetime.fromisoformat(text.upper().replace(" ", "T").replace("Z", "+00:00"))
    except ValueError:  # a month 13, a day 32, an hour 25
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _datetime(value: str) -> str | None:
    if "/" not in value:
        return None if _instant(value) else "not a date"
    ends = value.split("/")
    if len(ends) != 2:
        return f"{len(ends)} parts"
    read: list[datetime | None] = []
    for label, end in zip(("start", "end"), ends):
        if end in ("", ".."):
            read.append(None)
            continue
        when = _instant(end)
        if when is None:
            return f"its {label} {shown(end)} is not a date"
        read.append(when)
    if read[0] is not None and read[1] is not None and read[0] > read[1]:
        return "its start is after its end"
    return None


def _equality(value: str, schema: dict[str, str]) -> str | None:
    kind = schema.get("type")
    if schema.get("format") == "date" and (DAY.fullmatch(value) is None or _instant(value) is None):
        return "expected a day YYYY-MM-DD (a day is compared whole: 2024-03-01)"
    if kind == "boolean" and value.lower() not in TRUE_FALSE:
        return "expected true or false"
    if kind in ("integer", "number"):
        try:
            number = float(value)
        except ValueError:
            return "expected a number"
        if not math.isfinite(number):
            return "expected a finite number"
    return None


def problems(where: Route, pairs: Sequence[tuple[str, str]], served: Served) -> list[str]:
    """What is wrong with the values of ``pairs`` (name, value; each name accepted, given once) on ``where``
    (items or one feature of ``served``, the collection as the key is served it): one line per bad value."""
    given = dict(pairs)
    found: list[str] = []
    for name in ("crs", *(("bbox-crs",) if where.kind == "items" else ())):
        if name in given and given[name] not in CRS84_NAMES:
            found.append(f"{name}={shown(given[name])}: expected {CRS84} (longitude, latitude in degrees), the only"
                         " CRS served here")
    if where.kind != "items":
        return found
    if "bbox-crs" in given and "bbox" not in given:
        found.append(f"bbox-crs={shown(given['bbox-crs'])} without bbox: expected bbox=W,S,E,N with it, or no bbox-crs")
    if "limit" in given and (_whole(given["limit"]) or 0) < 1:
        found.append(f"limit={shown(given['limit'])}: expected a whole number of features a page, 1 or more, of at"
                     f" most {DIGITS} digits (at most {MAX_ITEMS} are returned a page: a larger limit gets {MAX_ITEMS}"
                     " and a next link)")
    if "offset" in given and _whole(given["offset"]) is None:
        found.append(f"offset={shown(given['offset'])}: expected a whole number of features to skip, 0 or more, of"
                     f" at most {DIGITS} digits")
    if "bbox" in given and (why := _bbox(given["bbox"])):
        found.append(f"bbox={shown(given['bbox'])}: {why}; {BBOX_EXPECTED}")
    if "datetime" in given and (why := _datetime(given["datetime"])):
        found.append(f"datetime={shown(given['datetime'])} (on {served.time_field}): {why}; {DATETIME_EXPECTED}")
    if "skipGeometry" in given and given["skipGeometry"].lower() not in TRUE_FALSE:
        found.append(f"skipGeometry={shown(given['skipGeometry'])}: expected true or false")
    if "resulttype" in given and given["resulttype"] not in RESULT_TYPES:
        found.append(f"resulttype={shown(given['resulttype'])}: expected results (the features) or hits (their"
                     " number only)")
    for name, value in pairs:
        if name in served.fields and (why := _equality(value, served.fields[name])):
            found.append(f"{name}={shown(value)}: {why} ({name} is {_a(served.fields[name].get('type', ''))} property of"
                         f" {served.name})")
    return found


def _a(kind: str) -> str:
    return f"an {kind}" if kind[:1] in ("a", "e", "i", "o", "u") else f"a {kind}"
