"""Import problems grouped for reading: one group per kind of problem and field, each a table
of file, row, id, value and what was expected. No Streamlit here.
"""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from geo.errors import Problem


def group_problems(problems: Iterable[Problem]) -> list[tuple[str, pd.DataFrame]]:
    """[(heading, table), ...], errors before warnings, biggest group first.

    Values are kept as text (``repr``-free) so the page shows exactly what the file held.
    """
    rows = [{"severity": p.severity, "kind": p.kind, "field": p.field or "(file)",
             "file": p.file, "row": p.row, "id": p.feature_id,
             "value": None if p.value is None else str(p.value), "expected": p.expected}
            for p in problems]
    if not rows:
        return []
    frame = pd.DataFrame(rows)
    groups = []
    for (severity, kind, field), part in frame.groupby(["severity", "kind", "field"], sort=False):
        heading = f"{severity}: {len(part)} x {kind} in field '{field}'"
        rank = (0 if severity == "error" else 1, -len(part))
        groups.append((rank, heading, part.drop(columns=["severity", "kind"])
                       .reset_index(drop=True)))
    groups.sort(key=lambda g: g[0])
    return [(h, t) for _, h, t in groups]
