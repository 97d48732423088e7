"""Issue 10, classes 5 and 6, at the command line: tracebacks turned into messages, and the
smaller refusals. Every bad input ends with a message naming the file (row, field and value
where there is one) and what was expected, the documented exit code (2 for a refusal; 1 from
``validate`` when the input has errors), no traceback (``hostile_kit.run`` fails on one), and
nothing written: the workspace and every other file under ``tmp_path`` are unchanged.

From the lead's draft (``test_hostile_messages.py``), with three corrections: ``validate``
prints its report on stdout (documented, and kept), so its checks read stdout and stderr;
``import --repair`` now closes an open ring with a warning, so that case checks the stored
repair; and ``check --out x.kml`` is a writer the violations have, so ``.shp``, ``.txt`` and no
extension are the refused ones.
"""
from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import geopandas as gpd
import openpyxl
import pytest
import shapely
from pypdf import PdfReader

from geo.errors import InputError
from layers.io.readers import load_layer
from layers.store.workspace import Workspace
from services.contamination import classed_samples, medium_surface
from services.hgwatch import HgWatch
from settings import Settings
from tests.hostile_kit import demo_copy, run, sites, tree_digest

OPEN_RING: dict[str, Any] = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
    "site_id": "P1", "name": "Open", "status": "active", "uses_mercury": True},
    "geometry": {"type": "Polygon", "coordinates": [[[-1.99, 5.30], [-1.98, 5.30], [-1.98, 5.31], [-1.99, 5.31]]]}}]}
SAMPLE = {"sample_id": "X1", "medium": "water", "hg": 1.0, "unit": "ug/L", "sampled_on": "2024-01-01"}
LONG = "x" * 1000


@pytest.fixture
def open_ring(tmp_path: Path) -> Path:
    path = tmp_path / "mining_sites.geojson"
    path.write_text(json.dumps(OPEN_RING))
    return path


def _open_ring_samples(tmp_path: Path) -> Path:
    path = tmp_path / "samples.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": SAMPLE, "geometry": OPEN_RING["features"][0]["geometry"]}]}))
    return path


def _refused(tmp_path: Path, *argv: str, code: int = 2) -> str:
    """Run ``argv``; assert the exit ``code`` and that no file under ``tmp_path`` changed;
    return stdout and stderr together."""
    before = tree_digest(tmp_path)
    got, out, err = run(*argv)
    assert got == code, (got, out, err)
    assert tree_digest(tmp_path) == before, "a refused command wrote a file"
    return out + err


# ---- an unclosed ring, through every command that reads a file -------------------------------
@pytest.mark.parametrize(("argv", "code"), [
    (["import", "{f}"], 2),
    (["validate", "{f}"], 1),
    (["check", "--layer", "mining_sites={f}", "--no-record"], 2),
    (["check", "--layer", "mining_sites={f}"], 2),
    (["report", "--out", "{tmp}/r.html", "--layer", "mining_sites={f}"], 2),
    (["report", "--out", "{tmp}/r.pdf", "--layer", "mining_sites={f}", "--csv", "{tmp}/tables"], 2),
])
def test_an_unclosed_ring_is_a_message(tmp_path: Path, open_ring: Path, argv: list[str], code: int) -> None:
    ws = demo_copy(tmp_path)
    said = _refused(tmp_path, "--workspace", str(ws), *[a.format(f=open_ring, tmp=tmp_path) for a in argv],
                    code=code)
    assert "mining_sites.geojson" in said and "ring" in said.lower()
    assert "row 1" in said and "P1" in said and "closed ring" in said


def test_import_repair_closes_an_unclosed_ring_and_says_where(tmp_path: Path, open_ring: Path) -> None:
    ws = tmp_path / "ws" / "fresh.gpkg"
    code, _, err = run("--workspace", str(ws), "import", str(open_ring), "--repair")
    assert code == 0, err
    assert "row 1" in err and "P1" in err and "ring was closed" in err
    ring = Workspace(ws).read("mining_sites").geometry.iloc[0].exterior
    assert ring.is_closed and len(ring.coords) == 5


def test_an_unclosed_ring_in_samples_for_a_surface(tmp_path: Path) -> None:
    said = _refused(tmp_path, "surface", "--medium", "water", "--out", str(tmp_path / "s.tif"),
                    "--layer", f"samples={_open_ring_samples(tmp_path)}")
    assert "samples.geojson" in said and "row 1" in said and "X1" in said and "ring" in said


