"""The violations workbench as its users met it in a browser walk-through (session 11), through
streamlit.testing.v1.AppTest on copies of the demo workspace:

- an analyst who presses "Record a full run now" sees the run's cases in the table at once (the
  table above the button used to stay "no run recorded", every status "-", while a message at the
  bottom said the run was recorded);
- a case chosen under "Work on case" shows its detail beside the map (it used to say "Select a
  violation in the table" while its case was worked below);
- the per-unit table's header says that its flagged count holds tailings too (the demo's DEMO South
  showed 99 flagged against 98 sites under a header "flagged_sites").
Expected values are read from the store with the cases service."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo.errors import InputError
from layers.store.open import open_store
from layers.store.workspace import DEFAULT_PATH
from services import auth, cases, casework
from services.auth import Identity
from services.hgwatch import HgWatch
from settings import Settings
from tests.test_case_workbench import _page  # the page as the signed-in identity, with session state

pytestmark = pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workspace after one recorded run (a case per violation)."""
    path = tmp_path_factory.mktemp("walk") / "recorded.gpkg"
    shutil.copyfile(DEFAULT_PATH, path)
    assert HgWatch(Settings(workspace=path)).check().run_id is not None
    return path


def _copy(src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ws.gpkg"
    shutil.copyfile(src, path)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    return path


def _table(at: AppTest) -> list[str]:
    """The status column of the violations table."""
    return list(next(d.value for d in at.dataframe if "violation_id" in d.value.columns)["status"])


def test_recording_a_run_shows_its_cases_in_the_table_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = _copy(DEFAULT_PATH, tmp_path, monkeypatch)
    at = _page()
    assert set(_table(at)) == {casework.NO_CASE}  # no run recorded yet
    at.button(key="wb_record").click().run()
    assert not at.exception, at.exception
    listed = cases.list_cases(open_store(ws), auth.LOCAL)
    assert len(listed) > 0
    statuses = _table(at)
    assert len(statuses) == len(listed) and set(statuses) == {"new"}, sorted(set(statuses))
    assert not any("No run has been recorded" in c.value for c in at.caption)
    assert [s.value for s in at.success if "Recorded run" in s.value] == [
        f"Recorded run 1: {len(listed):,} violations."]


def test_a_case_chosen_under_work_on_case_shows_its_detail(recorded: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    ws = _copy(recorded, tmp_path, monkeypatch)
    vid = str(cases.list_cases(open_store(ws), auth.LOCAL)["violation_id"].iloc[2])
    at = _page()
    at.selectbox(key="wb_pick").set_value(vid).run()
    assert not at.exception, at.exception
    assert not any("Select a violation in the table to see its detail" in i.value for i in at.info)
    assert any(s.value == f"Case {vid}" for s in at.subheader)
    detail = next(d.value for d in at.dataframe if list(d.value.columns) == ["value"])
    assert detail.loc["violation_id", "value"] == vid


def test_the_unit_table_says_its_flagged_count_holds_tailings(recorded: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    ws = _copy(recorded, tmp_path, monkeypatch)
    auth.add_account(open_store(ws), "pat", "partner", "a long password")
    at = _page(Identity("pat", "partner"), wb_units_on=True)
    table = next(d for d in at.dataframe if "flagged_sites" in d.value.columns)
    headers = {name: cfg.get("label") for name, cfg in json.loads(table.proto.columns).items()}
    assert headers.get("flagged_sites") == "sites and tailings flagged"
    south = table.value.set_index("unit").loc["DEMO South"]
    assert south["flagged_sites"] > south["sites"]  # why the header must say so: tailings count too


def test_the_assign_form_offers_only_the_accounts_that_may_take_the_case(recorded: Path, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    ws = _copy(recorded, tmp_path, monkeypatch)
    store = open_store(ws)
    listed = cases.list_cases(store, auth.LOCAL)
    row = listed.iloc[0]
    area, other = str(row["admin_area"]), next(a for a in listed["admin_area"].astype(str) if a != str(row["admin_area"]))
    for name, role, areas in [("ana", "analyst", ()), ("kofi", "field", (area,)), ("ama", "field", (other,)),
                              ("pat", "partner", ()), ("old", "analyst", ())]:
        auth.add_account(store, name, role, "a long password", areas)
    auth.disable(store, "old")
    vid = str(row["violation_id"])
    at = _page(Identity("ana", "analyst"), wb_case=vid)
    box = at.selectbox(key="case_assign_to")
    assert box.options == ["ana", "kofi"]  # not a field account of another area, a partner or a disabled account
    box.set_value("kofi")
    at.button(key="FormSubmitter:case_assign-Assign").click().run()
    assert not at.exception, at.exception
    assert cases.case_file(open_store(ws), auth.LOCAL, vid).case.assignee == "kofi"
    assert any(s.value == "case assigned to kofi" for s in at.success)


def test_a_typed_name_in_a_message_is_text_not_markdown(recorded: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ws = _copy(recorded, tmp_path, monkeypatch)
    vid = str(cases.list_cases(open_store(ws), auth.LOCAL)["violation_id"].iloc[0])
    at = _page(wb_case=vid)  # no accounts: any name is taken, as typed
    at.text_input(key="case_assign_to").input("[x](http://e.example)")
    at.button(key="FormSubmitter:case_assign-Assign").click().run()
    assert not at.exception, at.exception
    flashes = [s.value for s in at.success if "case assigned to" in s.value]
    assert flashes == [r"case assigned to \[x\]\(http\://e\.example\)"]  # shows as typed, never as a link


def test_only_an_analyst_or_an_admin_records_a_full_run(recorded: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A field coordinator could press "Record a full run now": a run of the whole store, read in every
    area and opening cases in each. The button is gone for it, the service refuses it (the CLI's
    `--as` too), and a check of files or one not recorded stays open to it."""
    ws = _copy(recorded, tmp_path, monkeypatch)
    store = open_store(ws)
    area = str(cases.list_cases(store, auth.LOCAL)["admin_area"].iloc[0])
    auth.add_account(store, "kofi", "field", "a long password", (area,))
    auth.add_account(store, "ana", "analyst", "a long password")
    runs = len(store.runs(10))
    kofi = Identity("kofi", "field", (area,))
    at = _page(kofi)
    assert not [b for b in at.button if b.key == "wb_record"]
    assert any("An analyst or an admin records" in c.value for c in at.caption)
    with pytest.raises(InputError, match="may not record a rule run"):
        HgWatch(Settings(workspace=ws), kofi).check()
    assert HgWatch(Settings(workspace=ws), kofi).check(record=False).run_id is None
    assert len(open_store(ws).runs(10)) == runs  # nothing recorded by the field coordinator
    at = _page(Identity("ana", "analyst"))
    at.button(key="wb_record").click().run()
    assert not at.exception, at.exception
    assert len(open_store(ws).runs(10)) == runs + 1


def test_a_bad_basemap_setting_leaves_the_workbench_working(recorded: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """HGWATCH_BASEMAP set to the label the README once gave ("No basemap (offline)") made the
    workbench raise (its map call had no error handling), where the Map page says what is expected.
    Now the workbench says it in place of its map, and its table still lists the cases."""
    _copy(recorded, tmp_path, monkeypatch)
    monkeypatch.setenv("HGWATCH_BASEMAP", "No basemap (offline)")
    at = _page()
    assert any("expected one of" in e.value and "none" in e.value for e in at.error)
    assert len(_table(at)) > 0


def test_a_field_coordinator_starts_on_its_own_areas(recorded: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The workbench listed a field coordinator every area's violations (the demo: 325, 262 of them with no
    case it could see). It now starts on the coordinator's own areas (the sidebar's "Admin area" starts on
    them too, HW); "My areas" off and that filter cleared show them all."""
    ws = _copy(recorded, tmp_path, monkeypatch)
    store = open_store(ws)
    area = str(cases.list_cases(store, auth.LOCAL)["admin_area"].iloc[0])
    auth.add_account(store, "kofi", "field", "a long password", (area,))
    kofi = Identity("kofi", "field", (area,))
    at = _page(kofi)
    mine = next(d.value for d in at.dataframe if "violation_id" in d.value.columns)
    assert len(mine) > 0 and set(mine["admin_area"]) == {area}
    assert set(mine["violation_id"]) >= set(cases.list_cases(store, kofi)["violation_id"])  # every case it may work
    assert at.multiselect(key="f_admin").value == [area]
    at.toggle(key="wb_my_areas").set_value(False).run()
    assert len(next(d.value for d in at.dataframe if "violation_id" in d.value.columns)) == len(mine)  # the sidebar's
    at.multiselect(key="f_admin").set_value([]).run()
    every = next(d.value for d in at.dataframe if "violation_id" in d.value.columns)
    assert len(every) > len(mine) and set(every["admin_area"].dropna()) > {area}
