"""The workbench table says what an empty case cell means (HW): a case with no assignee says "not assigned", one
never visited "not visited yet", where a grey "None" read as a person called None or as a bug; a violation
with no case the role sees keeps them empty, and every empty cell (its days open too) is drawn blank, not
"None" (the table's placeholder). What the table holds is read through AppTest as a field coordinator whose
own case was assigned and visited; the expected values come from the store through the cases service."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from layers.store.open import open_store
from layers.store.workspace import DEFAULT_PATH
from services import auth, cases, casework, workbench
from services.auth import Identity
from services.hgwatch import HgWatch
from settings import Settings
from ui import login

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PASSWORD = "a long password"
pytestmark = pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")


@pytest.fixture()
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo after one recorded run (a case per violation), with the environment pointing at it."""
    path = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, path)
    assert HgWatch(Settings(workspace=path)).check().run_id is not None
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    return path


def test_empty_case_cells_say_what_they_mean_and_other_empty_cells_are_blank(ws: Path) -> None:
    store = open_store(ws)
    listed = cases.list_cases(store, auth.LOCAL)
    area = str(listed["admin_area"].iloc[0])
    auth.add_account(store, "kofi", "field", PASSWORD, [area])
    auth.add_account(store, "ana", "analyst", PASSWORD)
    kofi = Identity("kofi", "field", (area,))
    visited = str(listed["violation_id"].iloc[0])
    cases.assign(store, Identity("ana", "analyst"), visited, "kofi")
    cases.set_status(store, kofi, visited, "visited")
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[login._KEY] = kofi
    at.run()
    at.switch_page("ui/pages/violations.py")
    at.session_state["f_admin"] = []  # every area: those outside its own have no case for it
    at.session_state["wb_my_areas"] = False
    at.run()
    assert not at.exception, at.exception
    shown = at.dataframe(key="wb_table")
    assert shown.proto.HasField("placeholder") and shown.proto.placeholder == ""  # blank, not a grey "None"
    table = shown.value.set_index("violation_id")
    seen = cases.list_cases(open_store(ws), kofi).set_index("violation_id")
    assert 1 < len(seen) < len(table)
    own = table.loc[seen.index]
    stored = seen.loc[visited]
    assert (own.loc[visited, "assignee"], own.loc[visited, "last_visit"]) == ("kofi", stored["last_visit"])
    assert isinstance(stored["last_visit"], str) and stored["last_visit"].startswith("20")
    others = own.drop(index=visited)
    assert set(others["assignee"]) == {workbench.NOT_ASSIGNED} == {"not assigned"}
    assert set(others["last_visit"]) == {workbench.NOT_VISITED} == {"not visited yet"}
    assert set(own["days_open"]) == {0}  # opened today: 0, never blank
    outside = table[table["status"] == casework.NO_CASE]
    assert len(outside) == len(table) - len(seen)
    assert outside["assignee"].isna().all() and outside["last_visit"].isna().all() and outside["days_open"].isna().all()


def test_the_words_are_for_the_screen_only() -> None:
    """The CSV of the table (``csv_text`` of the rows, not of ``on_screen``) keeps the empty cells; ``on_screen``
    leaves the table it is given as it was."""
    table = pd.DataFrame({"violation_id": ["v1", "v2", "v3"], "status": ["new", "visited", casework.NO_CASE],
                          "assignee": [None, "kofi", None], "last_visit": [None, "2026-11-28T10:00:00+00:00", None],
                          "days_open": pd.array([3, 5, None], dtype="Int64")})
    before = table.copy()
    screen = workbench.on_screen(table)
    assert screen["assignee"].fillna("(empty)").tolist() == ["not assigned", "kofi", "(empty)"]
    assert screen["last_visit"].fillna("(empty)").tolist() == ["not visited yet", "2026-11-28T10:00:00+00:00", "(empty)"]
    assert screen["days_open"].fillna(-1).tolist() == [3, 5, -1]
    pd.testing.assert_frame_equal(table, before)
    assert workbench.csv_text(table).splitlines()[1:3] == ["v1,new,,,3", "v2,visited,kofi,2026-11-28T10:00:00+00:00,5"]


def test_a_violation_with_no_case_says_so_in_words_on_screen_and_in_the_csv() -> None:
    """Its status was "-", which the CSV's formula defusing wrote as "'-" (a spreadsheet's text of a minus)."""
    table = pd.DataFrame({"violation_id": ["v3"], "status": [casework.NO_CASE], "assignee": [None],
                          "last_visit": [None], "days_open": pd.array([None], dtype="Int64")})
    assert workbench.on_screen(table)["status"].tolist() == ["no case"]
    assert workbench.csv_text(table).splitlines()[1] == "v3,no case,,,"
