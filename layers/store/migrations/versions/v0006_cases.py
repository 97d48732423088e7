"""Cases (issue 12): ``hgw_cases``, ``hgw_case_comments``, ``hgw_case_visits``, ``hgw_case_photos``
and ``hgw_case_submissions``, the columns of the GeoPackage tables in ``layers.store.cases`` at this
revision (frozen here). No database role but the owner reads them (``hgw_partner`` and
``hgw_field`` get no grant): a partner's case counts are counted by the app, never read row by row.

Revision ID: v0006_cases
Revises: v0005_api_keys
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "v0006_cases"
down_revision = "v0005_api_keys"  # the head when this was written (numbers were handed out before)

DOUBLE = postgresql.DOUBLE_PRECISION


def upgrade() -> None:
    op.create_table(
        "hgw_cases",
        sa.Column("violation_id", sa.Text, primary_key=True),
        sa.Column("rule_id", sa.Text, nullable=False),
        sa.Column("rule_version", sa.Text, nullable=False),
        sa.Column("subject_layer", sa.Text, nullable=False),
        sa.Column("site_id", sa.Text, nullable=False),
        sa.Column("site_name", sa.Text),
        sa.Column("admin_area", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("assignee", sa.Text),
        sa.Column("due_date", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("flagged", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("review", sa.Text),
        sa.Column("distance_m", DOUBLE),
        sa.Column("lon", DOUBLE),
        sa.Column("lat", DOUBLE),
        sa.Column("site_wkb", postgresql.BYTEA),
        sa.Column("fingerprint", sa.Text),
        sa.Column("verdict", sa.Text),
        sa.Column("opened_at", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
        sa.Column("first_run", sa.BigInteger),
        sa.Column("last_run", sa.BigInteger))
    op.create_index("hgw_cases_area", "hgw_cases", ["admin_area", "status"])
    op.create_table(
        "hgw_case_comments",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("violation_id", sa.Text, nullable=False),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("who", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False))
    op.create_table(
        "hgw_case_visits",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("violation_id", sa.Text, nullable=False),
        sa.Column("visited_at", sa.Text),
        sa.Column("lat", DOUBLE),
        sa.Column("lon", DOUBLE),
        sa.Column("accuracy_m", DOUBLE),
        sa.Column("distance_m", DOUBLE),
        sa.Column("outcome", sa.Text),
        sa.Column("notes", sa.Text),
        sa.Column("who", sa.Text, nullable=False),
        sa.Column("submission_key", sa.Text),
        sa.Column("source", sa.Text))
    op.create_index("hgw_case_visits_case", "hgw_case_visits", ["violation_id"])
    op.create_table(
        "hgw_case_photos",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("violation_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("data", postgresql.BYTEA, nullable=False),
        sa.Column("taken_at", sa.Text),
        sa.Column("lat", DOUBLE),
        sa.Column("lon", DOUBLE),
        sa.Column("added_at", sa.Text, nullable=False),
        sa.Column("who", sa.Text, nullable=False),
        sa.Column("visit_id", sa.BigInteger))
    op.create_index("hgw_case_photos_case", "hgw_case_photos", ["violation_id"])
    op.create_table(
        "hgw_case_submissions",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("violation_id", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("file_row", sa.BigInteger),
        sa.Column("applied_at", sa.Text, nullable=False))


def downgrade() -> None:
    for table in ("hgw_case_submissions", "hgw_case_photos", "hgw_case_visits", "hgw_case_comments", "hgw_cases"):
        op.drop_table(table)
