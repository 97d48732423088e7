"""Accounts: ``hgw_accounts`` (name, role, admin areas, Argon2 hash, disabled, failed sign-ins).

See ``layers.store.accounts``; roles are data in ``services.auth``.

Revision ID: v0002_accounts
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "v0002_accounts"
down_revision = "0001"  # the id of v0001_initial.py


def upgrade() -> None:
    op.create_table(
        "hgw_accounts",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("areas", postgresql.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_failure", postgresql.DOUBLE_PRECISION, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.CheckConstraint("role IN ('admin', 'analyst', 'field', 'partner')", name="hgw_accounts_role"))


def downgrade() -> None:
    op.drop_table("hgw_accounts")