# ---- folders where files belong, files where folders belong -----------------------------------
@pytest.mark.parametrize("argv", [
    ["layers"], ["check"], ["check", "--no-record"], ["diff"],
    ["export", "mining_sites", "--out", "{tmp}/e.geojson"],
    ["report", "--out", "{tmp}/r.pdf"],
    ["surface", "--medium", "water", "--out", "{tmp}/s.tif"],
])
def test_a_directory_as_workspace(tmp_path: Path, argv: list[str]) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    said = _refused(tmp_path, "--workspace", str(folder), *[a.format(tmp=tmp_path) for a in argv])
    assert str(folder) in said and "folder" in said


@pytest.mark.parametrize(("argv", "says"), [
    (["export", "mining_sites", "--out", "{dir}"], "is a directory"),
    (["check", "--out", "{dir}"], "is a directory"),
    (["report", "--out", "{dir}"], "is a directory"),
    (["surface", "--medium", "water", "--out", "{dir}"], "is a directory"),
    (["report", "--out", "{tmp}/r.pdf", "--csv", "{file}"], "is a file"),
    (["check", "--out", "{file}/v.geojson"], "is a file, not a folder"),
    (["export", "mining_sites", "--out", "{file}/e.geojson"], "is a file, not a folder"),
])
def test_an_output_that_cannot_be_a_file_is_refused_before_anything_runs(
        tmp_path: Path, argv: list[str], says: str) -> None:
    ws = demo_copy(tmp_path)  # check without --no-record would record a run: it must not
    (tmp_path / "out").mkdir()
    (tmp_path / "plain.txt").write_text("keep me")
    names = {"dir": tmp_path / "out", "file": tmp_path / "plain.txt", "tmp": tmp_path}
    said = _refused(tmp_path, "--workspace", str(ws), *[a.format(**names) for a in argv])
    assert says in said and ("--out" in said or "--csv" in said)


@pytest.mark.parametrize("name", ["x.shp", "x.txt", "violations"])
def test_check_out_without_a_writer_records_no_run(tmp_path: Path, name: str) -> None:
    ws = demo_copy(tmp_path)
    runs = len(Workspace(ws).runs(100))
    said = _refused(tmp_path, "--workspace", str(ws), "check", "--out", str(tmp_path / name))
    assert name in said and ".geojson" in said and "expected" in said
    assert len(Workspace(ws).runs(100)) == runs


# ---- dates and numbers -------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["2024-99-99", "2024-02-30", "20240630", "2024-W01-1", "soon"])
def test_an_impossible_date_for_report_today(tmp_path: Path, value: str) -> None:
    said = _refused(tmp_path, "report", "--out", str(tmp_path / "r.pdf"), "--today", value)
    assert "--today" in said and repr(value) in said and "YYYY-MM-DD" in said


@pytest.mark.parametrize("value", ["-5", "inf", "nan", "-inf", "ten"])
def test_a_bad_accuracy_is_refused(tmp_path: Path, value: str) -> None:
    ws = demo_copy(tmp_path)
    src = tmp_path / "deposits.geojson"
    sites(2).rename(columns={"site_id": "deposit_id"})[["deposit_id", "name", "geometry"]].to_file(src)
    said = _refused(tmp_path, "--workspace", str(ws), "import", str(src), "--layer", "deposits",
                    "--accuracy-m", value)
    assert "--accuracy-m" in said and repr(value) in said and ">= 0" in said


def test_an_accuracy_of_zero_is_kept(tmp_path: Path) -> None:
    ws = tmp_path / "ws.gpkg"
    src = tmp_path / "mining_sites.geojson"
    sites(2).to_file(src)
    assert run("--workspace", str(ws), "import", str(src), "--accuracy-m", "0")[0] == 0
    assert Workspace(ws).info("mining_sites").accuracy_m == 0


@pytest.mark.parametrize("value", [-5.0, math.inf, math.nan])
def test_the_service_refuses_a_bad_accuracy_too(tmp_path: Path, value: float) -> None:
    ws = tmp_path / "ws.gpkg"
    svc = HgWatch(Settings.from_env(workspace=ws))
    src = tmp_path / "mining_sites.geojson"
    sites(1).to_file(src)
    with pytest.raises(InputError, match="accuracy_m"):
        svc.add_layers([load_layer(src)], source="t", licence="x", accuracy_m=value)
    assert not ws.exists()


