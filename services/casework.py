"""The case workbench (issue 12): the violations table with its cases' columns, the "my cases"
filter, the moves a role may make and a case's timeline. No Streamlit here; the cases themselves
are ``services.cases``'.
"""
from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from PIL import Image

from services.auth import Identity
from services.cases import CaseFile, case_rules

CASE_COLUMNS = ("status", "assignee", "last_visit", "days_open")
NO_CASE = "no case"  # the status of a violation with no case the role sees (no recorded run yet, or another area)
ENDED = ("closed",)  # a case's days open stop counting at its last change once it is in one of these


def _day(text: object) -> date | None:
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return None
    try:
        return datetime.fromisoformat(str(text)).date()
    except ValueError:
        return None


def days_open(opened_at: object, status: object, updated_at: object, *, today: date) -> int | None:
    """Whole days from the case's opening to ``today`` (to its last change when it is closed);
    None without a readable opening time."""
    start = _day(opened_at)
    if start is None:
        return None
    end = _day(updated_at) if status in ENDED else today
    return max(((end or today) - start).days, 0)


def with_cases(table: pd.DataFrame, cases: pd.DataFrame, *, today: date) -> pd.DataFrame:
    """``table`` (``services.workbench.violations_table``) with the columns ``CASE_COLUMNS`` after
    ``violation_id``: the case's status (``NO_CASE`` when none is open, or the role does not see
    it), assignee, the time of its last visit and its days open (``days_open``)."""
    by_id = cases.set_index("violation_id") if len(cases) else pd.DataFrame(
        columns=["status", "assignee", "last_visit", "opened_at", "updated_at"])
    ids = table["violation_id"].astype(str)
    found = by_id.reindex(ids)
    out = table.copy()
    status = found["status"].to_numpy(dtype=object)
    out.insert(1, "status", [s if isinstance(s, str) else NO_CASE for s in status])
    out.insert(2, "assignee", found["assignee"].to_numpy(dtype=object))
    out.insert(3, "last_visit", found["last_visit"].to_numpy(dtype=object))
    out.insert(4, "days_open", pd.array([days_open(o, s, u, today=today) for o, s, u in zip(
        found["opened_at"], found["status"], found["updated_at"])], dtype="Int64"))
    return out


def narrow_cases(table: pd.DataFrame, *, statuses: Sequence[str] = (), mine: str | None = None,
                 areas: Sequence[str] | None = None) -> pd.DataFrame:
    """The rows of ``with_cases`` in one of ``statuses`` (empty: any), with ``mine`` (an account
    name) assigned to it, and with ``areas`` (a field coordinator's) in one of them (``admin_area``)."""
    shown = table
    if statuses:
        shown = shown[shown["status"].isin(statuses)]
    if mine is not None:
        shown = shown[shown["assignee"] == mine]
    if areas is not None:
        shown = shown[shown["admin_area"].isin(areas)]
    return shown.reset_index(drop=True)


def moves(identity: Identity, status: str) -> list[str]:
    """The statuses ``identity``'s role may move a case in ``status`` to (``config/cases.toml``)."""
    return case_rules().targets(status, identity.role)


def needs_reason(status: str, target: str) -> bool:
    """True when the move ``status`` -> ``target`` is refused without a reason."""
    return case_rules().needs_reason(status, target)


def may_assign(identity: Identity) -> bool:
    """True when ``identity``'s role may give cases an assignee and a due date."""
    return identity.role in case_rules().assign_roles


@dataclass(frozen=True)
class Entry:
    """One line of a case's timeline: when, who, what happened, the values after it, and the
    SHA-256 of the photos it added."""

    at: str
    who: str
    what: str
    detail: str
    photos: tuple[str, ...] = ()


def _after(text: str) -> dict[str, object]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _hashes(after: dict[str, object]) -> tuple[str, ...]:
    listed = after.get("photos")
    found = [str(p["sha256"]) for p in listed if isinstance(p, dict) and "sha256" in p] \
        if isinstance(listed, list) else []
    if isinstance(after.get("sha256"), str):
        found.append(str(after["sha256"]))
    return tuple(found)


def _detail(action: str, after: dict[str, object]) -> str:
    if action == "case comment":
        return str(after.get("text", ""))
    if action == "case photo":
        return f"photo {after.get('name', '')}"
    parts = [f"status {after['status']}"] if "status" in after else []
    parts += [f"{k} {after[k]}" for k in ("assignee", "due_date", "reason", "note", "distance_m") if after.get(k)]
    return "; ".join(parts)


def _run_detail(violation_id: str, after: dict[str, object], *, opening: bool) -> str:
    """What a recorded run did to this case (opened, reopened, kept, no longer flagged, flagged again)."""
    synced = after.get("cases")
    groups = [k.replace("_", " ") for k, v in synced.items() if isinstance(v, list) and violation_id in v] \
        if isinstance(synced, dict) else []
    return ", ".join(groups) or ("opened this case" if opening else "")


def viewable(data: bytes, *, width: int = 240) -> bool:
    """Whether a case photo's bytes decode as a whole image (a photo cut short on upload, or a file
    that is no image, would stop the page that draws it). Decoded at about ``width`` pixels, so cheap."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (width, width))
            image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return False
    return True


def timeline(found: CaseFile) -> list[Entry]:
    """The case's history, newest first: every row of its audit trail (``services.cases.CaseFile.history``,
    from the rule run that opened it) with what a run did to it and the photos each row added; the
    case's opening time stands in for the opening run when the trail lacks it."""
    case = found.case
    opening = f"run {case.first_run}"
    entries = [] if any(r.action == "rule run" and r.target == opening for r in found.history) else [
        Entry(case.opened_at, "rules", "case opened", f"flagged by {opening}")]
    for row in found.history:
        after = _after(row.after)
        detail = _run_detail(case.violation_id, after, opening=row.target == opening) if row.action == "rule run" \
            else _detail(row.action, after)
        entries.append(Entry(row.at, row.who, row.action, detail, _hashes(after)))
    return entries[::-1]
