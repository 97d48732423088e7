"""``db upgrade --from-workspace`` into a database that is not empty says what the database holds,
kind by kind (layers with their rows, runs, accounts, keys, cases, audit rows...), so the operator
knows what to clear; until 2026-11-27 a database holding a layer or a run was refused naming only
its layers and runs, and one holding a layer and an account never mentioned the account. Real
PostGIS, a real workspace with a run, cases, an account, a key and an audit trail; nothing mocked."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import cli
from geo.words import counted
from layers.store import transfer
from layers.store.postgis import PostgisStore
from layers.store.workspace import Workspace
from services import auth

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo_workspace.gpkg"


@pytest.fixture
def workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Workspace:
    """The demo with a recorded run (and the cases it opens), an account, its key and their audit rows."""
    path = tmp_path / "ws.gpkg"
    shutil.copyfile(DEMO, path)
    ws = Workspace(path)
    auth.add_account(ws, "ama", "partner", "long enough pass")
    assert cli.main(["--workspace", str(path), "keys", "create", "ama"]) == 0
    assert cli.main(["--workspace", str(path), "check"]) == 0
    capsys.readouterr()
    return ws


def test_moving_into_a_database_that_holds_data_names_each_kind_and_its_count(
        workspace: Workspace, pg_bare_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--database-url", pg_bare_url, "db", "upgrade", "--from-workspace", str(workspace.path)]
    assert cli.main(args) == 0  # the first move: into an empty database
    capsys.readouterr()
    counts = transfer.read(workspace).counts()
    assert counts["hgw_accounts"] == 1 and counts["hgw_api_keys"] == 1 and counts["hgw_cases"] > 0
    layers = {i.layer: i.rows for i in workspace.layers()}
    runs = len(workspace.runs(limit=100))
    assert runs == 1 and len(layers) == 13
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    kinds = [counted(n, transfer.KINDS[t]) for t, n in counts.items() if t != "hgw_audit" and n]
    audit = counts["hgw_audit"] + 1  # the first move's own row
    listed = ", ".join(f"{k}: {counted(n, 'row')}" for k, n in sorted(layers.items()))
    assert err == (f"hgwatch: workspace {PostgisStore(pg_bare_url).path} already holds 13 layers ({listed}), "
                   f"1 run, {', '.join(kinds)}, {counted(audit, 'audit row')}; a move needs a database of its own (createdb "
                   "a new one and give its URL, or empty this one of all of these first): copy "
                   f"{workspace.path} into an empty database, nothing was copied\n")


def test_a_database_holding_an_account_and_nothing_else_is_named_as_such(
        workspace: Workspace, pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    auth.add_account(PostgisStore(pg_url), "zed", "analyst", "long enough pass")
    assert cli.main(["--database-url", pg_url, "db", "upgrade", "--from-workspace", str(workspace.path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hgwatch: workspace {PostgisStore(pg_url).path} already holds 1 account, 1 audit row;")
    assert PostgisStore(pg_url).layers() == []
