"""`cli.py import`, `validate`, `layers` and `export` on the shared real data."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import cli
from tests.conftest import ROOT, SHARED

GHANA = SHARED / "ghana"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_reports_problems_and_changes_nothing(capsys: pytest.CaptureFixture[str], workspace_path: Path) -> None:
    code, out, _ = _run(capsys, "--workspace", str(workspace_path), "validate",
                        str(GHANA / "amw_mining_footprints_2024.geojson"), "--layer", "mining_sites")
    assert code == 1
    assert "Ring Self-intersection" in out and "pass --repair" in out
    assert not workspace_path.exists()
    code, out, _ = _run(capsys, "--workspace", str(workspace_path), "validate",
                        str(GHANA / "amw_mining_footprints_2024.geojson"), "--layer", "mining_sites",
                        "--repair")
    assert code == 0 and "685 mining_sites features are valid" in out


def test_import_real_files_then_list_and_export(capsys: pytest.CaptureFixture[str], workspace_path: Path,
                                                tmp_path: Path) -> None:
    ws = ["--workspace", str(workspace_path)]
    code, _, err = _run(capsys, *ws, "import", str(GHANA / "gshhg_rivers.geojson"), "--set", "kind=river",
                        "--repair", "--licence", "LGPL-3.0-or-later", "--accuracy-m", "500")
    assert code == 0, err
    # 25 of the 76 rivers are two copies of one point (GMT cuts at whole degrees): make_valid leaves nothing of them,
    # so --repair leaves them out, each named (they were stored with an empty geometry before session 12)
    assert "stored 51 features in layer water_bodies" in err and err.count("the row was left out") == 25
    code, _, err = _run(capsys, *ws, "import", str(GHANA / "osm_places_2019.geojson"),
                        "--layer", "residential_areas", "--licence", "ODbL-1.0")
    assert code == 0, err
    code, out, _ = _run(capsys, *ws, "layers")
    assert "water_bodies" in out and "±500 m" in out and "7249" in out
    out_path = tmp_path / "towns.geojson"
    code, out, _ = _run(capsys, *ws, "export", "residential_areas", "--out", str(out_path),
                        "--filter", "place=town,city")
    assert code == 0
    doc = json.loads(out_path.read_text())
    assert {f["properties"]["place"] for f in doc["features"]} <= {"town", "city"}
    assert doc["hgwatch"]["layers"][0]["licence"] == "ODbL-1.0"


def test_refused_import_exits_2_and_leaves_workspace_unchanged(capsys: pytest.CaptureFixture[str],
                                                               workspace_path: Path) -> None:
    ws = ["--workspace", str(workspace_path)]
    assert _run(capsys, *ws, "import", str(GHANA / "gshhg_lakes.geojson"), "--layer", "water_bodies")[0] == 0
    before = hashlib.sha256(workspace_path.read_bytes()).hexdigest()
    code, _, err = _run(capsys, *ws, "import", str(SHARED / "peru" / "gold_mining_points.geojson"),
                        "--layer", "mining_sites")
    assert code == 2
    assert "duplicate id" in err and "nothing was imported" in err
    assert hashlib.sha256(workspace_path.read_bytes()).hexdigest() == before


def test_user_errors_print_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "sites.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [')
    proc = subprocess.run([sys.executable, str(ROOT / "cli.py"), "--workspace", str(tmp_path / "w.gpkg"),
                           "import", str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "hgwatch: sites.geojson: cannot read the file: Failed to read GeoJSON data" in proc.stderr
