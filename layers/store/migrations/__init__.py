"""Alembic migrations of the PostGIS store's schema, run by ``layers.store.postgis.upgrade_schema``
(``python cli.py db upgrade``); nobody calls the ``alembic`` command. Add a change as a new file in
``versions/`` whose ``down_revision`` is the current head; never edit a released one."""
