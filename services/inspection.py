"""Inspection figures for the inventory report (issue 12), per admin area: the cases by status,
the median days from the flag (the case's opening) to its verification, and the confirmed share.

A case is **verified** the first time it reaches a verdict, ``confirmed`` or ``false_positive``
(in the field or at the desk), as the audit trail records it (``case status`` and ``case visit``
rows); its **verdict** is the last of those it reached. The **confirmed share** of an area is
its cases whose verdict is ``confirmed`` over those with either verdict. Counts only: no case
detail, so every role that sees the inventory may see them (as ``services.cases.case_counts``).
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from layers.store import cases as stored
from layers.store.base import Store
from services import audit
from services.cases import case_rules

VERDICTS = ("confirmed", "false_positive")
FIGURES = ("cases", "verified", "median_days_to_verification", "confirmed_share")
NO_AREA = "(no area)"
ALL = "All areas"


def _days(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 86400.0


def inspection_figures(cases: pd.DataFrame, verified_at: Mapping[str, str], verdicts: Mapping[str, str], *,
                       statuses: Sequence[str]) -> pd.DataFrame:
    """One row per admin area (then ``All areas``): the number of cases in each of ``statuses``,
    ``cases``, ``verified``, ``median_days_to_verification`` (days, 0.1) and ``confirmed_share``
    (0-1, 3 decimals; NaN where no case has a verdict).

    ``cases`` has ``violation_id``, ``admin_area``, ``status`` and ``opened_at`` (ISO 8601);
    ``verified_at`` maps a violation id to the time of its first verdict, ``verdicts`` to its last.
    """
    columns = ["admin_area", *statuses, *FIGURES]
    if cases.empty:
        return pd.DataFrame(columns=columns)
    frame = cases.assign(admin_area=cases["admin_area"].fillna(NO_AREA).astype(str))
    ids = frame["violation_id"].astype(str)
    frame["days"] = [_days(o, verified_at[v]) if v in verified_at else np.nan for v, o in zip(ids, frame["opened_at"])]
    frame["verdict"] = ids.map(verdicts)
    rows = []
    for area, part in [*frame.groupby("admin_area", sort=True), (ALL, frame)]:
        judged = part["verdict"].isin(VERDICTS)
        days = part["days"].dropna()
        rows.append({"admin_area": area, **{s: int((part["status"] == s).sum()) for s in statuses},
                     "cases": len(part), "verified": int(part["days"].notna().sum()),
                     "median_days_to_verification": round(float(days.median()), 1) if len(days) else np.nan,
                     "confirmed_share": round(float((part["verdict"] == "confirmed").sum() / judged.sum()), 3)
                     if judged.any() else np.nan})
    return pd.DataFrame(rows, columns=columns)


def inspection_table(store: Store) -> pd.DataFrame:
    """``inspection_figures`` of every case in ``store``, verdicts read from its audit trail."""
    with stored.reading(store) as tables:
        held = tables.all()
    cases = pd.DataFrame([(c.violation_id, c.admin_area, c.status, c.opened_at) for c in held],
                         columns=["violation_id", "admin_area", "status", "opened_at"])
    verified_at: dict[str, str] = {}
    verdicts: dict[str, str] = {}
    if held:
        for row in audit.trail(store):
            if row.action not in ("case status", "case visit"):
                continue
            status = (json.loads(row.after) or {}).get("status") if row.after else None
            if status in VERDICTS:
                verified_at.setdefault(row.target, row.at)
                verdicts[row.target] = str(status)
    return inspection_figures(cases, verified_at, verdicts, statuses=case_rules().statuses)
