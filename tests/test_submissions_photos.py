"""A field photo's EXIF time and position, read by ExifRead from photos Pillow writes."""
from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image

from layers.io.photos import PhotoFacts, photo_facts
from tests import field_exports as fx


def test_gps_position_south_west_and_offset_time() -> None:
    facts = photo_facts(fx.jpeg(-5.503428, -1.25, datetime(2024, 5, 1, 10, 15, 30), "+02:00"))
    assert facts.lat == pytest.approx(-5.503428, abs=1e-6) and facts.lon == pytest.approx(-1.25, abs=1e-6)
    assert facts.taken_at == datetime(2024, 5, 1, 8, 15, 30, tzinfo=UTC)


def test_north_east_and_a_camera_clock_without_zone() -> None:
    facts = photo_facts(fx.jpeg(6.125, 2.0625, datetime(2024, 5, 1, 10, 15, 30)))
    assert (facts.lat, facts.lon) == (pytest.approx(6.125, abs=1e-6), pytest.approx(2.0625, abs=1e-6))
    assert facts.taken_at == datetime(2024, 5, 1, 10, 15, 30) and facts.taken_at.tzinfo is None


def test_gps_time_stamp_is_utc_and_wins_over_the_camera_clock() -> None:
    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2024:05:01 23:59:59"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSDateStamp] = "2024:05:01"
    gps[ExifTags.GPS.GPSTimeStamp] = (8.0, 15.0, 30.0)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "JPEG", exif=exif)
    assert photo_facts(buf.getvalue()) == PhotoFacts(datetime(2024, 5, 1, 8, 15, 30, tzinfo=UTC), None, None)


def test_a_photo_without_exif_says_nothing() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG")
    assert photo_facts(buf.getvalue()) == PhotoFacts(None, None, None)
    assert photo_facts(fx.jpeg()) == PhotoFacts(None, None, None)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_give_facts_never_an_exception(data: bytes) -> None:
    facts = photo_facts(data)
    assert facts.lat is None or -90 <= facts.lat <= 90


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=1500), st.binary(min_size=1, max_size=8))
def test_a_damaged_jpeg_gives_facts_never_an_exception(at: int, junk: bytes) -> None:
    good = fx.jpeg(-5.5, -1.25, datetime(2024, 5, 1, 10, 15, 30), "+02:00")
    at = min(at, len(good))
    photo_facts(good[:at] + junk + good[at + len(junk):])
