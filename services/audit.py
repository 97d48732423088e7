"""The audit trail: who changed what, when, with the values before and after.

Recording a write (the one function other services call)::

    from services import audit
    audit.record(store, "account add", "maria", before=None, after={"role": "field"})

``record(store, action, target, *, before=None, after=None, who=None) -> AuditRow``

- ``store``: the ``layers.store.base.Store`` that was written (the trail lives in it).
- ``action``: a short lower-case verb phrase: ``import``, ``rule run``, ``share``, ``export``,
  ``download``, ``account add``, ``account role``, ``account disable``, ``account password``,
  ``settings change``, ...
- ``target``: what was changed: a layer, an account name, a file, a run.
- ``before`` / ``after``: JSON-able values (dicts of the fields that changed; never a password
  or its hash).
- ``who``: the acting name; by default ``actor()``: the name given to ``acting_as`` or
  ``set_actor`` in this context (the signed-in identity's name; the command line's
  ``cli:<OS user>`` or its ``--as`` account), else ``local`` (the single-user mode).

Call it after the write succeeded, outside the store's write transaction. Outputs (exports,
reports, downloads) go through ``record_output``: not recorded for the shipped demo workspace. Rows are chained by
hash (``layers.store.audit``); ``verify`` checks the chain, ``trail`` lists it.
"""
from __future__ import annotations

import contextlib
import contextvars
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from geo.errors import InputError
from geo.words import counted
from layers.store import audit as stored
from layers.store.audit import AuditRow
from layers.store.base import Store
from layers.store.workspace import Workspace
from settings import DEMO_WORKSPACE

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = ["AuditRow", "Verdict", "acting_as", "actor", "audit_layer", "audit_run", "parse_since", "record", "record_in",
           "record_output", "record_outputs", "record_session",
           "set_actor", "trail", "trail_lines", "verify"]

SESSION_NAME_CHARS = 200  # a sign-in row keeps at most this much of the name typed
LOCAL = "local"  # who acts in the single-user mode (no account exists yet)
_actor: contextvars.ContextVar[str] = contextvars.ContextVar("hgwatch_actor", default=LOCAL)


def set_actor(name: str) -> None:
    """Record later writes in this context (thread, Streamlit script run) as done by ``name``."""
    _actor.set(name)


@contextlib.contextmanager
def acting_as(name: str) -> Iterator[None]:
    """Record the writes made inside the block as done by ``name``; the previous actor after it."""
    token = _actor.set(name)
    try:
        yield
    finally:
        _actor.reset(token)


def actor() -> str:
    """Who acts now: the name given to ``set_actor`` in this context, else ``local``."""
    return _actor.get()


def record(store: Store, action: str, target: str, *, before: object = None, after: object = None,
           who: str | None = None) -> AuditRow:
    """Append one row to the trail of ``store`` (see the module docstring); returns it."""
    return stored.append(store, who=who or actor(), action=action, target=target, before=before, after=after)


def record_in(con: sqlite3.Connection | sa.Connection, action: str, target: str, *, before: object = None,
              after: object = None, who: str | None = None) -> None:
    """``record`` inside the caller's open write transaction ``con`` (``layers.store.audit.append_in``):
    the change and its audit row commit together, in one commit."""
    stored.append_in(con, who=who or actor(), action=action, target=target, before=before, after=after)


def record_output(store: Store, action: str, target: str, *, after: object = None,
                  who: str | None = None) -> AuditRow | None:
    """``record`` for an output read from ``store`` (an export, a report, a download): the same
    row, except that outputs of the shipped demo workspace are not recorded (each would change
    the shipped file) and a store not yet created has no trail to record in (None then)."""
    if isinstance(store, Workspace) and store.real == DEMO_WORKSPACE.resolve():
        return None
    if not store.exists():
        return None
    return record(store, action, target, after=after, who=who)


