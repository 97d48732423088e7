"""The audit chain is linked at commit: an open transaction no longer holds the audit lock.

Until this revision the ``BEFORE INSERT`` trigger of ``hgw_audit`` (v0003) took the chain's
transaction advisory lock (``AUDIT_LOCK``) at the first audited statement of a transaction and kept
it until that transaction ended. So an outside editor (psql, a QGIS edit session) with an edit
still open made every other audit write wait, the app's sign-ins and imports included, and two
outside editors crossing each other's rows deadlocked (A holds the lock and waits for B's row, B
holds its row and waits for the lock).

Now the statement triggers on the data tables (``hgw_audit_outside``) and the app's audit rows
written inside a change (``layers.store.pgaudit.append_in``) go into ``hgw_audit_pending``
(who, action, target, before, after; the transaction's id; the order written), unchained and
visible to no one else. A deferred constraint trigger on that table (``hgw_audit_link``) runs once
the transaction commits: it takes ``AUDIT_LOCK``, moves the transaction's pending rows, in the
order written, into ``hgw_audit``, whose ``BEFORE INSERT`` trigger chains them as before (seq,
at, prev_hash, hash: the same text hashed, so ``audit verify`` is unchanged), and the lock goes
with the commit a moment later. ``hgw_audit`` only ever holds linked rows, in chain order.

- A row's ``at`` is now the time its transaction committed (it was the time of the statement).
- At commit an outside edit first raises the change counter (v0009), then links its rows, the
  order the app's own writes take (``hgw_state`` at the end of the change, the chain at commit),
  so the two never wait for each other in a circle.
- An editor in REPEATABLE READ or SERIALIZABLE cannot see audit rows committed after its
  snapshot; when the trail moved on meanwhile, linking would reuse a ``seq``, and the commit fails
  with a serialization error (SQLSTATE 40001: retry the transaction) rather than a duplicate key.
- The app's own single rows (``append``, ``append_many``: a sign-in, an API request) still insert
  into ``hgw_audit`` directly, in a transaction of their own that commits at once.

Both functions run with their owner's rights and a fixed ``search_path`` (v0008); no one else gets
any right on ``hgw_audit_pending``.

Revision ID: v0010_audit_at_commit
Revises: v0009_outside_generation
"""
from __future__ import annotations

from alembic import op

revision = "v0010_audit_at_commit"
down_revision = "v0009_outside_generation"

WRITE_LOCK = 0x4867_5761_7463_68  # layers.store.pgschema.WRITE_LOCK at this revision (frozen)
AUDIT_LOCK = WRITE_LOCK + 1  # v0003's chain lock (frozen)
DEFINER = "SECURITY DEFINER SET search_path = public, pg_temp"
IS_THE_APP = f"""EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
               AND classid::bigint = {WRITE_LOCK >> 32} AND objid::bigint = {WRITE_LOCK & 0xFFFFFFFF}
               AND objsubid = 1)"""

PENDING = """
CREATE TABLE hgw_audit_pending (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xact bigint NOT NULL DEFAULT txid_current(),
    who text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    before jsonb,
    after jsonb)
"""

LINK = f"""
CREATE FUNCTION hgw_audit_link() RETURNS trigger LANGUAGE plpgsql {DEFINER} AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM hgw_audit_pending WHERE id = NEW.id) THEN
        RETURN NULL;  -- linked already, with the transaction's first pending row
    END IF;
    PERFORM pg_advisory_xact_lock({AUDIT_LOCK});  -- until the commit, a moment from now
    BEGIN
        WITH moved AS (DELETE FROM hgw_audit_pending WHERE xact = NEW.xact
                       RETURNING id, who, action, target, before, after)
        INSERT INTO hgw_audit (who, action, target, before, after)
        SELECT who, action, target, before, after FROM moved ORDER BY id;
    EXCEPTION WHEN unique_violation THEN  -- a snapshot older than the trail's newest row
        RAISE EXCEPTION 'could not link the audit rows of this transaction: the audit trail moved on since its'
                        ' snapshot (isolation %)', current_setting('transaction_isolation')
            USING ERRCODE = 'serialization_failure', HINT = 'retry the transaction';
    END;
    RETURN NULL;
END
$$
"""

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
    -- once per transaction, first: at commit hgw_outside_generation raises the generation, then
    -- hgw_audit_link chains the rows below (deferred triggers fire in the order they were queued)
    INSERT INTO hgw_outside_edits (xact) VALUES (txid_current()) ON CONFLICT (xact) DO NOTHING;
    INSERT INTO hgw_audit_pending (who, action, target, before, after)
    VALUES ('db:' || session_user, 'sql ' || lower(TG_OP), TG_TABLE_NAME, b, a);
    RETURN NULL;
END
$$
"""

# v0009's body: what the downgrade puts back
OUTSIDE_V0009 = f"""
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


def upgrade() -> None:
    op.execute(PENDING)
    op.execute("CREATE INDEX ix_hgw_audit_pending_xact ON hgw_audit_pending (xact)")
    op.execute("REVOKE ALL ON hgw_audit_pending FROM PUBLIC")
    op.execute(LINK)
    op.execute("REVOKE ALL ON FUNCTION hgw_audit_link() FROM PUBLIC")
    op.execute("CREATE CONSTRAINT TRIGGER hgw_audit_link AFTER INSERT ON hgw_audit_pending"
               " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hgw_audit_link()")
    op.execute(OUTSIDE)


def downgrade() -> None:
    op.execute(OUTSIDE_V0009)
    op.execute("DROP TABLE hgw_audit_pending")  # empty outside a transaction; its trigger goes with it
    op.execute("DROP FUNCTION hgw_audit_link()")
