"""The first schema: one table per layer type; the provenance, shareable-column, runs and
change-counter tables.

Each layer table has ``fid`` (row order), one typed column per catalogue field as the catalogue
stood at this revision (frozen below: a later catalogue field needs a new revision, and until
then is kept in ``extra``), ``extra`` (JSONB: the file's other columns) and ``geom`` (any
geometry type, 2D, EPSG:4326) with a GiST index, plus a b-tree index on the id field.

Revision ID: 0001
Revises:
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None

SQL_TYPES = {"str": sa.Text, "int": sa.BigInteger, "float": postgresql.DOUBLE_PRECISION,
             "bool": sa.Boolean, "date": sa.Date}

# layer type -> (id field, [(field, dtype)]) as layers/catalogue.py declared them at this revision
LAYERS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "mining_sites": ("site_id", [
        ("site_id", "str"), ("name", "str"), ("status", "str"), ("uses_mercury", "bool"),
        ("amalgamation", "str"), ("burning", "str"), ("burning_in_residential", "bool"),
        ("cyanide_leaching", "bool"), ("processing_method", "str"), ("gold_kg_per_year", "float"),
        ("gold_g_per_day", "float"), ("working_days_per_year", "int"), ("mercury_kg_per_year", "float"),
        ("miners", "int"), ("women_miners", "int"), ("children_present", "bool"), ("size_class", "str"),
        ("operator", "str"), ("licence_status", "str"), ("registered", "bool"), ("season", "str"),
        ("admin_area", "str"), ("district", "str"), ("survey_date", "date"), ("survey_round", "str"),
        ("last_inspected", "date"), ("informant_name", "str"), ("informant_contact", "str"),
        ("inspector_name", "str"), ("notes", "str")]),
    "water_bodies": ("water_id", [
        ("water_id", "str"), ("name", "str"), ("kind", "str"), ("width_m", "float"), ("flow", "str"),
        ("drinking_source", "bool")]),
    "residential_areas": ("area_id", [
        ("area_id", "str"), ("name", "str"), ("population", "int"), ("place", "str"), ("admin_area", "str")]),
    "tailings": ("tailings_id", [
        ("tailings_id", "str"), ("site_id", "str"), ("lined", "bool"), ("capped", "bool"),
        ("hg_mg_per_kg", "float"), ("volume_m3", "float"), ("status", "str")]),
    "deposits": ("deposit_id", [
        ("deposit_id", "str"), ("name", "str"), ("deposit_type", "str"), ("commodity", "str")]),
    "samples": ("sample_id", [
        ("sample_id", "str"), ("medium", "str"), ("hg", "float"), ("below_detection", "bool"), ("unit", "str"),
        ("species", "str"), ("sampled_on", "date"), ("lab", "str"), ("fish_predatory", "bool"),
        ("collector_name", "str"), ("participant_id", "str"), ("admin_area", "str")]),
}


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "hgw_state",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("generation", sa.BigInteger, nullable=False),
        sa.CheckConstraint("id = 1", name="hgw_state_one_row"))
    op.execute("INSERT INTO hgw_state (id, generation) VALUES (1, 0)")
    op.create_table(
        "hgw_layers",
        sa.Column("layer", sa.Text, primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("licence", sa.Text, nullable=False),
        sa.Column("imported_at", sa.Text, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("accuracy_m", postgresql.DOUBLE_PRECISION),
        sa.Column("accuracy_note", sa.Text, nullable=False, server_default=""),
        sa.Column("synthetic", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("columns", postgresql.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")))
    op.create_table(
        "hgw_shareable",
        sa.Column("layer", sa.Text, primary_key=True),
        sa.Column("field", sa.Text, primary_key=True),
        sa.Column("marked_at", sa.Text, nullable=False))
    op.create_table(
        "hgw_runs",
        sa.Column("run_id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("ran_at", sa.Text, nullable=False),
        sa.Column("rules_hash", sa.Text, nullable=False),
        sa.Column("input_hashes", postgresql.JSONB, nullable=False),
        sa.Column("counts", postgresql.JSONB, nullable=False),
        sa.Column("violation_ids", postgresql.JSONB, nullable=False))
    for layer, (id_field, fields) in LAYERS.items():
        op.create_table(
            layer,
            sa.Column("fid", sa.BigInteger, sa.Identity(), primary_key=True),
            *[sa.Column(name, SQL_TYPES[dtype]()) for name, dtype in fields],
            sa.Column("extra", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
            sa.Column("geom", Geometry(geometry_type="GEOMETRY", srid=4326, spatial_index=False)))
        op.create_index(f"ix_{layer}_geom", layer, ["geom"], postgresql_using="gist")
        op.create_index(f"ix_{layer}_{id_field}", layer, [id_field])


def downgrade() -> None:
    for layer in LAYERS:
        op.drop_table(layer)
    for table in ("hgw_runs", "hgw_shareable", "hgw_layers", "hgw_state"):
        op.drop_table(table)
