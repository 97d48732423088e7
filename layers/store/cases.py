"""Cases, stored beside the data they are about: in the workspace GeoPackage or the PostGIS database.

Five tables (the same columns on both back ends; PostGIS: migration ``v0006_cases``):

- ``hgw_cases``: one row per violation id: the rule, the site (id, name, admin area, a point on it
  in lon/lat, its geometry as WKB for visit distances), the status, assignee, due date, the last
  reason, whether the last run still flags it (``flagged``) and a note for review (``review``),
  the fingerprint of the last run (``geo.cases.Fingerprint``) and of the verdict (``verdict``),
  when it was opened and last changed, and the first and last run that flagged it.
- ``hgw_case_comments``: comments (time, who, text).
- ``hgw_case_visits``: field visits (time, WGS84 position, accuracy and geodesic distance from the
  site in metres, outcome, notes, who, the submission key and file it came from).
- ``hgw_case_photos``: evidence photos: the bytes, their SHA-256, the EXIF time and position.
- ``hgw_case_submissions``: the keys of imported field submissions (re-import is idempotent).

Every change is ONE transaction: on a GeoPackage ``Workspace.writing`` (in place, under the
writer lock; a one-row change costs a few pages, not a copy of the file), on PostGIS
``PostgisStore.writing`` (the writers' advisory lock). The SQL is written once with ``:name``
parameters, which both sqlite3 and SQLAlchemy understand. Reading takes no lock; a store without
the tables yet holds no case.
"""
from __future__ import annotations

import contextlib
import json
import operator
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from geo.errors import WorkspaceError
from layers.store import files, gpkg
from layers.store.base import Store
from layers.store.open import as_postgis
from layers.store.workspace import Workspace

if TYPE_CHECKING:  # a PostGIS connection exists only when the PostGIS modules were loaded (layers.store.open)
    from sqlalchemy.engine import Connection

CASES = "hgw_cases"
COMMENTS = "hgw_case_comments"
VISITS = "hgw_case_visits"
PHOTOS = "hgw_case_photos"
SUBMISSIONS = "hgw_case_submissions"
TABLES = (CASES, COMMENTS, VISITS, PHOTOS, SUBMISSIONS)
COUNT_BY = ("admin_area", "status", "rule_id", "assignee", "flagged", "site_id",
            "subject_layer")  # what counts may be grouped by

_SQLITE_TABLES = (
    f"""CREATE TABLE IF NOT EXISTS {CASES} (
        violation_id TEXT PRIMARY KEY, rule_id TEXT NOT NULL, rule_version TEXT NOT NULL,
        subject_layer TEXT NOT NULL, site_id TEXT NOT NULL, site_name TEXT, admin_area TEXT,
        status TEXT NOT NULL, assignee TEXT, due_date TEXT, reason TEXT,
        flagged INTEGER NOT NULL DEFAULT 1, review TEXT, distance_m REAL, lon REAL, lat REAL, site_wkb BLOB,
        fingerprint TEXT, verdict TEXT, opened_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        first_run INTEGER, last_run INTEGER)""",
    f"CREATE INDEX IF NOT EXISTS {CASES}_area ON {CASES} (admin_area, status)",
    f"""CREATE TABLE IF NOT EXISTS {COMMENTS} (
        id INTEGER PRIMARY KEY, violation_id TEXT NOT NULL, at TEXT NOT NULL, who TEXT NOT NULL, text TEXT NOT NULL)""",
    f"""CREATE TABLE IF NOT EXISTS {VISITS} (
        id INTEGER PRIMARY KEY, violation_id TEXT NOT NULL, visited_at TEXT, lat REAL, lon REAL, accuracy_m REAL,
        distance_m REAL, outcome TEXT, notes TEXT, who TEXT NOT NULL, submission_key TEXT, source TEXT)""",
    f"CREATE INDEX IF NOT EXISTS {VISITS}_case ON {VISITS} (violation_id)",
    f"""CREATE TABLE IF NOT EXISTS {PHOTOS} (
        id INTEGER PRIMARY KEY, violation_id TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL,
        data BLOB NOT NULL, taken_at TEXT, lat REAL, lon REAL, added_at TEXT NOT NULL, who TEXT NOT NULL,
        visit_id INTEGER)""",
    f"CREATE INDEX IF NOT EXISTS {PHOTOS}_case ON {PHOTOS} (violation_id)",
    f"""CREATE TABLE IF NOT EXISTS {SUBMISSIONS} (
        key TEXT PRIMARY KEY, violation_id TEXT NOT NULL, source TEXT NOT NULL, file_row INTEGER,
        applied_at TEXT NOT NULL)""",
)


