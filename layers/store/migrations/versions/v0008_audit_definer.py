"""The audit triggers run with their owner's rights, and case edits made outside the app are recorded.

Until this revision ``hgw_audit_outside`` (v0003) ran with the rights of whoever edited a layer
table from outside the app (psql, QGIS). An outside editor that is not the schema owner and was
given UPDATE on a layer table then failed with "permission denied for table hgw_audit", so only
the owner could edit at all. Both audit functions are now ``SECURITY DEFINER`` with a fixed
``search_path`` (so an editor's own objects cannot stand in for ``hgw_audit``); the trail still
names the editor, because it records ``session_user``, which a definer function does not change.

The case tables (v0006) whose rows an analyst might change from outside gain the same statement
triggers: ``hgw_cases``, ``hgw_case_comments`` and ``hgw_case_visits``. Photos (bytes) and the
imported-submission keys are not watched: a photo's SHA-256 is in the case file already, and a
byte dump per statement would swell the trail.

Revision ID: v0008_audit_definer
Revises: v0006_cases
"""
from __future__ import annotations

from alembic import op

revision = "v0008_audit_definer"
down_revision = "v0006_cases"

FUNCTIONS = ("hgw_audit_outside()", "hgw_audit_chain()")
CASE_TABLES = ("hgw_cases", "hgw_case_comments", "hgw_case_visits")
REFERENCING = {"insert": "REFERENCING NEW TABLE AS new_rows",
               "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
               "delete": "REFERENCING OLD TABLE AS old_rows"}


def upgrade() -> None:
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} SECURITY DEFINER SET search_path = public, pg_temp")
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
    for table in CASE_TABLES:
        for name, referencing in REFERENCING.items():
            op.execute(f'CREATE TRIGGER hgw_audit_{name} AFTER {name.upper()} ON "{table}" {referencing}'
                       " FOR EACH STATEMENT EXECUTE FUNCTION hgw_audit_outside()")


def downgrade() -> None:
    for table in CASE_TABLES:
        for name in REFERENCING:
            op.execute(f'DROP TRIGGER hgw_audit_{name} ON "{table}"')
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} SECURITY INVOKER RESET search_path")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO PUBLIC")
