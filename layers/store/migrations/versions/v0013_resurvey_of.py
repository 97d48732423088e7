"""``mining_sites.resurvey_of`` (text): the ``site_id`` of the same site in an earlier survey round.

The catalogue now declares the field (``layers/catalogue.py``; the inventory counts a linked site once,
``geo.inventory.resurvey``). A value the app kept in ``extra`` under that key before this revision (an
undeclared column of an imported file) is moved into the column, as v0007 moved ``au_g_per_t``.

Partner views, grants and row-level security follow the live catalogue and are remade by
``layers.store.pgroles.refresh`` after every upgrade (v0004), so a partner's view gains the column
(it is not restricted) without anything here.

Revision ID: v0013_resurvey_of
Revises: v0012_key_last_use
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0013_resurvey_of"
down_revision = "v0012_key_last_use"

COLUMN = "resurvey_of"


def upgrade() -> None:
    op.add_column("mining_sites", sa.Column(COLUMN, sa.Text))
    op.execute(f"""
UPDATE mining_sites SET {COLUMN} = extra ->> '{COLUMN}', extra = extra - '{COLUMN}'
WHERE extra ? '{COLUMN}'""")


def downgrade() -> None:
    # the partner view reads the column; the next upgrade remakes it
    op.execute('DROP VIEW IF EXISTS partner."mining_sites"')
    op.execute(f"""
UPDATE mining_sites SET extra = extra || jsonb_build_object('{COLUMN}', {COLUMN})
WHERE {COLUMN} IS NOT NULL""")
    op.drop_column("mining_sites", COLUMN)