@dataclass(frozen=True)
class Case:
    """One case as stored (see the module docstring for the columns)."""

    violation_id: str
    rule_id: str
    rule_version: str
    subject_layer: str
    site_id: str
    site_name: str | None
    admin_area: str | None
    status: str
    assignee: str | None
    due_date: str | None
    reason: str | None
    flagged: bool
    review: str | None
    distance_m: float | None
    lon: float | None
    lat: float | None
    site_wkb: bytes | None
    fingerprint: str | None
    verdict: str | None
    opened_at: str
    updated_at: str
    first_run: int | None
    last_run: int | None


CASE_COLUMNS = tuple(f.name for f in fields(Case))
COPY_ABOVE = 500  # cases put at once on PostGIS from which they go through COPY and one upsert (``CaseTables.put``)
_INCOMING = "hgw_cases_incoming"  # the temporary table of that copy


@dataclass(frozen=True)
class Visit:
    """A field visit: time (ISO 8601 UTC), WGS84 position, accuracy and distance from the site in metres."""

    violation_id: str
    visited_at: str | None
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    distance_m: float | None
    outcome: str | None
    notes: str | None
    who: str
    submission_key: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Photo:
    """An evidence photo: its bytes, their SHA-256 (hex) and its EXIF time and position (None: unknown)."""

    violation_id: str
    name: str
    sha256: str
    data: bytes
    taken_at: str | None
    lat: float | None
    lon: float | None
    added_at: str
    who: str
    visit_id: int | None = None


@dataclass(frozen=True)
class Comment:
    """A comment on a case."""

    violation_id: str
    at: str
    who: str
    text: str


def _case(row: Sequence[Any]) -> Case:
    values = list(row)
    values[11] = bool(values[11])
    if values[16] is not None:
        values[16] = bytes(values[16])
    return Case(*values)


def _text(sql: str) -> Any:
    """``sql`` as SQLAlchemy text, for a PostGIS connection (whose owner loaded SQLAlchemy already)."""
    import sqlalchemy as sa

    return sa.text(sql)


