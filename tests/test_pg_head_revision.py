"""``pgschema.head_revision`` reads the migrations' revision chain without alembic: the same head as
alembic's ``ScriptDirectory``, and a branch (two heads) refused with both named."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from geo.errors import WorkspaceError
from layers.store import pgschema


def test_the_head_is_alembics() -> None:
    assert pgschema.head_revision() == ScriptDirectory(str(pgschema.MIGRATIONS)).get_current_head()


def test_a_branch_is_refused_naming_both_heads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(pgschema.MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    head = pgschema.head_revision()
    (copy / "versions" / "v9999_other.py").write_text(
        f'"""A second migration on the same head."""\nrevision = "v9999_other"\ndown_revision = "{head}"\n'
        f'\n\ndef upgrade() -> None:\n    pass\n', encoding="utf-8")
    (copy / "versions" / "v9998_third.py").write_text(
        f'revision = "v9998_third"\ndown_revision = "{head}"\n', encoding="utf-8")
    monkeypatch.setattr(pgschema, "MIGRATIONS", copy)
    pgschema.head_revision.cache_clear()
    try:
        with pytest.raises(WorkspaceError, match="have 2 heads \\(v9998_third, v9999_other\\); expected one"):
            pgschema.head_revision()
        (copy / "versions" / "v9998_third.py").unlink()
        pgschema.head_revision.cache_clear()
        assert pgschema.head_revision() == "v9999_other" == ScriptDirectory(str(copy)).get_current_head()
    finally:
        pgschema.head_revision.cache_clear()
