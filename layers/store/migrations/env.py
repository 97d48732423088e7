"""Alembic's entry point: run the migrations on the connection ``upgrade_schema`` hands over.

Only the programmatic, online way is supported: ``layers.store.postgis.upgrade_schema`` puts an
open SQLAlchemy connection in ``config.attributes["connection"]`` and the whole upgrade runs in
its one transaction (PostgreSQL has transactional DDL: a failed upgrade changes nothing).
"""
from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the HgWatch schema is upgraded with `python cli.py db upgrade`, not the alembic command")
context.configure(connection=connection, target_metadata=None, transactional_ddl=True,
                  version_table="hgw_schema_version")
with context.begin_transaction():
    context.run_migrations()
