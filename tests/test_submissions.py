"""Reading field submissions: every export layout of issue 12 maps back to the same submissions."""
from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.errors import InputError
from layers.io.photos import photo_facts
from layers.io.submissions import Submission, read_submissions
from tests import field_exports as fx

WHEN = datetime(2024, 5, 1, 8, 15, tzinfo=UTC)  # 10:15 at +02:00
GOOD: list[dict[str, Any]] = [
    {"key": "uuid:0001", "violation_id": "V-1", "outcome": "false_positive", "reason": "old pit, no mercury",
     "lat": -5.5, "lon": -1.25, "alt": 310.0, "accuracy": 4.5, "visited_at": "2024-05-01T10:15:00.000+02:00",
     "photo": "1714550000001.jpg", "notes": "Spoke to owner; pit dry", "submitter": "ama"},
    {"key": "uuid:0002", "violation_id": "V-2", "outcome": "confirmed", "reason": None,
     "lat": 6.125, "lon": -2.0625, "alt": None, "accuracy": 12.0, "visited_at": "2024-05-01T08:15:00Z",
     "photo": None, "notes": None, "submitter": "kofi"},
]


def _check(subs: list[Submission], source: str, *, photos: bool) -> None:
    assert [s.key for s in subs] == ["uuid:0001", "uuid:0002"]
    a, b = subs
    assert (a.violation_id, a.outcome, a.reason, a.notes, a.submitter) == \
        ("V-1", "false_positive", "old pit, no mercury", "Spoke to owner; pit dry", "ama")
    assert (a.lat, a.lon, a.accuracy_m, a.visited_at) == (-5.5, -1.25, 4.5, WHEN)
    assert (b.violation_id, b.outcome, b.reason, b.notes, b.submitter) == ("V-2", "confirmed", None, None, "kofi")
    assert (b.lat, b.lon, b.accuracy_m, b.visited_at) == (6.125, -2.0625, 12.0, WHEN)
    assert b.visited_at is not None and b.visited_at.tzinfo is not None
    assert (a.source, a.row, b.row) == (source, 1, 2)
    assert b.photos == ()
    if photos:
        assert [name for name, _ in a.photos] == ["1714550000001.jpg"]


@pytest.mark.parametrize("sep", [",", ";"])
@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("group", ["visit", "a-b", None])
def test_odk_central_csv(tmp_path: Path, sep: str, bom: bool, group: str | None) -> None:
    path = fx.odk_csv(tmp_path / "hgwatch_inspection.csv", GOOD, group=group, sep=sep, bom=bom)
    subs, problems = read_submissions(path)
    _check(subs, path.name, photos=False)
    # a CSV without media cannot attach the photo its row names: a warning, not a lost row
    assert [(p.row, p.field, p.value, p.severity) for p in problems] == \
        [(1, f"{group}-photo" if group else "photo", "1714550000001.jpg", "warning")]


def test_odk_central_zip_with_media(tmp_path: Path) -> None:
    photo = fx.jpeg(-5.5, -1.25, datetime(2024, 5, 1, 10, 14, 50), "+02:00")
    path = fx.odk_zip(tmp_path / "hgwatch_inspection.zip", GOOD, {"1714550000001.jpg": photo})
    subs, problems = read_submissions(path)
    assert problems == []
    _check(subs, path.name, photos=True)
    assert subs[0].photos[0][1] == photo
    facts = photo_facts(subs[0].photos[0][1])
    assert facts.lat == pytest.approx(-5.5, abs=1e-6) and facts.lon == pytest.approx(-1.25, abs=1e-6)
    assert facts.taken_at == datetime(2024, 5, 1, 8, 14, 50, tzinfo=UTC)


def test_odk_zip_reads_the_form_csv_not_a_repeat_and_only_named_media(tmp_path: Path) -> None:
    path = fx.odk_zip(tmp_path / "f.zip", GOOD, {"1714550000001.jpg": fx.jpeg(), "other.jpg": b"x"})
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("hgwatch_inspection-extra_repeat.csv", "PARENT_KEY,KEY\r\nuuid:0001,uuid:0001/r[1]\r\n")
    subs, problems = read_submissions(path)
    assert problems == [] and len(subs) == 2 and len(subs[0].photos) == 1


@pytest.mark.parametrize("group", ["visit", None])
@pytest.mark.parametrize(("sep", "bom"), [(";", True), (",", False)])
def test_kobo_csv(tmp_path: Path, group: str | None, sep: str, bom: bool) -> None:
    path = fx.kobo_csv(tmp_path / "kobo.csv", GOOD, group=group, sep=sep, bom=bom)
    subs, problems = read_submissions(path)
    _check(subs, path.name, photos=False)
    assert [(p.row, p.field, p.severity) for p in problems] == [(1, f"{group}/photo" if group else "photo", "warning")]


