"""Issue 15: the seven new layer types get their tables, and tailings its gold content.

- One table per new layer type, shaped as in v0001: ``fid``, one typed column per catalogue field
  as the catalogue stood at this revision (frozen below), ``extra`` (JSONB) and ``geom`` (any
  geometry type, 2D, EPSG:4326, NULL allowed: a miner may have no location) with a GiST index,
  plus a b-tree index on the id field.
- ``tailings.au_g_per_t`` (double precision): gold left in the tailings, g/t. A value kept in
  ``extra`` under that key before this revision is moved into the column.
- The new tables get the audit triggers of v0003 (an edit from outside the app is recorded).

Partner views, grants and row-level security follow the live catalogue and are made by
``layers.store.pgroles.refresh`` after every upgrade (v0004), so they are not frozen here.

Revision ID: v0007_more_layers
Revises: v0004_partner_views
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "v0007_more_layers"
down_revision = "v0004_partner_views"

SQL_TYPES = {"str": sa.Text, "int": sa.BigInteger, "float": postgresql.DOUBLE_PRECISION,
             "bool": sa.Boolean, "date": sa.Date}

# layer type -> (id field, [(field, dtype)]) as layers/catalogue.py declared them at this revision
LAYERS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "admin_areas": ("area_code", [
        ("area_code", "str"), ("name", "str"), ("level", "str"), ("parent_code", "str")]),
    "zones": ("zone_id", [
        ("zone_id", "str"), ("name", "str"), ("zone_type", "str"), ("prohibits_mining", "bool"),
        ("legal_source", "str")]),
    "receptors": ("receptor_id", [
        ("receptor_id", "str"), ("name", "str"), ("receptor_type", "str"), ("population", "int"),
        ("admin_area", "str")]),
    "licences": ("licence_id", [
        ("licence_id", "str"), ("holder", "str"), ("holder_type", "str"), ("licence_type", "str"),
        ("valid_from", "date"), ("valid_to", "date"), ("status", "str"), ("authority", "str")]),
    "facilities": ("facility_id", [
        ("facility_id", "str"), ("name", "str"), ("facility_type", "str"), ("licence_id", "str"),
        ("capacity", "float"), ("storage_kg", "float"), ("operator", "str"), ("status", "str"),
        ("admin_area", "str")]),
    "mercury_trade": ("record_id", [
        ("record_id", "str"), ("record_type", "str"), ("kg", "float"), ("date", "date"), ("seller", "str"),
        ("buyer", "str"), ("place", "str")]),
    "miners": ("miner_id", [
        ("miner_id", "str"), ("site_id", "str"), ("certificate_no", "str"), ("registered_on", "date"),
        ("sex", "str"), ("age_band", "str"), ("activity", "str")]),
}
TAILINGS_COLUMN = "au_g_per_t"
AUDIT_OPS = {"insert": "REFERENCING NEW TABLE AS new_rows",
             "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
             "delete": "REFERENCING OLD TABLE AS old_rows"}


def upgrade() -> None:
    for layer, (id_field, fields) in LAYERS.items():
        op.create_table(
            layer,
            sa.Column("fid", sa.BigInteger, sa.Identity(), primary_key=True),
            *[sa.Column(name, SQL_TYPES[dtype]()) for name, dtype in fields],
            sa.Column("extra", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
            sa.Column("geom", Geometry(geometry_type="GEOMETRY", srid=4326, spatial_index=False)))
        op.create_index(f"ix_{layer}_geom", layer, ["geom"], postgresql_using="gist")
        op.create_index(f"ix_{layer}_{id_field}", layer, [id_field])
        for name, referencing in AUDIT_OPS.items():
            op.execute(f'CREATE TRIGGER hgw_audit_{name} AFTER {name.upper()} ON "{layer}" {referencing}'
                       " FOR EACH STATEMENT EXECUTE FUNCTION hgw_audit_outside()")
    op.add_column("tailings", sa.Column(TAILINGS_COLUMN, postgresql.DOUBLE_PRECISION()))
    # a value the app kept in extra (a number, or text that is one) moves into the column
    op.execute(f"""
UPDATE tailings SET {TAILINGS_COLUMN} = (extra ->> '{TAILINGS_COLUMN}')::double precision,
                    extra = extra - '{TAILINGS_COLUMN}'
WHERE extra ? '{TAILINGS_COLUMN}'
  AND (extra ->> '{TAILINGS_COLUMN}') ~ '^\\s*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?\\s*$'""")


def downgrade() -> None:
    # the partner views (layers.store.pgroles) read these columns; the next upgrade remakes them
    for layer in ("tailings", *LAYERS):
        op.execute(f'DROP VIEW IF EXISTS partner."{layer}"')
    op.execute(f"""
UPDATE tailings SET extra = extra || jsonb_build_object('{TAILINGS_COLUMN}', {TAILINGS_COLUMN})
WHERE {TAILINGS_COLUMN} IS NOT NULL""")
    op.drop_column("tailings", TAILINGS_COLUMN)
    for layer in LAYERS:
        op.drop_table(layer)
