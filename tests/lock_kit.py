"""Helpers of the tests that hold SQLite's locks on a GeoPackage across processes and threads."""
from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable


def pending(path: str) -> bool:
    """True while a writer holds SQLite's PENDING (or EXCLUSIVE) lock on ``path``: no new reader gets in.
    Any other error of the probe is raised."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0)) as probe:
        try:
            probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                return True
            raise
    return False


def started(work: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    """``work()`` started in a thread of its own (as a dashboard session's read); the list gets what it
    returned or raised once it ends."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as exc:  # the test asserts on it
            outcome.append(exc)
    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome
