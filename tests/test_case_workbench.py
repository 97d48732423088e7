"""The case workbench (issue 12) through streamlit.testing.v1.AppTest, on a copy of the demo
workspace after one recorded run (one case per violation): the case columns and the "my cases"
filter, the moves a field account is offered and makes (the store says so afterwards, and the
audit trail names the account), a move refused without its reason (nothing changes), a comment
on the timeline, and a partner who gets the counts by status and no case detail.
Expected values are read from the store with the cases service or counted with plain pandas."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from layers.store import cases as stored
from layers.store.open import open_store
from layers.store.workspace import DEFAULT_PATH
from services import audit, auth, cases, casework
from services.auth import Identity
from services.hgwatch import HgWatch
from settings import Settings
from ui import login

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "ui/pages/violations.py"
PASSWORD = "a long password"
pytestmark = pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workspace after one recorded run of every rule (so every violation has a case)."""
    path = tmp_path_factory.mktemp("cases") / "base.gpkg"
    shutil.copyfile(DEFAULT_PATH, path)
    assert HgWatch(Settings(workspace=path)).check().run_id is not None
    return path


@pytest.fixture()
def ws(recorded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ws.gpkg"
    shutil.copyfile(recorded, path)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    return path


def _page(who: Identity | None = None, **state: object) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    if who is not None:
        at.session_state[login._KEY] = who
    at.run()
    at.switch_page(PAGE)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _table(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "violation_id" in d.value.columns)


def _field_case(ws: Path) -> tuple[Identity, str]:
    """A field account of one area and a case of that area assigned to it."""
    store = open_store(ws)
    listed = cases.list_cases(store, auth.LOCAL)
    row = listed.iloc[0]
    auth.add_account(store, "kofi", "field", PASSWORD, [str(row["admin_area"])])
    auth.add_account(store, "ana", "analyst", PASSWORD)
    cases.assign(store, Identity("ana", "analyst"), str(row["violation_id"]), "kofi")
    return Identity("kofi", "field", (str(row["admin_area"]),)), str(row["violation_id"])


def test_the_table_has_each_cases_status_assignee_last_visit_and_days_open(ws: Path) -> None:
    store = open_store(ws)
    listed = cases.list_cases(store, auth.LOCAL)
    mine = str(listed["violation_id"].iloc[3])
    cases.assign(store, auth.LOCAL, mine, "local")
    at = _page()
    table = _table(at)
    assert list(table.columns[:5]) == ["violation_id", "status", "assignee", "last_visit", "days_open"]
    assert len(table) == len(listed) and set(table["violation_id"]) == set(listed["violation_id"])
    assert (table.set_index("violation_id").loc[mine, ["status", "assignee"]] == ["assigned", "local"]).all()
    assert set(table["days_open"]) == {0} and set(table["last_visit"]) == {"not visited yet"}  # opened today, never visited
    at.toggle(key="wb_mine").set_value(True).run()
    assert list(_table(at)["violation_id"]) == [mine]
    at.toggle(key="wb_mine").set_value(False).run()
    at.multiselect(key="wb_status").set_value(["new"]).run()
    assert len(_table(at)) == len(listed) - 1


def test_a_field_account_is_offered_its_moves_and_moves_its_case_to_visited(ws: Path) -> None:
    who, vid = _field_case(ws)
    at = _page(who, wb_case=vid, wb_my_areas=False, f_admin=[])  # every area's: those outside its own have no case for it
    table = _table(at)
    seen = cases.list_cases(open_store(ws), who).set_index("violation_id")["status"]
    assert 0 < len(seen) < len(table) and set(seen) == {"new", "assigned"}
    assert table["status"].tolist() == [seen.get(v, casework.NO_CASE) for v in table["violation_id"]]
    assert (table.loc[table["admin_area"] != who.areas[0], "status"] == casework.NO_CASE).all()  # not read for it
    target = at.selectbox(key="case_target")
    assert target.options == casework.moves(who, "assigned") == ["visited"]
    at.text_area(key="case_note").input("pits dug at the river bank")
    at.button(key="FormSubmitter:case_move-Move the case").click().run()
    assert not at.exception, at.exception
    store = open_store(ws)
    found = cases.case_file(store, who, vid)
    assert found.case.status == "visited" and len(found.visits) == 1
    assert [c.text for c in found.comments] == ["pits dug at the river bank"]
    assert [(r.who, r.action) for r in audit.trail(store) if r.target == vid][-1] == ("kofi", "case status")
    assert any("case moved to visited" in s.value for s in at.success)
    assert at.selectbox(key="case_target").options == ["confirmed", "false_positive", "not_accessible", "resolved"]
    assert any("kofi: case status - status visited" in t.value for t in at.text)  # on the timeline


def test_a_move_without_its_reason_is_refused_and_nothing_changes(ws: Path) -> None:
    who, vid = _field_case(ws)
    cases.set_status(open_store(ws), who, vid, "visited")
    at = _page(who, wb_case=vid)
    at.selectbox(key="case_target").set_value("false_positive")
    at.button(key="FormSubmitter:case_move-Move the case").click().run()
    assert any("needs a reason" in e.value for e in at.error), [e.value for e in at.error]
    with stored.reading(open_store(ws)) as tables:
        assert tables.get(vid).status == "visited"  # type: ignore[union-attr]


def test_a_comment_goes_on_the_timeline(ws: Path) -> None:
    vid = str(cases.list_cases(open_store(ws), auth.LOCAL)["violation_id"].iloc[0])
    at = _page(wb_case=vid)
    at.text_area(key="case_comment_text").input("owner met on site; <b>not</b> markup")
    at.button(key="FormSubmitter:case_comment-Add the comment").click().run()
    assert not at.exception, at.exception
    assert any("case comment - owner met on site; <b>not</b> markup" in t.value for t in at.text)
    assert any("rule run - opened this case" in t.value for t in at.text)
    assert [c.text for c in cases.case_file(open_store(ws), auth.LOCAL, vid).comments] == [
        "owner met on site; <b>not</b> markup"]


def test_a_partner_sees_the_counts_by_status_and_no_case(ws: Path) -> None:
    store = open_store(ws)
    listed = cases.list_cases(store, auth.LOCAL)
    auth.add_account(store, "pat", "partner", PASSWORD)
    at = _page(Identity("pat", "partner"))
    assert [d.value.to_dict("records") for d in at.dataframe] == [
        [{"status": s, "cases": n} for s, n in sorted(listed["status"].value_counts().items())]]
    shown = " ".join(str(e.value) for e in [*at.text, *at.markdown, *at.caption])
    assert not any(v in shown for v in listed["violation_id"]) and not at.selectbox
    assert [b.key for b in at.button] == ["log_out"] and not at.get("download_button")


def test_days_open_counts_to_today_or_to_the_closing() -> None:
    today = date(2026, 3, 10)
    assert casework.days_open("2026-03-01T08:00:00+00:00", "visited", "2026-03-02T00:00:00+00:00", today=today) == 9
    assert casework.days_open("2026-03-01T08:00:00+00:00", "closed", "2026-03-04T09:00:00+00:00", today=today) == 3
    assert casework.days_open(None, "new", None, today=today) is None
