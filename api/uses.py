"""When each API key was last used, recorded by the API server without a store write per request.

An operator about to revoke a key needs to tell a dead key from a live one (``cli.py keys list``: "last
used"). A request with a valid key only notes the minute in memory (``KeyUses.used``: a lock and a dict
entry); one background thread writes the notes (``services.keys.record_uses``, one transaction for every key
due) and a key is written at most once every ``EVERY_S`` seconds: at its first use in this process (so a new
key shows as used within seconds), then at most every ``EVERY_S`` with the latest minute it was used. At
shutdown (``close``) what is noted is written. The time kept is therefore to the minute and at most
``EVERY_S`` late while the server runs.

A failed write (the store locked by a long import, the database down) never reaches a request: it is logged
with its reason, the notes are kept (the latest minute of each key) and tried again ``CHECK_S`` later. The
keys' hashes, not the keys, are what is written; the log names neither.

On PostGIS the write runs as the store's own database user, the one that already writes the API's audit
rows; ``hgw_partner`` and ``hgw_field`` are given no right on ``hgw_api_keys`` (migration
``v0012_key_last_use``). Nothing is written to the shipped demo workspace.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from geo.words import counted
from layers.store.base import Store
from services import keys

LOGGER = logging.getLogger("hgwatch.api")
EVERY_S = 300.0  # a key's last use is written at most this often, seconds (and at its first use in a process)
CHECK_S = 30.0  # the writer looks for keys due this often, seconds (a first use wakes it at once)


def minute(epoch_s: float) -> str:
    """``epoch_s`` (seconds since 1970, UTC) as ISO 8601 UTC to the minute: ``2026-11-28T15:20+00:00``."""
    return datetime.fromtimestamp(epoch_s // 60 * 60, UTC).isoformat(timespec="minutes")


class KeyUses:
    """The keys' last uses noted in memory and written to ``store`` by one background thread (see the module
    docstring). ``every_s``: a key is written at most this often."""

    def __init__(self, store: Store, *, every_s: float = EVERY_S, check_s: float = CHECK_S) -> None:
        self.store, self.every_s, self.check_s = store, every_s, check_s
        self._noted: dict[str, int] = {}  # key hash -> the latest minute used (epoch minutes), not written yet
        self._hashes: dict[str, str] = {}  # key -> its hash (the keys of this process's valid requests)
        self._written: dict[str, float] = {}  # key hash -> when it was last written (monotonic seconds)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="hgwatch-api-key-uses", daemon=True)
        self._thread.start()

    def used(self, key: str) -> None:
        """Note that a request with the valid key ``key`` is answered now (no store access)."""
        at = int(time.time() // 60)
        with self._lock:
            digest = self._hashes.get(key)
            if digest is None:
                if len(self._hashes) >= 4096:  # (a bounded memo; the hash is cheap to make again)
                    self._hashes.clear()
                digest = self._hashes[key] = keys.key_hash(key)
            first = digest not in self._written and digest not in self._noted
            if self._noted.get(digest, -1) < at:
                self._noted[digest] = at
        if first:
            self._wake.set()

    def _due(self, everything: bool) -> dict[str, int]:
        now = time.monotonic()
        with self._lock:
            due = {h: m for h, m in self._noted.items()
                   if everything or now - self._written.get(h, -self.every_s) >= self.every_s}
            for digest in due:
                del self._noted[digest]
        return due

    def _write(self, everything: bool = False) -> None:
        due = self._due(everything)
        if not due:
            return
        try:
            keys.record_uses(self.store, {h: minute(m * 60) for h, m in due.items()})
        except Exception as exc:  # the requests were answered; a failed write is logged, never shown
            with self._lock:
                for digest, at in due.items():
                    self._noted[digest] = max(at, self._noted.get(digest, -1))
            LOGGER.error("the last use of %s was not recorded in the store %s (%s: %s); kept, tried again"
                         " %s", counted(len(due), "API key"), self.store.path, type(exc).__name__, exc,
                         "no more: the server stops" if everything else f"within {self.check_s:g} s")
            return
        now = time.monotonic()
        with self._lock:
            self._written.update(dict.fromkeys(due, now))

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.check_s)
            self._wake.clear()
            if not self._stopping:
                self._write()

    def close(self, timeout: float = 60.0) -> None:
        """Write every use noted, then stop the thread (at shutdown)."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)
        self._write(everything=True)