@pytest.mark.parametrize("group", ["visit", None])
def test_kobo_xlsx(tmp_path: Path, group: str | None) -> None:
    path = fx.kobo_xlsx(tmp_path / "kobo.xlsx", GOOD, group=group)
    subs, problems = read_submissions(path)
    _check(subs, path.name, photos=False)
    assert [p.severity for p in problems] == ["warning"]


def test_kobo_raw_point_alone(tmp_path: Path) -> None:
    """Without the split columns, KoBo's raw 'lat lon alt precision' text gives the position."""
    header = ["violation_id", "outcome", "reason", "visit_location", "_uuid", "_submitted_by"]
    rows = [["V-1", "confirmed", "", "-5.5 -1.25 310 4.5", "u1", "ama"], ["V-2", "confirmed", "", "1 2 3 4 5", "u2", ""]]
    path = tmp_path / "k.csv"
    path.write_bytes(fx.csv_bytes(header, rows, sep=",", bom=False))
    subs, problems = read_submissions(path)
    assert [(s.lat, s.lon, s.accuracy_m) for s in subs] == [(-5.5, -1.25, 4.5)]
    assert [(p.row, p.field, p.value) for p in problems] == [(2, "visit_location", "1 2 3 4 5")]


def test_every_bad_value_is_a_problem_naming_file_row_field_value(tmp_path: Path) -> None:
    bad = [dict(GOOD[1], key="k1", outcome="burnt"),
           dict(GOOD[1], key="k2", visited_at="yesterday"),
           dict(GOOD[1], key="k3", visited_at="2024-05-01T10:15:00"),   # no UTC offset
           dict(GOOD[1], key="k4", lat=91.0),
           dict(GOOD[1], key="k5", lon="east"),
           dict(GOOD[1], key="k6", outcome="not_accessible", reason=None),
           dict(GOOD[1], key="k7", photo="missing.jpg"),
           dict(GOOD[1], key="k8", violation_id=""),
           dict(GOOD[1], key="k9", accuracy=-1),
           dict(GOOD[1], key="k1", violation_id="V-9"),                    # the key of row 1 again
           dict(GOOD[1], key="k10", lat=None),
           dict(GOOD[1], key="k11")]
    path = fx.odk_zip(tmp_path / "bad.zip", bad, {})
    subs, problems = read_submissions(path)
    found = {(p.row, p.field, p.value) for p in problems if p.severity == "error"}
    assert found == {(1, "visit-outcome", "burnt"), (2, "visit-visited_at", "yesterday"),
                     (3, "visit-visited_at", "2024-05-01T10:15:00"), (4, "visit-visit_location-Latitude", "91.0"),
                     (5, "visit-visit_location-Longitude", "east"), (6, "visit-reason", None),
                     (7, "visit-photo", "missing.jpg"), (8, "visit-violation_id", None),
                     (9, "visit-visit_location-Accuracy", "-1"), (10, "KEY", "k1"),
                     (11, "visit-visit_location-Latitude", None)}
    duplicate = [p for p in problems if p.kind == "duplicate"]
    assert [(p.row, p.field, p.value) for p in duplicate] == [(10, "KEY", "k1")]
    assert all(p.file == "bad.zip" and p.expected for p in problems)
    assert [s.key for s in subs] == ["k11"]
    shown = str(next(p for p in problems if p.row == 6))
    assert "bad.zip" in shown and "row 6" in shown and "'visit-reason'" in shown and "not_accessible" in shown


def test_rejected_on_the_server_is_left_out_with_a_warning(tmp_path: Path) -> None:
    path = fx.odk_csv(tmp_path / "f.csv", [dict(GOOD[1], review="rejected"), dict(GOOD[1], key="k2")])
    subs, problems = read_submissions(path)
    assert [s.key for s in subs] == ["k2"]
    assert [(p.row, p.field, p.value, p.severity) for p in problems] == [(1, "ReviewState", "rejected", "warning")]


