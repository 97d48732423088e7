"""API keys: ``hgw_api_keys`` (the SHA-256 of a key, its account, when it was made and revoked).

See ``layers.store.keys``; a key is never stored, only its hash. No database role but the
owner's reads this table (``hgw_partner`` and ``hgw_field`` get no grant on it).

Revision ID: v0005_api_keys
Revises: v0007_more_layers
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0005_api_keys"
down_revision = "v0007_more_layers"  # the head when this was written (numbers were handed out before)


def upgrade() -> None:
    op.create_table(
        "hgw_api_keys",
        sa.Column("key_hash", sa.Text, primary_key=True),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("revoked_at", sa.Text, nullable=True),
        sa.CheckConstraint("length(key_hash) = 64", name="hgw_api_keys_sha256"))
    op.create_index("hgw_api_keys_account", "hgw_api_keys", ["account"])


def downgrade() -> None:
    op.drop_index("hgw_api_keys_account", table_name="hgw_api_keys")
    op.drop_table("hgw_api_keys")
