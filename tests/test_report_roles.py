"""``cli.py --as <account> report``: the report is made from what that account may see.

A partner's report held the per-area inspection table (cases by status, days to verification), which
reads every case and which the dashboard withholds from a partner. The report now reads the cases only for
a role that sees all restricted data, and the layers as ``services.auth.read_layer`` gives them to the
account (its tables print no restricted field either way). An analyst's report of the same workspace holds
the table (the control)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import cli
from layers.store.workspace import Workspace
from services import auth

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo_workspace.gpkg"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    path = tmp_path / "ws.gpkg"
    shutil.copy(DEMO, path)
    store = Workspace(path)
    assert cli.main(["--workspace", str(path), "check", "--only", "HG-WATER-100"]) == 0  # a recorded run: cases
    auth.add_account(store, "pat", "partner", "a long password")
    return path


def _report(ws: Path, tmp_path: Path, *who: str) -> str:
    out, tables = tmp_path / f"r{len(who)}.html", tmp_path / f"csv{len(who)}"
    assert cli.main(["--workspace", str(ws), *who, "report", "--out", str(out), "--csv", str(tables)]) == 0
    return out.read_text() + "".join(p.read_text() for p in sorted(tables.glob("*.csv")))


def test_a_partners_report_holds_no_case_figures(ws: Path, tmp_path: Path) -> None:
    analyst = _report(ws, tmp_path)
    assert "Inspections per admin area" in analyst and "median_days" in analyst  # the control
    partner = _report(ws, tmp_path, "--as", "pat")
    assert "Inspections per admin area" not in partner and "median_days" not in partner
