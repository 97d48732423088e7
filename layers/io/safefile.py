"""Writing files safely: atomic replacement (CSV text that spreadsheets will not run: ``layers.io.csvfile``)."""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from geo.errors import InputError


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds.

    A failed or interrupted write never leaves a half-written ``path``. When ``path`` is a
    symlink, the file it leads to is replaced and the link stays a link.
    """
    path = Path(os.path.realpath(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    except OSError as exc:  # name the file asked for, never the temporary one beside it
        raise InputError(f"{path}: cannot be written: the folder {path.parent} does not take new files"
                         f" ({exc.strerror or exc})") from None
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
