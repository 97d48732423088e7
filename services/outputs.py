"""Where a command will write, checked before it computes or records anything.

A command that writes a file (``export --out``, ``check --out``, ``report --out``/``--csv``,
``surface --out``) asks here first, so a file name no writer takes, a folder given as a file,
or a file given as a folder is refused before the rules run, before a run is recorded and
before any byte is written. The writers themselves then write through
``layers.io.safefile.atomic_path``: a failed write leaves no half-written file.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from geo.errors import InputError
from layers.io.safefile import atomic_path

if TYPE_CHECKING:  # the report tables load where used (issue 13: the inventory and pint, ~0.2 s of start-up)
    from render.report.tables import Inventory


def _writable_parent(path: Path, flag: str, shown: Path | None = None) -> None:
    """Refuse ``path`` when its nearest existing ancestor is not a folder we may write in (messages
    name ``shown``, default ``path``: what the user gave)."""
    parent = path.absolute().parent
    path = shown or path
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{flag} {path}: {parent} is a file, not a folder; expected a path"
                         " whose folders are folders")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{flag} {path}: the folder {parent} cannot be written to")
    try:  # access() says yes to root everywhere (/proc, a read-only mount): make and drop a file to be sure
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".hgwatch-probe-"):
            pass
    except OSError as exc:
        raise InputError(f"{flag} {path}: the folder {parent} cannot be written to ({exc.strerror or exc});"
                         " expected a path in a folder HgWatch may write in") from None


def _either(suffixes: Collection[str]) -> str:
    """'.pdf, .html or .htm' from the suffixes, in their order."""
    items = list(dict.fromkeys(suffixes))
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def output_file(text: str | os.PathLike[str], *, flag: str,
                suffixes: Collection[str] | None = None) -> Path:
    """The file ``text`` names, once it is sure a writer can create it.

    Parameters
    ----------
    text : the path as given.
    flag : the option it came with, for messages (``"--out"``).
    suffixes : the extensions a writer takes (lower case, with the dot); None: any.

    Raises
    ------
    InputError
        The extension is not one of ``suffixes``, the path is a folder, or a folder on the way
        is a file or cannot be written to.
    """
    path = Path(text)
    suffix = path.suffix.lower()
    ends = f" ending in {_either(suffixes)}" if suffixes else ""
    if path.is_dir():
        raise InputError(f"{flag} {path}: is a directory; expected a file name{ends}")
    if suffixes is not None and suffix not in suffixes:
        raise InputError(f"{flag} {path.name}: no writer for {suffix or 'a name without extension'!r};"
                         f" expected a file name{ends}")
    _writable_parent(path, flag)
    return path


def output_folder(text: str | os.PathLike[str], *, flag: str) -> Path:
    """The folder ``text`` names (made when written to), once it is sure it can be one.

    Raises
    ------
    InputError
        The path is an existing file, or a folder on the way is a file or cannot be written to.
    """
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise InputError(f"{flag} {path}: is a file; expected a folder (made when missing)")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise InputError(f"{flag} {path}: the folder cannot be written to")
        return path
    _writable_parent(path / "x", flag, shown=path)
    return path


def write_tables(inventory: Inventory, folder: str | os.PathLike[str]) -> list[Path]:
    """Write every inventory table as ``<name>.csv`` into ``folder``, each file atomically
    (``render.report.tables.table_csv`` makes the bytes); returns the paths written."""
    from render.report.tables import table_csv

    out = output_folder(folder, flag="--csv")
    paths = []
    for name, table in inventory.tables.items():
        path = out / f"{name}.csv"
        data = table_csv(table)
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
        paths.append(path)
    return paths
