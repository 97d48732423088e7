"""`db upgrade --from-workspace` while the GeoPackage is still in use (walkthrough HA, session 12).

The move reads the workspace in steps: accounts, keys, cases and the audit trail first, then the
layers and the recorded runs. A rule run recorded on the GeoPackage between those steps (the app
or a cron `check` still running) reached PostGIS as a run the moved cases and audit trail knew
nothing of. The move now holds the workspace's writer lock while it reads and copies, so a writer
waits (or, with a short wait, is refused) and the copy is one state of the workspace. Real
GeoPackage, real PostGIS (tests/postgis.py); the concurrent writer is a real write.
"""
from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from geo.errors import WorkspaceError
from layers.store import transfer
from layers.store.pgschema import connect
from layers.store.workspace import DEFAULT_PATH, Workspace
from services import auth, db


def test_a_run_recorded_during_the_move_does_not_split_the_copy(pg_bare_url: str, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "agency.gpkg"
    shutil.copyfile(DEFAULT_PATH, path)
    auth.add_account(Workspace(path), "ana", "analyst", "correct horse battery")
    first = Workspace(path).record_run(rules_hash="r", input_hashes={}, counts={"R": 0}, violation_ids=[])
    read = transfer.read
    tried: list[str] = []

    def read_then_someone_writes(ws: Workspace) -> transfer.Tables:
        tables = read(ws)
        with contextlib.suppress(WorkspaceError):  # refused while the move holds the workspace
            Workspace(path, lock_timeout_s=0.2).record_run(rules_hash="r", input_hashes={}, counts={"R": 0},
                                                            violation_ids=[])
            tried.append("written")
        tried.append("tried")
        return tables

    monkeypatch.setattr(transfer, "read", read_then_someone_writes)
    done = db.upgrade(pg_bare_url, path)
    assert tried in (["tried"], ["written", "tried"])
    with connect(pg_bare_url) as con:
        runs = con.execute(sa.text("SELECT run_id FROM hgw_runs ORDER BY run_id")).scalars().all()
    # the copy is one state: the runs it holds are those of the moment its accounts and trail were read
    assert runs == [first] and done.runs == 1
    assert tried == ["tried"]  # the writer was kept out while the move read and copied
    assert Workspace(path).record_run(rules_hash="r", input_hashes={}, counts={"R": 0}, violation_ids=[]) == first + 1


def test_a_missing_workspace_is_named_as_the_move_s_source(pg_bare_url: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """It said "workspace ... does not exist; import a layer first or run `make demo`": advice for
    starting a workspace, not for moving one (a mistyped path)."""
    import cli
    from layers.store.pgschema import schema_revision

    missing = tmp_path / "agnecy.gpkg"
    assert cli.main(["--database-url", pg_bare_url, "db", "upgrade", "--from-workspace", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"--from-workspace {missing}: no such file; give the GeoPackage workspace to move" in err
    assert "make demo" not in err and schema_revision(pg_bare_url) is None and not missing.exists()