@pytest.mark.parametrize(("flag", "value"), [
    ("--cell-m", "0"), ("--cell-m", "-100"), ("--cell-m", "nan"), ("--cell-m", "inf"), ("--cell-m", "wide"),
    ("--max-distance-m", "0"), ("--max-distance-m", "-5"), ("--max-distance-m", "inf"),
    ("--max-distance-m", "nan"),
])
def test_surface_sizes_and_distances_must_be_finite_and_positive(tmp_path: Path, flag: str, value: str) -> None:
    ws = demo_copy(tmp_path)
    said = _refused(tmp_path, "--workspace", str(ws), "surface", "--medium", "water",
                    "--out", str(tmp_path / "s.tif"), flag, value)
    assert flag in said and repr(value) in said and "> 0" in said


def test_a_zero_cell_size_is_not_quietly_the_default_in_the_service(tmp_path: Path) -> None:
    settings = Settings.from_env(workspace=tmp_path / "none.gpkg")
    points = gpd.GeoDataFrame([SAMPLE, {**SAMPLE, "sample_id": "X2", "hg": 3.0}],
                              geometry=[shapely.Point(-1.99, 5.30), shapely.Point(-1.98, 5.31)], crs=4326)
    guidelines, classes = settings.guidelines
    classed = classed_samples(points, guidelines, classes, source="hand-made")
    with pytest.raises(InputError, match="cell_m 0.0: expected a cell size"):
        medium_surface(classed, medium="water", exposure=settings.exposure, cell_m=0.0)
    assert medium_surface(classed, medium="water", exposure=settings.exposure,
                          cell_m=250.0).grid.cell_m == 250.0


def test_a_bbox_may_start_with_a_minus_sign_and_must_be_finite(tmp_path: Path) -> None:
    ws = demo_copy(tmp_path)
    out = tmp_path / "e.geojson"
    code, stdout, err = run("--workspace", str(ws), "export", "mining_sites", "--out", str(out),
                            "--bbox", "-2.5,5.0,-1.5,6.0")  # the example the refusals print
    assert code == 0, err
    assert "mining_sites features" in stdout and out.exists()
    out.unlink()
    said = _refused(tmp_path, "--workspace", str(ws), "export", "mining_sites", "--out", str(out),
                    "--bbox", "-inf,5,-1.5,6")
    assert "--bbox '-inf,5,-1.5,6'" in said


# ---- long text in a report ---------------------------------------------------------------------
@pytest.mark.parametrize("columns", [
    {"name": [LONG, "Beta"]},
    {"site_id": [LONG, "B"]},
    {"admin_area": [LONG, "y" * 1000]},  # two areas: a small map per area, captioned
    {"name": ["word " * 300, "Beta"], "admin_area": ["a " * 500, "b"]},
])
@pytest.mark.parametrize("suffix", [".pdf", ".html"])
def test_very_long_text_in_a_report(tmp_path: Path, columns: dict[str, list[object]], suffix: str) -> None:
    src = tmp_path / "mining_sites.geojson"
    sites(2, gold_kg_per_year=[1.0, 2.0], **columns).to_file(src)
    out = tmp_path / f"r{suffix}"
    code, _, err = run("report", "--out", str(out), "--layer", f"mining_sites={src}")
    assert code == 0, err
    if suffix == ".pdf":
        text = "".join(page.extract_text() for page in PdfReader(out).pages)
        assert "Mercury used" in text
        if LONG in str(columns):
            assert "xxxx" in text and "\u2026" in text and LONG not in "".join(text.split())
    else:
        assert "overflow-wrap:anywhere" in out.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["mining_sites.geojson", out.name])


def test_a_long_area_name_asked_for_by_name(tmp_path: Path) -> None:
    src = tmp_path / "mining_sites.geojson"
    sites(2, admin_area=[LONG, LONG], gold_kg_per_year=[1.0, 2.0]).to_file(src)
    code, _, err = run("report", "--out", str(tmp_path / "r.pdf"), "--area", LONG,
                       "--layer", f"mining_sites={src}")
    assert code == 0, err
    assert "\u2026" in PdfReader(tmp_path / "r.pdf").pages[0].extract_text()


def test_a_refused_report_leaves_the_last_one_as_it_was(tmp_path: Path) -> None:
    src = tmp_path / "mining_sites.geojson"
    sites(2, gold_kg_per_year=[1.0, 2.0]).to_file(src)
    out = tmp_path / "r.pdf"
    assert run("report", "--out", str(out), "--layer", f"mining_sites={src}")[0] == 0
    said = _refused(tmp_path, "report", "--out", str(out), "--area", "Nowhere",
                    "--layer", f"mining_sites={src}", "--csv", str(tmp_path / "tables"))
    assert "Nowhere" in said


