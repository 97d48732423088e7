"""The Audit page through streamlit.testing.v1.AppTest: the trail and the chain's state for the
local user (an analyst), a broken chain named, and the page refused to field and partner roles."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from layers.store.workspace import DEFAULT_PATH, Workspace
from services import audit, auth
from ui import login

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "ui/pages/audit.py"


@pytest.fixture()
def ws_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the demo workspace with two audit rows by two people."""
    path = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, path)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    ws = Workspace(path)
    audit.record(ws, "import", "mining_sites", before=None, after={"rows": 150}, who="cli:ana")
    audit.record(ws, "export", "water_bodies", after={"profile": "partner", "rows": 7}, who="local")
    return path


def _page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def test_the_local_user_sees_the_trail_newest_first(ws_path: Path) -> None:
    at = _page()
    assert [s.value for s in at.success] == ["The chain is whole: 2 rows."]
    table = at.dataframe[0].value
    assert list(table["who"]) == ["local", "cli:ana"]
    assert list(table["action"]) == ["export", "import"]
    assert list(table["after"]) == ['{"profile": "partner", "rows": 7}', '{"rows": 150}']
    at.selectbox(key="audit_user").select("cli:ana").run()
    assert list(at.dataframe[0].value["what"]) == ["mining_sites"]


def test_a_broken_chain_is_named(ws_path: Path) -> None:
    with sqlite3.connect(ws_path) as con:
        con.execute("UPDATE hgw_audit SET target = 'deposits' WHERE seq = 1")
    at = _page()
    assert [e.value for e in at.error] == [
        "The chain is broken at row 1: its content does not match its hash (the row was edited)."
        " Rows from there on cannot be trusted."]


@pytest.mark.parametrize("role", ["field", "partner"])
def test_field_and_partner_are_refused_even_at_the_page_itself(ws_path: Path, role: str) -> None:
    auth.add_account(Workspace(ws_path), "kim", role, "a long password", ["Tarkwa"] if role == "field" else [])
    at = AppTest.from_file(str(Path(APP).parent / PAGE), default_timeout=120)  # not offered in the menu
    at.session_state[login._KEY] = auth.Identity("kim", role)
    at.run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        f"The audit trail is shown to admins and analysts; kim signed in as {role}."]
    assert not at.dataframe
