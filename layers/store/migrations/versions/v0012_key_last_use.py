"""When each API key was last used: ``hgw_api_keys.last_used_at`` (ISO 8601 UTC to the minute; NULL: never).

Written by the API server (``api.uses``) at most once per key every few minutes, as the store's own
database user, the one that already writes the API's audit rows. No grant changes: ``hgw_partner`` and
``hgw_field`` still have no right on ``hgw_api_keys`` (v0005), neither to read the new column nor to write it.
A database made before this revision lists every key as never used until the API next records a use.

Revision ID: v0012_key_last_use
Revises: v0011_personal_rows
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0012_key_last_use"
down_revision = "v0011_personal_rows"


def upgrade() -> None:
    op.add_column("hgw_api_keys", sa.Column("last_used_at", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("hgw_api_keys", "last_used_at")
