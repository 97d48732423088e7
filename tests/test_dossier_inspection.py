"""Inspection figures in the inventory report (issue 12): per admin area the cases by status, the
median days from the flag to the first verdict and the confirmed share, worked out by hand on
made-up times; then on a workspace whose cases were moved through the service, in the report's
HTML and PDF; and only for the roles that see every case."""
from __future__ import annotations

import io
import math
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pypdf
import pytest
from streamlit.testing.v1 import AppTest

from layers.store.open import open_store
from layers.store.workspace import DEFAULT_PATH
from render.report.tables import TABLE_TITLES
from services import auth, cases, inspection
from services.auth import Identity
from services.hgwatch import HgWatch
from settings import Settings
from tests.test_dossier import ANALYST, NORTH, S1, _flagged

APP = str(Path(__file__).resolve().parent.parent / "app.py")
STATUSES = ("new", "visited", "confirmed", "false_positive", "closed")


def test_the_figures_by_hand() -> None:
    frame = pd.DataFrame({"violation_id": ["a1", "a2", "a3", "b1"], "admin_area": ["A", "A", "A", None],
                          "status": ["confirmed", "closed", "new", "confirmed"],
                          "opened_at": ["2026-01-01T00:00:00+00:00"] * 3 + ["2026-02-01T12:00:00+00:00"]})
    verified = {"a1": "2026-01-03T00:00:00+00:00", "a2": "2026-01-05T00:00:00+00:00", "b1": "2026-02-11T12:00:00+00:00"}
    verdicts = {"a1": "confirmed", "a2": "false_positive", "b1": "confirmed"}
    got = inspection.inspection_figures(frame, verified, verdicts, statuses=STATUSES).set_index("admin_area")
    assert list(got.index) == ["(no area)", "A", "All areas"]
    assert got.loc["A", ["new", "confirmed", "closed", "cases", "verified"]].tolist() == [1, 1, 1, 3, 2]
    assert got.loc["A", "median_days_to_verification"] == 3.0 and got.loc["A", "confirmed_share"] == 0.5
    assert got.loc["(no area)", "median_days_to_verification"] == 10.0 and got.loc["(no area)", "confirmed_share"] == 1.0
    assert got.loc["All areas", "median_days_to_verification"] == 4.0
    assert got.loc["All areas", "confirmed_share"] == round(2 / 3, 3)
    none = inspection.inspection_figures(frame.iloc[2:3], {}, {}, statuses=STATUSES)
    assert math.isnan(none.iloc[0]["median_days_to_verification"]) and math.isnan(none.iloc[0]["confirmed_share"])


def test_the_report_holds_the_inspection_table(tmp_path: Path) -> None:
    settings = Settings(workspace=tmp_path / "ws.gpkg")
    store = _flagged(settings)
    cases.set_status(store, NORTH, S1, "visited")
    cases.set_status(store, NORTH, S1, "confirmed")
    table = inspection.inspection_table(store).set_index("admin_area")
    assert table.loc["North", ["visited", "confirmed", "cases", "verified", "confirmed_share"]].tolist() == [0, 1, 1, 1, 1.0]
    assert 0 <= table.loc["North", "median_days_to_verification"] < 0.1  # moved seconds after the run
    svc = HgWatch(settings)
    html, _ = svc.report(tmp_path / "r.html", area=None, today=date(2026, 11, 26))
    page = html.read_text(encoding="utf-8")
    assert TABLE_TITLES["inspection"] in page and "confirmed_share" in page
    pdf, _ = svc.report(tmp_path / "r.pdf", area=None, today=date(2026, 11, 26))
    text = " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.read_bytes())).pages).split())
    assert "Inspections per admin area" in text


@pytest.mark.parametrize(("who", "shown"), [(ANALYST, True), (NORTH, False), (Identity("unep", "partner"), False)])
def test_only_roles_that_see_every_case_get_the_figures(tmp_path: Path, who: Identity, shown: bool) -> None:
    settings = Settings(workspace=tmp_path / "ws.gpkg")
    _flagged(settings)
    table = HgWatch(settings, who).inventory(None, date(2026, 11, 26)).tables["inspection"]
    assert (not table.empty) is shown


@pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")
def test_the_inventory_page_shows_the_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(ws))
    HgWatch(Settings(workspace=ws)).check()
    expected = cases.list_cases(open_store(ws), auth.LOCAL)["status"].value_counts()
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("ui/pages/inventory.py").run()
    assert not at.exception, at.exception
    shown = next(d.value for d in at.dataframe if "confirmed_share" in d.value.columns).set_index("admin_area")
    assert int(shown.loc["All areas", "new"]) == int(expected["new"]) == int(shown.loc["All areas", "cases"])
