"""An edit made from outside the app also moves the store's change stamp; an outside TRUNCATE is recorded too.

Until this revision only the app's own writes raised ``hgw_state.generation`` (``PostgisStore.writing``),
so after an edit made in psql or a QGIS edit session the dashboard and the partner API kept
serving the rows they had cached until HgWatch itself next wrote data. Now the statement triggers
that record such an edit (``hgw_audit_outside``, v0003/v0007/v0008: every layer table,
``hgw_layers``, ``hgw_shareable``, ``hgw_runs`` and the case tables ``hgw_cases``,
``hgw_case_comments``, ``hgw_case_visits``) also raise ``generation``, in the editor's transaction:

- at the first recorded statement of a transaction they put a row (the transaction's id) into
  ``hgw_outside_edits``; a deferred constraint trigger on that table raises ``generation`` by one
  and deletes the row when the transaction commits. So the rows and the counter become visible
  together, the counter's row is locked only at commit (two editors, or an editor and the app,
  never wait for each other on it in mid-transaction, so no new deadlock), and a bulk statement
  costs one counter update per transaction. ``hgw_outside_edits`` is empty outside a transaction.
  An editor in REPEATABLE READ or SERIALIZABLE whose transaction overlaps another data write fails
  at commit with a serialization error, as PostgreSQL makes such transactions do (retry it).
- a ``BEFORE TRUNCATE`` statement trigger on the same tables records an outside ``TRUNCATE`` as
  ``sql truncate`` with the emptied rows as ``before`` (until now it escaped the trail) and raises
  the counter as above. A statement that changed no row records nothing and moves nothing.
- the app's own writes (holding the writers' lock) are skipped as before: the app records them
  and raises the counter itself. Bookkeeping tables (accounts, API keys, ``hgw_audit``, photos,
  submission keys) have no such trigger, so a sign-in still leaves every cache.
- the upgrade itself raises ``generation`` once: an edit made from outside before it did not, and
  a cache made meanwhile (or a refusal to read a store at the older revision) is dropped.

Every function runs with its owner's rights and a fixed ``search_path`` (v0008), so an editor who
is not the schema owner, given only UPDATE on a layer table, can still edit and never gets a
grant on ``hgw_state`` or ``hgw_outside_edits``.

Revision ID: v0009_outside_generation
Revises: v0008_audit_definer
"""
from __future__ import annotations

from alembic import op

revision = "v0009_outside_generation"
down_revision = "v0008_audit_definer"

WRITE_LOCK = 0x4867_5761_7463_68  # layers.store.pgschema.WRITE_LOCK at this revision (frozen)
# every table that has the outside-audit triggers at v0008 (v0003, v0007, v0008), frozen
WATCHED = ("mining_sites", "water_bodies", "residential_areas", "tailings", "deposits", "samples",
           "hgw_layers", "hgw_shareable", "hgw_runs",
           "admin_areas", "zones", "receptors", "licences", "facilities", "mercury_trade", "miners",
           "hgw_cases", "hgw_case_comments", "hgw_case_visits")
DEFINER = "SECURITY DEFINER SET search_path = public, pg_temp"
IS_THE_APP = f"""EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
               AND classid::bigint = {WRITE_LOCK >> 32} AND objid::bigint = {WRITE_LOCK & 0xFFFFFFFF}
               AND objsubid = 1)"""

OUTSIDE = f"""
CREATE OR REPLACE FUNCTION hgw_audit_outside() RETURNS trigger LANGUAGE plpgsql {DEFINER} AS $$
DECLARE
    b jsonb;
    a jsonb;
BEGIN
    IF {IS_THE_APP} THEN
        RETURN NULL;  -- the app's own write: the app records it and raises the generation
    END IF;
    IF TG_OP = 'TRUNCATE' THEN  -- BEFORE TRUNCATE: the rows about to go
        EXECUTE format('SELECT jsonb_agg(to_jsonb(o)) FROM %I.%I o', TG_TABLE_SCHEMA, TG_TABLE_NAME) INTO b;
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
    -- once per transaction: hgw_outside_generation raises the generation at commit
    INSERT INTO hgw_outside_edits (xact) VALUES (txid_current()) ON CONFLICT (xact) DO NOTHING;
    RETURN NULL;
END
$$
"""

# v0003's body, with v0008's attributes: what the downgrade puts back
OUTSIDE_V0008 = f"""
CREATE OR REPLACE FUNCTION hgw_audit_outside() RETURNS trigger LANGUAGE plpgsql {DEFINER} AS $$
DECLARE
    b jsonb;
    a jsonb;
BEGIN
    IF {IS_THE_APP} THEN
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

GENERATION = f"""
CREATE FUNCTION hgw_outside_generation() RETURNS trigger LANGUAGE plpgsql {DEFINER} AS $$
BEGIN
    UPDATE hgw_state SET generation = generation + 1;
    DELETE FROM hgw_outside_edits WHERE xact = NEW.xact;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute("CREATE TABLE hgw_outside_edits (xact bigint PRIMARY KEY)")
    op.execute("REVOKE ALL ON hgw_outside_edits FROM PUBLIC")
    op.execute(GENERATION)
    op.execute("REVOKE ALL ON FUNCTION hgw_outside_generation() FROM PUBLIC")
    op.execute("CREATE CONSTRAINT TRIGGER hgw_outside_generation AFTER INSERT ON hgw_outside_edits"
               " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hgw_outside_generation()")
    op.execute(OUTSIDE)
    for table in WATCHED:
        op.execute(f'CREATE TRIGGER hgw_audit_truncate BEFORE TRUNCATE ON "{table}"'
                   " FOR EACH STATEMENT EXECUTE FUNCTION hgw_audit_outside()")
    op.execute("UPDATE hgw_state SET generation = generation + 1")  # outside edits made before it were not counted


def downgrade() -> None:
    for table in WATCHED:
        op.execute(f'DROP TRIGGER hgw_audit_truncate ON "{table}"')
    op.execute(OUTSIDE_V0008)
    op.execute("DROP TABLE hgw_outside_edits")  # and its trigger
    op.execute("DROP FUNCTION hgw_outside_generation()")
    op.execute("UPDATE hgw_state SET generation = generation + 1")  # what the triggers do changed
