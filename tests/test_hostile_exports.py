"""Issue: spreadsheet formulas and broken XML in exports. Every CSV the product writes defuses
formulas in values and in header names, through one writer; KML is well-formed XML whatever the
names and values, and every export re-imports."""
from __future__ import annotations

import ast
import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from layers.io.readers import load_layer
from tests.hostile_kit import ROOT, run, sites

FORMULAS = ["=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]
RISKY_START = ("=", "+", "-", "@", "\t", "\r")


def _cells(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    return [cell for row in rows for cell in row]


def _armed(cells: list[str]) -> list[str]:
    """Cells a spreadsheet would run: starting with a formula character and not a plain number."""
    out = []
    for cell in cells:
        if cell.startswith(RISKY_START):
            try:
                float(cell)
            except ValueError:
                out.append(cell)
    return out


@pytest.fixture
def hostile_ws(tmp_path: Path) -> Path:
    """A workspace whose sites carry formulas in names, admin areas, ids and a column name."""
    n = len(FORMULAS)
    frame = sites(n, name=FORMULAS, admin_area=FORMULAS, gold_kg_per_year=[1.0] * n,
                  survey_date=["2024-01-01"] * n, survey_round=FORMULAS,
                  **{"=cmd|' /C calc'!A0": ["v"] * n})
    frame["site_id"] = [f"{f}-{i}" for i, f in enumerate(FORMULAS)]
    src = tmp_path / "mining_sites.geojson"
    frame.to_file(src)
    ws = tmp_path / "ws.gpkg"
    code, _, err = run("--workspace", str(ws), "import", str(src))
    assert code == 0, err
    return ws


def test_export_csv_defuses_values_and_headers(hostile_ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "sites.csv"
    assert run("--workspace", str(hostile_ws), "export", "mining_sites", "--out", str(out),
               "--profile", "internal")[0] == 0
    cells = _cells(out)
    assert not _armed(cells), _armed(cells)
    assert any(c.endswith("HYPERLINK(\"http://x\",\"y\")") for c in cells)  # the value is kept, defused


def test_report_csv_tables_defuse_formulas(hostile_ws: Path, tmp_path: Path) -> None:
    folder = tmp_path / "tables"
    code, _, err = run("--workspace", str(hostile_ws), "report", "--out", str(tmp_path / "r.html"),
                       "--csv", str(folder))
    assert code == 0, err
    written = sorted(folder.glob("*.csv"))
    assert {"sites.csv", "by_round.csv", "trends.csv"} <= {p.name for p in written}
    for path in written:
        assert not _armed(_cells(path)), (path.name, _armed(_cells(path)))


def test_check_out_csv_defuses_formulas(hostile_ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "v.csv"
    code, _, err = run("--workspace", str(hostile_ws), "check", "--out", str(out), "--no-record")
    assert code == 0, err
    assert not _armed(_cells(out))


def test_one_csv_writer_serves_every_csv() -> None:
    """Only the CSV writer module calls ``to_csv`` or the csv module's writers."""
    writers = []
    for path in [*ROOT.glob("*.py"), *[p for d in ("geo", "layers", "settings", "render", "services", "ui")
                                       for p in (ROOT / d).rglob("*.py")]]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("to_csv", "writer", "DictWriter"):
                writers.append(str(path.relative_to(ROOT)))
    assert sorted(set(writers)) == ["layers/io/csvfile.py"]


HOSTILE_NAMES = ["a<b", "]]><script>alert(1)</script>", "x&y", "quote\"d", "\u00e9t\u00e9 \u2603"]


def test_kml_export_is_well_formed_and_reimports(tmp_path: Path) -> None:
    n = len(HOSTILE_NAMES)
    frame = sites(n, name=HOSTILE_NAMES, notes=[f"<![CDATA[{v}]]>" for v in HOSTILE_NAMES],
                  **{"a<b": HOSTILE_NAMES, "c]]>d": HOSTILE_NAMES})
    src = tmp_path / "mining_sites.geojson"
    frame.to_file(src)
    ws = tmp_path / "ws.gpkg"
    assert run("--workspace", str(ws), "import", str(src))[0] == 0
    out = tmp_path / "out.kml"
    code, _, err = run("--workspace", str(ws), "export", "mining_sites", "--out", str(out), "--profile", "internal")
    assert code == 0, err
    ET.parse(out)  # well-formed
    back = load_layer(out, "mining_sites")
    assert sorted(back.gdf["name"]) == sorted(HOSTILE_NAMES)
    assert sorted(back.gdf["notes"]) == sorted(f"<![CDATA[{v}]]>" for v in HOSTILE_NAMES)


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".csv", ".kml"])
@pytest.mark.parametrize("profile", ["internal", "partner", "public"])
def test_every_export_reimports(tmp_path: Path, suffix: str, profile: str) -> None:
    frame = sites(4, name=["=1+1", "a<b", "]]>", "plain"], notes=["n1", None, "n3", "=x"],
                  gold_kg_per_year=[1.5, None, 2.0, 0.0])
    src = tmp_path / "mining_sites.geojson"
    frame.to_file(src)
    ws = tmp_path / "ws.gpkg"
    assert run("--workspace", str(ws), "import", str(src))[0] == 0
    out = tmp_path / f"out{suffix}"
    assert run("--workspace", str(ws), "export", "mining_sites", "--out", str(out), "--profile", profile)[0] == 0
    back = load_layer(out, "mining_sites")
    assert sorted(back.gdf["site_id"]) == ["S1", "S2", "S3", "S4"]
    assert sorted(back.gdf["name"]) == sorted(["=1+1", "a<b", "]]>", "plain"])
    if profile != "public":
        assert sorted(str(v) for v in back.gdf["notes"].dropna()) == ["=x", "n1", "n3"]
    ws2 = tmp_path / "ws2.gpkg"
    code, _, err = run("--workspace", str(ws2), "import", str(out), "--layer", "mining_sites")
    assert code == 0, err
    json.dumps(0)