# ---- validate: errors of the input exit 1 ------------------------------------------------------
def test_validate_exits_1_for_crs_errors_and_unreadable_geopackages(tmp_path: Path) -> None:
    csv_file = tmp_path / "mining_sites.csv"
    csv_file.write_text("site_id,x,y\nA,500000,600000\n")
    said = _refused(tmp_path, "validate", str(csv_file), code=1)
    assert "mining_sites.csv" in said and "--crs" in said and "1 error:" in said
    broken = tmp_path / "mining_sites.gpkg"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x13" * 500)
    said = _refused(tmp_path, "validate", str(broken), code=1)
    assert "mining_sites.gpkg" in said and "cannot read" in said


def test_a_plain_sqlite_upload_is_not_a_geopackage(tmp_path: Path) -> None:
    path = tmp_path / "mining_sites.gpkg"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE mining_sites (site_id TEXT)")
    con.commit()
    con.close()
    said = _refused(tmp_path, "validate", str(path), code=1)
    assert "GeoPackage" in said


def test_an_unknown_crs_member_is_refused(tmp_path: Path) -> None:
    data = json.loads(sites(1).to_json())
    data["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::999999"}}
    src = tmp_path / "mining_sites.geojson"
    src.write_text(json.dumps(data))
    assert "999999" in _refused(tmp_path, "validate", str(src), code=1)


def test_a_geocentric_crs_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "mining_sites.csv"
    src.write_text("site_id,x,y\nA,1,2\n")
    assert "4978" in _refused(tmp_path, "validate", str(src), "--crs", "EPSG:4978", code=1)


def test_messages_print_values_not_numpy_reprs(tmp_path: Path) -> None:
    src = tmp_path / "mining_sites.csv"
    src.write_text("site_id,status,lon,lat,miners\nA,active,-1.99,5.3,inf\nB,active,-1.99,5.31,-4\n")
    said = _refused(tmp_path, "validate", str(src), code=1)
    assert "np.float64" not in said and "np.int64" not in said
    assert "inf" in said and "row 1" in said and "'miners'" in said


def test_an_xlsx_with_two_sheets_is_not_silently_cut(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = "north"
    first.append(["site_id", "status", "lon", "lat"])
    first.append(["A", "active", -1.99, 5.30])
    second = book.create_sheet("south")
    second.append(["site_id", "status", "lon", "lat"])
    second.append(["B", "active", -1.98, 5.31])
    path = tmp_path / "mining_sites.xlsx"
    book.save(path)
    said = _refused(tmp_path, "validate", str(path), code=1)
    assert "north" in said and "south" in said
    code, _, err = run("validate", str(path), "--source-layer", "south")
    assert code == 0, err


def test_duplicate_csv_headers_are_an_error(tmp_path: Path) -> None:
    src = tmp_path / "mining_sites.csv"
    src.write_text("site_id,name,name,lon,lat\nA,x,y,-1.99,5.3\n")
    said = _refused(tmp_path, "validate", str(src), code=1)
    assert "'name'" in said and "duplicate" in said.lower()


def test_a_formula_cell_in_xlsx_is_named(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["site_id", "status", "lon", "lat"])
    sheet.append(["A", "active", "=1-3", 5.30])
    path = tmp_path / "mining_sites.xlsx"
    book.save(path)
    said = _refused(tmp_path, "validate", str(path), code=1)
    assert "C2" in said and "formula" in said.lower()


# ---- outputs appear whole, and only the output appears -----------------------------------------
def test_a_surface_and_its_overwrite_leave_no_temporary_file(tmp_path: Path) -> None:
    ws = demo_copy(tmp_path)
    out = tmp_path / "s.tif"
    for cell in ("500", "250"):
        code, stdout, err = run("--workspace", str(ws), "surface", "--medium", "water", "--out", str(out),
                                "--cell-m", cell)
        assert code == 0, err
        assert f"cells of {cell} m" in stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.tif", "ws"]


@pytest.mark.parametrize("name", ["s.png", "s.txt", "s"])
def test_surface_out_must_be_a_geotiff(tmp_path: Path, name: str) -> None:
    ws = demo_copy(tmp_path)
    said = _refused(tmp_path, "--workspace", str(ws), "surface", "--medium", "water", "--out", str(tmp_path / name))
    assert ".tif" in said


def test_a_surface_too_large_names_both_its_causes(tmp_path: Path) -> None:
    """A huge max distance, not the cell size, makes this grid too large; the message says so."""
    ws = demo_copy(tmp_path)
    said = _refused(tmp_path, "--workspace", str(ws), "surface", "--medium", "water",
                    "--out", str(tmp_path / "s.tif"), "--cell-m", "100", "--max-distance-m", "2000000")
    assert "cell_m, max_distance_m" in said and "2,000,000 m" in said and "smaller max distance" in said