class CaseTables:
    """The case tables inside one open transaction (or read-only connection) of either back end."""

    def __init__(self, con: sqlite3.Connection | Connection) -> None:
        self.con = con

    def _rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        if isinstance(self.con, sqlite3.Connection):
            return [tuple(r) for r in self.con.execute(sql, dict(params or {})).fetchall()]
        result = self.con.execute(_text(sql), dict(params or {}))
        return [tuple(r) for r in result.all()] if result.returns_rows else []

    def _many(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        if isinstance(self.con, sqlite3.Connection):
            self.con.executemany(sql, [dict(r) for r in rows])
        else:
            self.con.execute(_text(sql), [dict(r) for r in rows])

    # ---------------------------------------------------------------- cases
    def get(self, violation_id: str) -> Case | None:
        """The case of ``violation_id``, or None."""
        found = self._rows(f"SELECT {', '.join(CASE_COLUMNS)} FROM {CASES} WHERE violation_id = :v",
                           {"v": violation_id})
        return _case(found[0]) if found else None

    def _fetch(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """The rows of ``sql`` (``:name`` parameters) as the driver gives them: sqlite3's tuples, or on
        PostGIS psycopg's own binary rows (``layers.store.postgis._fetch``, no SQLAlchemy Row each)."""
        if isinstance(self.con, sqlite3.Connection):
            return self.con.execute(sql, dict(params or {})).fetchall()
        from layers.store.postgis import _fetch

        return _fetch(self.con, re.sub(r":(\w+)", r"%(\1)s", sql), dict(params or {}))

    def columns(self, names: Sequence[str]) -> dict[str, list[Any]]:
        """The case columns ``names`` of every case, each a list (rows in no set order, the same order
        in every column): one SELECT, no ``Case`` per row. ``flagged`` as bool, ``site_wkb`` as bytes."""
        bad = [c for c in names if c not in CASE_COLUMNS]
        if bad:
            raise WorkspaceError(f"cases have no column {bad[0]!r}; expected one of {list(CASE_COLUMNS)}")
        rows = self._fetch(f"SELECT {', '.join(names)} FROM {CASES}")
        out = {name: list(values) for name, values in zip(names, zip(*rows))} if rows else {n: [] for n in names}
        if "flagged" in out:
            out["flagged"] = [bool(f) for f in out["flagged"]]
        if "site_wkb" in out:
            out["site_wkb"] = [w if w is None or type(w) is bytes else bytes(w) for w in out["site_wkb"]]
        return out

    def many(self, violation_ids: Sequence[str]) -> list[Case]:
        """The cases of ``violation_ids`` that exist, by violation id (the store's order, as ``all``)."""
        if not violation_ids:
            return []
        if isinstance(self.con, sqlite3.Connection):
            where, ids = "violation_id IN (SELECT value FROM json_each(:ids))", json.dumps(list(violation_ids))
        else:
            where, ids = "violation_id = ANY(:ids)", list(violation_ids)  # type: ignore[assignment]
        return [_case(r) for r in self._fetch(
            f"SELECT {', '.join(CASE_COLUMNS)} FROM {CASES} WHERE {where} ORDER BY violation_id", {"ids": ids})]

    def all(self, *, with_geometry: bool = False) -> list[Case]:
        """Every case, by violation id (``site_wkb`` None unless ``with_geometry``)."""
        cols = [c if with_geometry or c != "site_wkb" else "NULL" for c in CASE_COLUMNS]
        return [_case(r) for r in self._rows(f"SELECT {', '.join(cols)} FROM {CASES} ORDER BY violation_id")]

    def select(self, columns: Sequence[str], *, equals: Mapping[str, object] | None = None,
               areas: Sequence[str] | None = None) -> list[tuple[Any, ...]]:
        """Rows of the case columns ``columns`` (no ``site_wkb``), by violation id, where each column
        of ``equals`` has its value and, when ``areas`` is given, ``admin_area`` is one of them."""
        named = [*columns, *(equals or {})]
        bad = [c for c in named if c not in CASE_COLUMNS or c == "site_wkb"]
        if bad:
            raise WorkspaceError(f"cases have no column {bad[0]!r}; expected one of {list(CASE_COLUMNS)}")
        params: dict[str, object] = {f"e{i}": v for i, v in enumerate((equals or {}).values())}
        where = [f"{c} = :e{i}" for i, c in enumerate(equals or {})]
        if areas is not None:
            params.update({f"a{i}": a for i, a in enumerate(areas)})
            where.append(f"admin_area IN ({', '.join(f':a{i}' for i in range(len(areas)))})" if areas else "1 = 0")
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        return self._rows(f"SELECT {', '.join(columns)} FROM {CASES}{clause} ORDER BY violation_id", params)

    def put(self, cases: Iterable[Case]) -> None:
        """Insert or replace ``cases`` (matched on violation id; of two with one id, the later wins).

        On PostGIS more than ``COPY_ABOVE`` cases (a national rule run touches every case) are
        copied into a temporary table and stored by ONE upsert: one statement, where a statement
        per case took 22 s for 144,430 cases (each also ran the audit trigger's check)."""
        self.put_rows([tuple(vars(c).values()) for c in cases])  # vars: astuple deep-copies every value

    def put_rows(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """``put`` for cases given as tuples of their values in ``CASE_COLUMNS`` order (a recorded run
        opening 144,430 cases builds no ``Case`` for them). A GeoPackage gets them in violation id
        order (SQLite's own row numbers follow it; every read orders by violation id): 144,430 new
        cases in 1.2-2.1 s instead of 2.3-3.1 s in the run's order, at load 2.7."""
        if not rows:
            return
        names = ", ".join(CASE_COLUMNS)
        update = ", ".join(f"{c} = excluded.{c}" for c in CASE_COLUMNS[1:])
        if isinstance(self.con, sqlite3.Connection):  # in violation id order: SQLite appends to the key's index
            values = ", ".join("?" * len(CASE_COLUMNS))  # (sorted is stable: of two with one id the later still wins)
            self.con.executemany(f"INSERT INTO {CASES} ({names}) VALUES ({values}) ON CONFLICT (violation_id) "
                                 f"DO UPDATE SET {update}", sorted(rows, key=operator.itemgetter(0)))
            return
        if len(rows) <= COPY_ABOVE:
            self._many(f"INSERT INTO {CASES} ({names}) VALUES ({', '.join(f':{c}' for c in CASE_COLUMNS)}) "
                       f"ON CONFLICT (violation_id) DO UPDATE SET {update}", [dict(zip(CASE_COLUMNS, r)) for r in rows])
            return
        latest = list({r[0]: r for r in rows}.values())  # one upsert may touch a row once
        self.con.execute(_text(f"CREATE TEMP TABLE {_INCOMING} (LIKE {CASES}) ON COMMIT DROP"))
        raw: Any = self.con.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {_INCOMING} ({names}) FROM STDIN") as copy:
            for row in latest:
                copy.write_row(row)
        self.con.execute(_text(f"INSERT INTO {CASES} ({names}) SELECT {names} FROM {_INCOMING} "
                               f"ON CONFLICT (violation_id) DO UPDATE SET {update}"))
        self.con.execute(_text(f"DROP TABLE {_INCOMING}"))

    def add_rows(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert new cases given as tuples in ``CASE_COLUMNS`` order, whose violation ids no stored
        case and no other of ``rows`` has (the caller read the stored ids in this transaction: a
        recorded run's new cases); a clash is the store's primary key error, nothing is replaced.

        The cases a national run opens go in as they are, with no upsert: on PostGIS more than
        ``COPY_ABOVE`` are copied straight into the table (``put_rows`` copies them into a temporary
        table first and upserts from there: 144,430 new cases in 1.5-2.0 s instead of 1.9-2.4 s, the
        two alternated in one process at load 3.3), on a GeoPackage in violation id order, as
        ``put_rows`` does."""
        if not rows:
            return
        names = ", ".join(CASE_COLUMNS)
        if isinstance(self.con, sqlite3.Connection):
            self.con.executemany(f"INSERT INTO {CASES} ({names}) VALUES ({', '.join('?' * len(CASE_COLUMNS))})",
                                 sorted(rows, key=operator.itemgetter(0)))
            return
        if len(rows) <= COPY_ABOVE:
            self._many(f"INSERT INTO {CASES} ({names}) VALUES ({', '.join(f':{c}' for c in CASE_COLUMNS)})",
                       [dict(zip(CASE_COLUMNS, r)) for r in rows])
            return
        raw: Any = self.con.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {CASES} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def set_last_run(self, violation_ids: Sequence[str], run_id: int) -> None:
        """Set ``last_run`` of the cases ``violation_ids`` to ``run_id``, in one statement (a re-run
        flags most cases again with nothing else changed).

        On a GeoPackage SQLite is given the shorter list: the ids, or when they are most of the
        cases, the other cases' ids (then every case not among those is set, unless its
        ``last_run`` is ``run_id`` already).
        A long list is matched while the table is read in its order (``+violation_id``: not
        through the key's index, whose order visits the rows at random). 144,430 of 144,430
        cases: 0.3 s instead of 1.7 s under load.

        On PostGIS the ids go as one binary ``text[]`` parameter: psycopg's text form quoted each id
        through a regular expression (144,430 ids sent in 0.08 s instead of 0.27-0.43 s)."""
        if not violation_ids:
            return
        if not isinstance(self.con, sqlite3.Connection):  # the ids as a binary text[] (%b): no quoting of each in Python
            raw: Any = self.con.connection.driver_connection
            with raw.cursor() as cur:
                cur.execute(f"UPDATE {CASES} SET last_run = %(run)s WHERE violation_id = ANY(%(ids)b)",
                            {"run": run_id, "ids": list(violation_ids)})
            return
        every = [r[0] for r in self.con.execute(f"SELECT violation_id FROM {CASES}").fetchall()]
        wanted = set(violation_ids)
        others = [v for v in every if v not in wanted]
        if len(others) < len(wanted):
            self.con.execute(f"UPDATE {CASES} SET last_run = ? WHERE last_run IS NOT ? AND +violation_id NOT IN "
                             "(SELECT value FROM json_each(?))", (run_id, run_id, json.dumps(others)))
            return
        key = "+violation_id" if len(wanted) * 8 > len(every) else "violation_id"
        self.con.execute(f"UPDATE {CASES} SET last_run = ? WHERE {key} IN (SELECT value FROM json_each(?))",
                         (run_id, json.dumps(list(violation_ids))))

    def visit_counts(self) -> dict[str, tuple[int, str | None]]:
        """Violation id -> (number of visits, time of the last one)."""
        return {str(v): (int(n), last) for v, n, last in self._rows(
            f"SELECT violation_id, COUNT(*), MAX(visited_at) FROM {VISITS} GROUP BY violation_id")}

    def counts(self, by: Sequence[str]) -> list[tuple[Any, ...]]:
        """Rows of (``by`` values..., number of cases), grouped by the columns ``by`` (from ``COUNT_BY``)."""
        bad = [b for b in by if b not in COUNT_BY]
        if bad or not by:
            raise WorkspaceError(f"cases can be counted by {list(COUNT_BY)}; got {list(by)}")
        cols = ", ".join(by)
        return self._rows(f"SELECT {cols}, COUNT(*) FROM {CASES} GROUP BY {cols} ORDER BY {cols}")

    # ---------------------------------------------------------------- details
    def add_comment(self, comment: Comment) -> None:
        """Add ``comment``."""
        self._many(f"INSERT INTO {COMMENTS} (violation_id, at, who, text) VALUES (:violation_id, :at, :who, :text)",
                   [vars(comment)])

    def comments(self, violation_id: str) -> list[Comment]:
        """The comments on a case, oldest first."""
        return [Comment(*r) for r in self._rows(
            f"SELECT violation_id, at, who, text FROM {COMMENTS} WHERE violation_id = :v ORDER BY id", {"v": violation_id})]

    def add_visit(self, visit: Visit) -> int:
        """Add ``visit``; returns its id."""
        names = [f.name for f in fields(Visit)]
        found = self._rows(f"INSERT INTO {VISITS} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"
                           " RETURNING id", vars(visit))
        return int(found[0][0])

    def visits(self, violation_id: str) -> list[Visit]:
        """The visits of a case, in the order recorded."""
        names = [f.name for f in fields(Visit)]
        return [Visit(*r) for r in self._rows(
            f"SELECT {', '.join(names)} FROM {VISITS} WHERE violation_id = :v ORDER BY id", {"v": violation_id})]

    def add_photo(self, photo: Photo) -> int:
        """Add ``photo`` (its bytes in the store); returns its id."""
        names = [f.name for f in fields(Photo)]
        found = self._rows(f"INSERT INTO {PHOTOS} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"
                           " RETURNING id", vars(photo))
        return int(found[0][0])

    def photos(self, violation_id: str, *, with_data: bool = False) -> list[Photo]:
        """The photos of a case, in the order added (``data`` empty unless ``with_data``)."""
        names = [f.name if with_data or f.name != "data" else "NULL" for f in fields(Photo)]
        out = []
        for r in self._rows(f"SELECT {', '.join(names)} FROM {PHOTOS} WHERE violation_id = :v ORDER BY id",
                            {"v": violation_id}):
            values = list(r)
            values[3] = bytes(values[3]) if values[3] is not None else b""
            out.append(Photo(*values))
        return out

    def imported(self, keys: Iterable[str]) -> set[str]:
        """Those of ``keys`` already imported."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            params = {f"k{i}": k for i, k in enumerate(chunk)}
            found |= {str(r[0]) for r in self._rows(
                f"SELECT key FROM {SUBMISSIONS} WHERE key IN ({', '.join(':' + p for p in params)})", params)}
        return found

    def add_submission(self, key: str, violation_id: str, source: str, row: int | None, applied_at: str) -> None:
        """Record that submission ``key`` was applied to ``violation_id``."""
        self._many(f"INSERT INTO {SUBMISSIONS} (key, violation_id, source, file_row, applied_at)"
                   " VALUES (:key, :violation_id, :source, :file_row, :applied_at)",
                   [{"key": key, "violation_id": violation_id, "source": source, "file_row": row, "applied_at": applied_at}])


class _Empty(CaseTables):
    """The case tables of a store that has none yet: every read is empty."""

    def __init__(self) -> None:
        super().__init__(sqlite3.connect(":memory:"))
        for sql in _SQLITE_TABLES:
            self.con.execute(sql)  # type: ignore[call-overload]


@contextlib.contextmanager
def writing(store: Store) -> Iterator[CaseTables]:
    """The case tables of ``store`` in ONE write transaction under its writer lock: committed when
    the block ends, rolled back (nothing changed) when it raises."""
    if (pg := as_postgis(store)) is not None:
        with pg.writing() as con:
            yield CaseTables(con)
        return
    if not isinstance(store, Workspace):
        raise WorkspaceError(f"store {store.path} keeps no cases")
    files.refuse_unless_geopackage(store.path, store.real)
    if not store.real.exists():
        raise WorkspaceError(f"workspace {store.path} does not exist; cases live in the workspace:"
                             " import layers and run `cli.py check` first")
    with store.writing() as sqlite_con:  # the workspace's in-place transaction under its writer lock
        for sql in _SQLITE_TABLES:
            sqlite_con.execute(sql)
        yield CaseTables(sqlite_con)


@contextlib.contextmanager
def reading(store: Store) -> Iterator[CaseTables]:
    """The case tables of ``store`` for reading (one consistent state; no lock); empty when the
    store or its case tables do not exist yet."""
    if (pg := as_postgis(store)) is not None:
        if not pg.exists():
            yield _Empty()
            return
        with pg.reading() as con:
            yield CaseTables(con)
        return
    if not isinstance(store, Workspace):
        raise WorkspaceError(f"store {store.path} keeps no cases")
    if not store.real.exists():
        yield _Empty()
        return
    files.refuse_unless_geopackage(store.path, store.real)
    try:
        with contextlib.closing(gpkg.read_only(store.real)) as con:
            if con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (CASES,)).fetchone() is None:
                yield _Empty()
                return
            con.execute("BEGIN")  # one snapshot for every read of the block
            yield CaseTables(con)
    except sqlite3.DatabaseError as exc:
        raise files.unreadable(str(store.path), exc) from None
