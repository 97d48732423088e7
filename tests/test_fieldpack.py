"""The field pack: an XLSForm pyxform compiles, cases.csv for select_one_from_file, an offline map, a GeoPackage."""
from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pyogrio
import pytest
from pyxform import xls2xform

from geo.errors import InputError
from layers.io.xlsform import write_xlsform
from services import fieldpack
from services.fieldpack import FILES, write_pack

# the issue's table, as written there
ISSUE_TABLE = {"violation_id": "select_one_from_file cases.csv", "outcome": "select_one", "reason": "text",
               "visit_location": "geopoint", "visited_at": "dateTime", "photo": "image", "notes": "text"}
OUTCOMES = ["confirmed", "false_positive", "not_accessible", "remediated"]
HOSTILE = "<img src=x onerror=alert(1)>"


def cases_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "violation_id": ["V-2", "V-1", "V-3", "V-4"], "site_id": ["S2", "S1", "S3", "S1"],
        "rule_id": ["water_100m", "water_100m", "water_100m", "school_500m"],
        "status": ["assigned", "new", "closed", "triaged"], "assignee": ["ama", None, None, None],
        "updated_at": ["2024-05-01"] * 4, "visits": [0, 0, 2, 0],
        "site_name": ["Pit 2", HOSTILE, "Old pit", HOSTILE], "distance_m": [99.0, 42.456, 5.0, 310.0],
        "lon": [-1.3, -1.25, -1.0, -1.25], "lat": [6.1, -5.5, 6.0, -5.5], "admin_area": ["Amansie West"] * 4})


def test_the_xlsform_compiles_with_pyxform_and_asks_the_issues_questions(tmp_path: Path) -> None:
    path = write_xlsform(tmp_path / "inspection.xlsx", title="=HYPERLINK(\"x\") inspection", form_id="hgwatch_inspection",
                         version="202405010900")
    book = openpyxl.load_workbook(path)
    survey = [[c.value for c in row] for row in book["survey"].iter_rows()]
    head = survey[0]
    questions = {r[head.index("name")]: r for r in survey[1:] if r[head.index("type")] not in ("begin_group", "end_group")}
    assert {n: re.sub(r" outcome$", "", r[head.index("type")]) for n, r in questions.items()} == ISSUE_TABLE
    assert [r[1] for r in book["choices"].iter_rows(min_row=2, values_only=True)] == OUTCOMES
    assert book["settings"]["A2"].data_type == "s"  # a title never becomes a formula
    warnings: list[str] = []
    xform = xls2xform.convert(xlsform=str(path), warnings=warnings).xform
    assert warnings == []
    root = ET.fromstring(xform)
    ns = {"x": "http://www.w3.org/2002/xforms"}
    binds = {b.get("nodeset", "").rsplit("/", 1)[-1]: b for b in root.iter("{http://www.w3.org/2002/xforms}bind")}
    types = {n: binds[n].get("type") for n in ISSUE_TABLE}
    assert types == {"violation_id": "string", "outcome": "string", "reason": "string", "visit_location": "geopoint",
                     "visited_at": "dateTime", "photo": "binary", "notes": "string"}
    # reason: required exactly when the outcome is not 'confirmed'
    assert re.fullmatch(r"\s*/data/visit/outcome\s*!=\s*'confirmed'", binds["reason"].get("required", ""))
    assert binds["violation_id"].get("required") == "true()" and binds["outcome"].get("required") == "true()"
    assert binds["notes"].get("required") is None and binds["photo"].get("required") is None
    instances = {i.get("id"): i.get("src") for i in root.iter("{http://www.w3.org/2002/xforms}instance")}
    assert instances["cases"] == "jr://file-csv/cases.csv"
    values = [v.get("ref") for v in root.iterfind(".//x:itemset/x:value", ns)]
    assert "violation_id" in values
    assert [v.text for v in root.iterfind(".//x:instance[@id='outcome']//x:name", ns)] == OUTCOMES


