"""GeoParquet tables read ahead, on a side thread, while ``cli.py`` loads its modules (issue 13).

``python cli.py check --layer mining_sites=sites.parquet ...`` spends its first half second importing
pandas, geopandas, pyproj and the rules, on one core; reading the Parquet files is Arrow's work
(decompressing and decoding on its own threads, without Python's lock), so it can run on the other
core meanwhile. ``start`` reads each file's table (``pyarrow.parquet.ParquetFile.read``, the call
``layers.io.geoparquet`` makes) on a thread; ``take`` gives a table to the reader, once, when the file
is still the one that was read (same real path, size and modification time), else None: the reader
then reads the file itself, as it always did, and reports what is wrong with it. A failed read ahead
is forgotten. A file of more than ``MAX_ROWS`` records is not read ahead: a check may read it in
chunks, never whole.

This module imports only the standard library (and pyarrow on its thread), so that ``cli.py`` can
start it before its own imports.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

MAX_ROWS = 2_000_000  # services.imports.AUTO_CHUNK_ABOVE: above it a check may read the file in chunks
SUFFIXES = (".parquet", ".geoparquet")
_Key = tuple[str, int, int]  # real path, size, modification time (ns)
_TABLES: dict[_Key, Any] = {}
_THREADS: list[threading.Thread] = []


def check_files(argv: Sequence[str]) -> list[str]:
    """The GeoParquet files ``cli.py check`` is given with ``--layer LAYER=PATH`` in ``argv`` (none
    with ``--chunk-rows``, which may read them in chunks); the parser proper comes later."""
    if "check" not in argv or any(a == "--chunk-rows" or a.startswith("--chunk-rows=") for a in argv):
        return []
    given = [argv[k + 1] for k, a in enumerate(argv[:-1]) if a == "--layer"]
    given += [a.removeprefix("--layer=") for a in argv if a.startswith("--layer=")]
    paths = [v.split("=", 1)[1] for v in given if "=" in v]
    return [p for p in paths if p.lower().endswith(SUFFIXES)]


def start(paths: Sequence[str]) -> None:
    """Read the tables of ``paths`` on a side thread, one file after the other (nothing for none)."""
    if not paths:
        return
    thread = threading.Thread(target=_read_all, args=(list(paths),), name="parquet-ahead")
    thread.start()
    _THREADS.append(thread)


def take(path: str | os.PathLike[str]) -> pa.Table | None:
    """The table read ahead of ``path`` (waiting for the read under way), once; None when it was not
    read ahead, could not be, or the file changed since."""
    if not _THREADS:
        return None
    for thread in _THREADS:
        thread.join()
    key = _key(path)
    return None if key is None else _TABLES.pop(key, None)


def _read_all(paths: list[str]) -> None:
    import pyarrow.parquet as pq

    for path in paths:
        key = _key(path)
        if key is None or key in _TABLES:
            continue
        try:
            with pq.ParquetFile(path) as file:
                if file.metadata.num_rows > MAX_ROWS:
                    continue
                table = file.read()
        except Exception:  # whatever it is, the reader meets it again and says it
            continue
        if _key(path) == key:  # unchanged while it was read
            _TABLES[key] = table


def _key(path: str | os.PathLike[str]) -> _Key | None:
    try:
        real = os.path.realpath(path)
        stat = os.stat(real)
    except (OSError, ValueError):
        return None
    return real, stat.st_size, stat.st_mtime_ns