def test_files_that_are_no_export_are_refused_by_name(tmp_path: Path) -> None:
    cases = {"plain.csv": b"a,b\r\n1,2\r\n", "both.csv": b"KEY,_uuid,violation_id,outcome\r\n",
             "nokey.csv": b"SubmissionDate,violation_id,outcome\r\n", "empty.csv": b"",
             "latin1.csv": "KEY,violation_id,outcome\r\ncafé,V,confirmed\r\n".encode("latin-1"),
             "fake.zip": b"not a zip", "fake.xlsx": b"PK\x03\x04garbage", "x.geojson": b"{}"}
    twice = fx.odk_header("a") + ["b-outcome"]
    cases["twice.csv"] = fx.csv_bytes(twice, [], sep=",", bom=False)
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InputError) as info:
            read_submissions(tmp_path / name)
        assert str(info.value).startswith(name), str(info.value)
    assert "outcome" in str(pytest.raises(InputError, read_submissions, tmp_path / "twice.csv").value)
    with pytest.raises(InputError):
        read_submissions(tmp_path / "absent.csv")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".zip", ".xlsx", ".txt"]))
def test_random_bytes_raise_only_input_error(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"r{suffix}"
    path.write_bytes(data)
    try:
        read_submissions(path)
    except InputError:
        pass


_cell = st.one_of(st.text(max_size=12), st.sampled_from(["confirmed", "remediated", "-91", "1e400", "nan", "inf",
                                                          "2024-05-01T10:15:00Z", "1 2", "\x00", '"', ";"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_cell, max_size=30), max_size=6), group=st.sampled_from(["visit", None]),
       server=st.sampled_from(["odk", "kobo"]), sep=st.sampled_from([",", ";"]))
def test_random_cells_under_a_real_header_never_crash(tmp_path: Path, rows: list[list[str]], group: str | None,
                                                      server: str, sep: str) -> None:
    header = fx.odk_header(group) if server == "odk" else fx.kobo_header(group)
    path = tmp_path / "cells.csv"
    path.write_bytes(fx.csv_bytes(header, rows, sep=sep, bom=False))
    try:
        subs, problems = read_submissions(path)
    except InputError:
        return
    for s in subs:  # whatever was accepted is clean
        assert s.outcome in ("confirmed", "false_positive", "not_accessible", "remediated") and s.key and s.violation_id
        assert s.lat is None or -90 <= s.lat <= 90
        assert s.outcome == "confirmed" or s.reason
    assert all(p.file == "cells.csv" and p.expected for p in problems)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["zip", "xlsx"]), cut=st.integers(min_value=0, max_value=10**6),
       edits=st.lists(st.tuples(st.integers(min_value=0, max_value=10**6), st.integers(0, 255)), max_size=12))
def test_a_damaged_real_export_raises_only_input_error(tmp_path: Path, kind: str, cut: int,
                                                       edits: list[tuple[int, int]]) -> None:
    good = tmp_path / f"good.{kind}"
    if kind == "zip":
        fx.odk_zip(good, GOOD, {"1714550000001.jpg": fx.jpeg(-5.5, -1.25)})
    else:
        fx.kobo_xlsx(good, GOOD)
    data = bytearray(good.read_bytes())
    for at, value in edits:
        data[at % len(data)] = value
    path = tmp_path / f"damaged.{kind}"
    path.write_bytes(bytes(data[: max(1, cut % (len(data) + 1))]))
    try:
        read_submissions(path)
    except InputError:
        pass


def test_kobo_xlsx_with_repeat_group_sheets_reads_the_first(tmp_path: Path) -> None:
    import openpyxl

    path = fx.kobo_xlsx(tmp_path / "kobo.xlsx", GOOD)
    book = openpyxl.load_workbook(path)
    repeat = book.create_sheet("samples")
    repeat.append(["sample_no", "_index", "_parent_table_name", "_parent_index"])
    repeat.append([1, 1, "HgWatch inspection", 1])
    book.save(path)
    subs, _ = read_submissions(path)
    _check(subs, path.name, photos=False)


def test_a_visit_dated_in_the_future_is_read_with_a_warning(tmp_path: Path) -> None:
    """A phone with a wrong clock or time zone dates a visit in the future: it was taken as given, silently
    (found by HF's walk-through). It is still read, with a warning naming the row and the value."""
    rows = [dict(GOOD[0], visited_at="2099-05-01T10:15:00.000+02:00"), GOOD[1]]
    subs, problems = read_submissions(fx.odk_csv(tmp_path / "future.csv", rows))
    assert [s.key for s in subs] == ["uuid:0001", "uuid:0002"]
    future = [p for p in problems if p.kind == "future"]
    assert [(p.row, p.field, p.value, p.severity) for p in future] == [
        (1, "visit-visited_at", "2099-05-01T10:15:00.000+02:00", "warning")]
    assert "dated in the future" in str(future[0])
