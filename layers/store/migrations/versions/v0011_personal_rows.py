"""Rows about a person leave the partner views: a hair sample is one person's health record.

The catalogue now marks the rows of ``samples`` whose ``medium`` is a human one (``hair``) as
personal (``LayerSpec.personal_rows``). The partner views (``partner.<layer>``, made by
``layers.store.pgroles.refresh`` after every upgrade) leave those rows out
(``layers.store.visibility.shared_rows_postgres``), and a field coordinator's read takes them
from the table alone, under its row policy, so only in its own areas.

The views are derived objects, remade from the live catalogue after every upgrade; this revision
changes no table. It exists so that a database made by an older HgWatch, whose views still show
those rows, is refused by this one until ``cli.py db upgrade`` has remade them.

Revision ID: v0011_personal_rows
Revises: v0010_audit_at_commit
"""
from __future__ import annotations

revision = "v0011_personal_rows"
down_revision = "v0010_audit_at_commit"


def upgrade() -> None:
    """Nothing in the tables: ``upgrade_schema`` remakes the views once the revision is applied."""


def downgrade() -> None:
    """Nothing to undo: an older HgWatch's upgrade remakes the views it knows."""
