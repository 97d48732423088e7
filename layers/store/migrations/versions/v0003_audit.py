"""The audit trail: ``hgw_audit``, chained by hash in the database, and triggers that record edits
made from outside the app.

- ``hgw_audit``: ``seq``, ``at``, ``who``, ``action``, ``target``, ``before`` / ``after``
  (JSONB), ``prev_hash``, ``hash``. A ``BEFORE INSERT`` trigger fills ``seq`` (previous + 1),
  ``at`` (UTC, to the second), ``prev_hash`` and ``hash`` = SHA-256 (hex) of the fields joined by
  chr(31), the text ``layers.store.audit.row_text`` builds, under a transaction advisory lock so
  that concurrent writers chain one after the other.
- Statement triggers (with transition tables) on every layer table and on ``hgw_layers``,
  ``hgw_shareable`` and ``hgw_runs``: a change made without the app's writer lock (psql, QGIS)
  is recorded as one row, ``who = 'db:' || session_user``, ``action = 'sql insert|update|delete'``,
  ``target`` = the table, ``before`` / ``after`` = the changed rows as JSON arrays. Changes
  made by the app (which holds the writer lock, advisory key 0x48675761746368) are recorded by the
  app itself, not twice.

Revision ID: v0003_audit
Revises: v0002_accounts
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "v0003_audit"
down_revision = "v0002_accounts"

WRITE_LOCK = 0x4867_5761_7463_68  # layers.store.pgschema.WRITE_LOCK at this revision (frozen)
AUDIT_LOCK = WRITE_LOCK + 1  # serialises the chain
WATCHED = ("mining_sites", "water_bodies", "residential_areas", "tailings", "deposits", "samples",
           "hgw_layers", "hgw_shareable", "hgw_runs")

CHAIN = f"""
CREATE FUNCTION hgw_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_hash text;
BEGIN
    PERFORM pg_advisory_xact_lock({AUDIT_LOCK});
    SELECT seq, hash INTO last_seq, last_hash FROM hgw_audit ORDER BY seq DESC LIMIT 1;
    NEW.seq := coalesce(last_seq, 0) + 1;
    NEW.prev_hash := coalesce(last_hash, repeat('0', 64));
    NEW.at := to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || '+00:00';
    NEW.before := coalesce(NEW.before, 'null'::jsonb);
    NEW.after := coalesce(NEW.after, 'null'::jsonb);
    NEW.hash := encode(sha256(convert_to(concat_ws(chr(31), NEW.prev_hash, NEW.seq::text, NEW.at,
        NEW.who, NEW.action, NEW.target, NEW.before::text, NEW.after::text), 'UTF8')), 'hex');
    RETURN NEW;
END
$$
"""

OUTSIDE = f"""
CREATE FUNCTION hgw_audit_outside() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    b jsonb;
    a jsonb;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
               AND classid::bigint = {WRITE_LOCK >> 32} AND objid::bigint = {WRITE_LOCK & 0xFFFFFFFF}
               AND objsubid = 1) THEN
        RETURN NULL;  -- the app's own write: the app records it
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT jsonb_agg(to_jsonb(o)) INTO b FROM old_rows o;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        SELECT jsonb_agg(to_jsonb(n)) INTO a FROM new_rows n;
    END IF;
    IF b IS NULL AND a IS NULL THEN
        RETURN NULL;  -- the statement changed no row
    END IF;
    INSERT INTO hgw_audit (who, action, target, before, after)
    VALUES ('db:' || session_user, 'sql ' || lower(TG_OP), TG_TABLE_NAME, b, a);
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "hgw_audit",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("who", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("before", postgresql.JSONB, nullable=False),
        sa.Column("after", postgresql.JSONB, nullable=False),
        sa.Column("prev_hash", sa.Text, nullable=False),
        sa.Column("hash", sa.Text, nullable=False))
    op.execute(CHAIN)
    op.execute("CREATE TRIGGER hgw_audit_chain BEFORE INSERT ON hgw_audit"
               " FOR EACH ROW EXECUTE FUNCTION hgw_audit_chain()")
    op.execute(OUTSIDE)
    for table in WATCHED:
        op.execute(f'CREATE TRIGGER hgw_audit_insert AFTER INSERT ON "{table}" REFERENCING NEW TABLE AS new_rows'
                   " FOR EACH STATEMENT EXECUTE FUNCTION hgw_audit_outside()")
        op.execute(f'CREATE TRIGGER hgw_audit_update AFTER UPDATE ON "{table}"'
                   " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
                   " FOR EACH STATEMENT EXECUTE FUNCTION hgw_audit_outside()")
        op.execute(f'CREATE TRIGGER hgw_audit_delete AFTER DELETE ON "{table}" REFERENCING OLD TABLE AS old_rows'
                   " FOR EACH STATEMENT EXECUTE FUNCTION hgw_audit_outside()")


def downgrade() -> None:
    for table in WATCHED:
        for op_name in ("insert", "update", "delete"):
            op.execute(f'DROP TRIGGER hgw_audit_{op_name} ON "{table}"')
    op.execute("DROP FUNCTION hgw_audit_outside()")
    op.drop_table("hgw_audit")
    op.execute("DROP FUNCTION hgw_audit_chain()")
