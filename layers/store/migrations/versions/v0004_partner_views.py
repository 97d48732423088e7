"""PostgreSQL enforces what partners and field coordinators read: the roles ``hgw_partner`` and
``hgw_field`` and the ``partner`` schema.

- ``hgw_partner`` and ``hgw_field``: NOLOGIN roles. Roles belong to the whole cluster, so they
  are created only when missing (several HgWatch databases may share a cluster) and made
  NOLOGIN either way; the database user running the upgrade becomes a member of both, so that
  the app can ``SET LOCAL ROLE`` to them. The user needs CREATEROLE the first time.
- schema ``partner``: no rights for PUBLIC; USAGE for both roles.

The views in ``partner``, their grants, the grants on the layer tables and the row-level
security policies depend on the live catalogue and on the columns marked shareable, so they are
not frozen here: ``layers.store.pgroles.refresh`` makes them after every upgrade.

Revision ID: v0004_partner_views
Revises: v0003_audit
"""
from __future__ import annotations

from alembic import op

revision = "v0004_partner_views"
down_revision = "v0003_audit"

ROLES = ("hgw_partner", "hgw_field")
SCHEMA = "partner"
POLICIES = ("hgw_field_areas", "hgw_others")  # made by layers.store.pgroles.refresh at this revision


def upgrade() -> None:
    for role in ROLES:
        op.execute(f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
        CREATE ROLE {role} NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- made meanwhile by an upgrade of another database of the cluster
END
$$""")
        op.execute(f"""
DO $$
BEGIN
    IF (SELECT rolcanlogin FROM pg_roles WHERE rolname = '{role}') THEN
        ALTER ROLE {role} NOLOGIN;
    END IF;
END
$$""")
        op.execute(f"""
DO $$
BEGIN
    IF NOT pg_has_role(current_user, '{role}', 'MEMBER') THEN
        GRANT {role} TO CURRENT_USER;
    END IF;
END
$$""")
    op.execute(f"CREATE SCHEMA {SCHEMA}")
    op.execute(f"REVOKE ALL ON SCHEMA {SCHEMA} FROM PUBLIC")
    op.execute(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {', '.join(ROLES)}")


def downgrade() -> None:
    op.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
    policies = ", ".join(f"'{p}'" for p in POLICIES)
    op.execute(f"""
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT DISTINCT schemaname, tablename FROM pg_policies WHERE policyname IN ({policies}) LOOP
        EXECUTE format('DROP POLICY IF EXISTS hgw_field_areas ON %I.%I', t.schemaname, t.tablename);
        EXECUTE format('DROP POLICY IF EXISTS hgw_others ON %I.%I', t.schemaname, t.tablename);
        EXECUTE format('ALTER TABLE %I.%I DISABLE ROW LEVEL SECURITY', t.schemaname, t.tablename);
        EXECUTE format('REVOKE ALL ON %I.%I FROM hgw_field', t.schemaname, t.tablename);
    END LOOP;
END
$$""")