def record_session(store: Store, action: str, name: str, *, via: str, reason: str | None = None) -> AuditRow | None:
    """A sign-in, a refused sign-in or a log-out of the dashboard: ``action`` is ``sign in``,
    ``sign in refused`` or ``log out``, ``name`` the name given (``who`` and ``target`` both: a
    refused name may be no account), ``via`` ``password`` or ``identity provider``, ``reason``
    the message the user saw on a refusal. Not recorded for the shipped demo (``record_output``)."""
    after: dict[str, str] = {"via": via}
    if reason is not None:
        after["reason"] = reason
    name = name[:SESSION_NAME_CHARS] if name.isprintable() else ascii(name[:SESSION_NAME_CHARS])  # typed by anyone
    return record_output(store, action, name or "(no name)", after=after, who=name or "(no name)")


def record_outputs(store: Store, entries: list[tuple[str, str, str, object]]) -> int:
    """``record_output`` for many outputs at once, (who, action, target, after) each, in one
    transaction (``layers.store.audit.append_many``); returns how many rows were written."""
    if (isinstance(store, Workspace) and store.real == DEMO_WORKSPACE.resolve()) or not store.exists():
        return 0
    return stored.append_many(store, [(who, action, target, None, after) for who, action, target, after in entries])


@dataclass(frozen=True)
class Verdict:
    """What ``verify`` found.

    Attributes
    ----------
    rows : rows in the trail.
    broken_seq : the ``seq`` of the first row that breaks the chain (None: the chain is whole).
    reason : why it breaks ("" when whole).
    """

    rows: int
    broken_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """True when the chain is whole."""
        return self.broken_seq is None

    def line(self, where: str) -> str:
        """One line for a person."""
        if self.ok:
            return f"audit trail of {where}: {counted(self.rows, 'row')}, the chain is whole"
        return f"audit trail of {where}: BROKEN at {self.reason}"


def verify(store: Store) -> Verdict:
    """Check the hash chain of the trail of ``store``; names the first broken row."""
    rows = stored.rows(store)
    found = stored.first_break(rows)
    if found is None:
        return Verdict(len(rows))
    i, reason = found
    return Verdict(len(rows), rows[i].seq, reason)


def trail(store: Store, *, since: date | None = None, user: str | None = None) -> list[AuditRow]:
    """The rows of the trail, oldest first, from ``since`` (a UTC day) on and by ``user`` only
    when given."""
    rows = stored.rows(store)
    if since is not None:
        rows = [r for r in rows if r.at[:10] >= since.isoformat()]
    if user is not None:
        rows = [r for r in rows if r.who == user]
    return rows


def parse_since(text: str, *, flag: str = "--since") -> date:
    """``--since`` as a day, YYYY-MM-DD; an ``InputError`` naming the flag and value otherwise."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{flag} {text!r} is not a date; expected YYYY-MM-DD, e.g. 2026-01-31") from None


def trail_lines(rows: list[AuditRow]) -> list[str]:
    """The rows as text: one line each, then the values before and after."""
    if not rows:
        return ["no audit rows"]
    lines = []
    for r in rows:
        lines.append(f"#{r.seq} {r.at} {r.who}: {r.action} ({r.target})")
        lines.append(f"    before: {r.before}")
        lines.append(f"    after:  {r.after}")
    return lines


def audit_layer(store: Store, layer: str) -> dict[str, object] | None:
    """What the trail records of ``layer`` before a write: its rows and source (None: absent)."""
    if not store.exists() or not store.has(layer):
        return None
    info = store.info(layer)
    return {"rows": info.rows, "source": info.source, "licence": info.licence}


def audit_run(runs: list[dict[str, object]]) -> dict[str, object] | None:
    """What the trail records of the newest of ``runs``: its id, rule file hash and counts."""
    if not runs:
        return None
    run = runs[0]
    return {"run_id": run["run_id"], "rules_hash": run["rules_hash"], "counts": run["counts"]}