def test_the_pack_holds_the_open_cases_in_four_files(tmp_path: Path) -> None:
    pack = write_pack(cases_frame(), tmp_path / "pack", area="Amansie West", assignee="ama",
                      now=datetime(2024, 5, 1, 9, 0, tzinfo=UTC))
    assert pack.cases == 3 and [p.name for p in pack.files] == list(FILES)
    assert sorted(p.name for p in (tmp_path / "pack").iterdir()) == sorted(FILES)  # no staging left
    raw = (tmp_path / "pack" / "cases.csv").read_bytes()
    assert raw.startswith(b"name,label,")  # no BOM: a phone reads the header as written
    rows = list(csv.DictReader(io.StringIO(raw.decode())))
    assert [r["name"] for r in rows] == ["V-1", "V-2", "V-4"]  # open cases only, closed V-3 left out
    assert rows[0]["label"] == f"V-1 · {HOSTILE} · water_100m · 42 m"
    assert (rows[0]["site_id"], rows[0]["rule_id"], float(rows[0]["distance_m"])) == ("S1", "water_100m", 42.456)
    assert (float(rows[0]["lon"]), float(rows[0]["lat"])) == (-1.25, -5.5)
    gpkg = pyogrio.read_dataframe(tmp_path / "pack" / "cases.gpkg", layer="cases")
    assert gpkg.crs.to_epsg() == 4326 and list(gpkg["violation_id"]) == ["V-1", "V-2", "V-4"]
    assert [(p.x, p.y) for p in gpkg.geometry] == [(-1.25, -5.5), (-1.3, 6.1), (-1.25, -5.5)]
    title = openpyxl.load_workbook(tmp_path / "pack" / "inspection.xlsx")["settings"]["A2"].value
    assert title == "HgWatch inspection: Amansie West for ama"
    assert openpyxl.load_workbook(tmp_path / "pack" / "inspection.xlsx")["settings"]["C2"].value == "20240501090000"


def test_the_map_is_offline_and_escapes_every_value(tmp_path: Path) -> None:
    write_pack(cases_frame(), tmp_path, area="<b>Amansie</b>")
    doc = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", doc) and not re.search(r"<link[^>]+href=\"http", doc)
    assert "L.map(" in doc or "L.map" in doc
    for vid in ("V-1", "V-2", "V-4"):
        assert vid in doc
    assert "V-3" not in doc
    assert HOSTILE not in doc and "<b>Amansie</b>" not in doc
    assert "&lt;b&gt;Amansie&lt;/b&gt;" in doc


def test_formula_text_in_a_case_is_defused_in_cases_csv(tmp_path: Path) -> None:
    frame = cases_frame().assign(site_name="=cmd|' /C calc'!A0")
    write_pack(frame, tmp_path, area="A")
    text = (tmp_path / "cases.csv").read_text()
    assert "'=cmd" in text and ",=cmd" not in text


def test_no_open_case_writes_nothing(tmp_path: Path) -> None:
    frame = cases_frame().assign(status="closed")
    with pytest.raises(InputError, match="no open case"):
        write_pack(frame, tmp_path / "pack", area="Amansie West")
    assert not any((tmp_path / "pack").iterdir()) if (tmp_path / "pack").exists() else True


def test_a_failed_pack_leaves_the_previous_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_pack(cases_frame(), tmp_path, area="A")
    before = {name: (tmp_path / name).read_bytes() for name in FILES}

    def disk_full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fieldpack, "_write_gpkg", disk_full)  # the last file fails to write
    with pytest.raises(OSError):
        write_pack(cases_frame().assign(site_name="new name"), tmp_path, area="B")
    assert {name: (tmp_path / name).read_bytes() for name in FILES} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)


def test_a_folder_in_the_way_is_refused_before_writing(tmp_path: Path) -> None:
    (tmp_path / "map.html").mkdir()
    with pytest.raises(InputError, match="map.html"):
        write_pack(cases_frame(), tmp_path, area="A")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.html"]
