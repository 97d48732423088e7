"""How long GDAL's SQLite waits for another program's lock on a file: per thread, and per whole read.

GDAL's SQLite gives up on a locked file after its ``SQLITE_BUSY_TIMEOUT`` configuration option
(milliseconds; 5000 by default), set on each connection as it opens. Two facts make that option a
poor bound on its own (measured with GDAL 3.12.4 and a lock held by another process):

- opening a GeoPackage meets a held lock twice (two statements each wait the whole timeout before
  the open fails), so a read that never gets in gives up after twice the timeout;
- the option is process-wide when set with ``pyogrio.set_gdal_config_options``: the workspace's
  long wait for its writers then also applied to a user's own file that QGIS holds.

``waiting(seconds)`` sets it for the calling thread only (GDAL's ``CPLSetThreadLocalConfigOption``,
which pyogrio does not expose, called through ``ctypes`` on the GDAL library pyogrio loaded), and
``within(seconds, read, busy)`` makes a whole read give up after ``seconds``: each try lets each of
the open's two waits last half of the time left, and a try that failed on the lock is made again
while time is left (a lock let go during a try's second wait still fails that try: GDAL keeps the
first wait's error). Every other GDAL read keeps GDAL's default (5 s a wait).
"""
from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import pyogrio
import pyogrio._io  # loads the GDAL library this module calls into
import pyogrio.errors

BUSY_TIMEOUT = b"SQLITE_BUSY_TIMEOUT"  # GDAL's configuration option: milliseconds one lock is waited for
OPEN_WAITS = 2  # times opening a GeoPackage waits for a held lock before it fails (GDAL 3.12)
OTHER_WAIT_S = 5.0  # what a GDAL read not bounded by ``within`` waits for each lock, seconds: GDAL's default
LAST_TRY_S = 0.05  # no further try when less than this is left, seconds
T = TypeVar("T")


def _library() -> ctypes.CDLL:
    """The GDAL library pyogrio loaded (the same handle: ``dlopen`` of a loaded path returns it): the one
    in pyogrio's wheel (``pyogrio.libs``), else a system one; never another package's own copy
    (rasterio's wheel loads a GDAL of its own into the process too)."""
    wheel = os.path.realpath(os.path.dirname(pyogrio.__file__) + ".libs")
    mapped: set[str] = set()
    with contextlib.suppress(OSError), open("/proc/self/maps") as maps:  # Linux: the files really mapped
        mapped = {line.split()[-1] for line in maps if "libgdal" in line.rsplit("/", 1)[-1]}
    loaded = sorted(p for p in mapped if os.path.dirname(p) == wheel) or sorted(
        p for p in mapped if ".libs" not in os.path.basename(os.path.dirname(p)))
    if not loaded:  # the wheel's bundled copy, by name
        loaded = sorted(glob.glob(os.path.join(wheel, "libgdal*.so*")))
    if not loaded:
        raise ImportError("cannot find the GDAL library pyogrio loaded: expected pyogrio's wheel (pyogrio.libs)")
    gdal = ctypes.CDLL(loaded[0])
    gdal.CPLSetThreadLocalConfigOption.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    gdal.CPLSetThreadLocalConfigOption.restype = None
    gdal.CPLGetThreadLocalConfigOption.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    gdal.CPLGetThreadLocalConfigOption.restype = ctypes.c_char_p  # copied into bytes by ctypes
    return gdal


_GDAL = _library()


@contextlib.contextmanager
def waiting(seconds: float) -> Iterator[None]:
    """Inside, GDAL connections this thread opens wait up to ``seconds`` for each lock they meet
    (at least 1 ms: 0 would mean GDAL's default); other threads keep theirs. Restored on leaving."""
    before = _GDAL.CPLGetThreadLocalConfigOption(BUSY_TIMEOUT, None)
    _GDAL.CPLSetThreadLocalConfigOption(BUSY_TIMEOUT, str(max(1, round(seconds * 1000))).encode())
    try:
        yield
    finally:
        _GDAL.CPLSetThreadLocalConfigOption(BUSY_TIMEOUT, before)


def within(seconds: float, read: Callable[[], T], busy: Callable[..., bool]) -> T:
    """``read()`` (GDAL reads of one file), given up ``seconds`` after the start when the file stays
    locked. ``busy(exc, waited=...)`` says whether an error came from a lock (``waited``: the try lasted
    at least one whole lock wait); the last such error is raised at the end, any other at once."""
    deadline = time.monotonic() + seconds
    while True:
        start = time.monotonic()
        each = max(deadline - start, 0.0) / OPEN_WAITS
        try:
            with waiting(each):
                return read()
        except Exception as exc:
            if not busy(exc, waited=time.monotonic() - start >= each) or deadline - time.monotonic() < LAST_TRY_S:
                raise
            time.sleep(LAST_TRY_S)  # a lock SQLite reported without waiting: not a busy loop


def locked(exc: BaseException) -> bool:
    """True for GDAL's error on a file another connection kept locked ("database is locked")."""
    return isinstance(exc, pyogrio.errors.DataSourceError | pyogrio.errors.DataLayerError) and (
        "locked" in str(exc) or "busy" in str(exc))
