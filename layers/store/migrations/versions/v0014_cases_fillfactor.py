"""``hgw_cases`` keeps half of each page free (``fillfactor = 50``), so that a re-run's update of a case
stays on its page: a heap-only (HOT) update, which writes no index entry.

A recorded run that flags a case again with nothing else changed only sets its ``last_run``
(``layers.store.cases.CaseTables.set_last_run``), a column no index of the table holds (the primary
key ``violation_id``; ``hgw_cases_area`` on ``admin_area, status``). With full pages (the default,
100) every such update moved the row to another page and wrote a new entry into both indexes.

The table is rewritten here, in the upgrade's one transaction (``CLUSTER`` on the primary key,
which also lays the rows out in violation id order, the order every read asks for; ``VACUUM FULL``
would rewrite it too but cannot run in a transaction). Setting the option alone leaves the pages
already written full: the first re-run after the upgrade still moved every case it flagged, and
the table kept those pages besides the new ones. Measured on the test server (144,430 cases, 2026-11-28,
load 0.9-1.0), the UPDATE of every case's ``last_run`` in runs 2, 3 and 4:

- before (fillfactor 100): 2.83, 2.99, 1.94 s, no HOT update, table 67 MB -> 137 MB;
- option only: 2.76, 1.44, 1.27 s (the first not HOT), 194 MB;
- option and rewrite (this migration): 1.26, 1.21, 1.26 s, all HOT, 127 MB; the rewrite took
  0.74 s under an exclusive lock on the table;
- a new workspace (fillfactor 50 from the start): 1.35, 1.37, 1.20 s, 127 MB.

Revision ID: v0014_cases_fillfactor
Revises: v0013_resurvey_of
"""
from __future__ import annotations

from alembic import op

revision = "v0014_cases_fillfactor"
down_revision = "v0013_resurvey_of"

FILLFACTOR = 50


def upgrade() -> None:
    op.execute(f"ALTER TABLE hgw_cases SET (fillfactor = {FILLFACTOR})")
    op.execute("CLUSTER hgw_cases USING hgw_cases_pkey")  # pages written again, half full
    op.execute("ALTER TABLE hgw_cases SET WITHOUT CLUSTER")  # a later bare CLUSTER (or a dump) need not know


def downgrade() -> None:
    op.execute("ALTER TABLE hgw_cases RESET (fillfactor)")
    op.execute("CLUSTER hgw_cases USING hgw_cases_pkey")
    op.execute("ALTER TABLE hgw_cases SET WITHOUT CLUSTER")
