"""A file's problems as the Import page tables them: one table per severity (errors, warnings, notes), each
headed by its count as ``validate`` and ``import`` print it ("2 errors"), its rows in the order given, which
for a file's problems is file order (``layers.io.validate.in_file_order``). Someone fixing a file goes down
it row by row: tables by kind (``services.imports.group_problems``) sent them back to the top for each kind.
No Streamlit here."""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from geo.errors import Problem
from geo.words import counted
from services.imports import SEVERITY_ORDER

COLUMNS = ["row", "field", "value", "expected", "problem", "id", "file"]


def by_severity(problems: Sequence[Problem]) -> list[tuple[str, pd.DataFrame]]:
    """[(heading, table), ...] for each severity with problems, in ``SEVERITY_ORDER``; the table's rows keep
    the order of ``problems``. A problem of the whole file has no row and its field is "(file)"; values are
    text as the file held them (``None`` when it held none)."""
    out = []
    for severity in SEVERITY_ORDER:
        found = [p for p in problems if p.severity == severity]
        if found:
            table = pd.DataFrame([{"row": p.row, "field": p.field or "(file)",
                                   "value": None if p.value is None else str(p.value), "expected": p.expected,
                                   "problem": p.kind, "id": p.feature_id, "file": p.file} for p in found],
                                 columns=COLUMNS).astype({"row": "Int64"})
            out.append((counted(len(found), severity), table))
    return out
