"""Inside the workspace GeoPackage: row counts, appends, table writes, and the check that keeps a
replacement from silently dropping most of a layer.

Every function takes the path of a GeoPackage (the workspace or its temporary copy); those that
only read open it read-only.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geo.errors import InputError, Problem, WorkspaceError
from layers.catalogue import CATALOGUE, spec_for


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


@dataclass(frozen=True)
class Replacement:
    """What replacing a stored layer with ``incoming`` features would do.

    Attributes
    ----------
    layer : the layer type.
    stored : rows the workspace holds now (0 when it holds no such layer).
    incoming : rows the new file brings.
    """

    layer: str
    stored: int
    incoming: int

    @property
    def lost(self) -> int:
        """How many rows fewer the layer would hold afterwards."""
        return max(self.stored - self.incoming, 0)

    @property
    def needs_replace_all(self) -> bool:
        """True when the new rows are fewer than half the stored ones (or none): ask first."""
        return 2 * self.incoming < self.stored

    def message(self, source: str) -> str:
        """One line for a user: how many rows the layer holds, the file brings, and would go."""
        return (f"{self.layer} holds {_rows(self.stored)}; this file ({source}) has {self.incoming};"
                f" {_rows(self.lost)} would go. Pass --replace-all to replace them.")


class ReplaceRefused(WorkspaceError):
    """A replacement would drop more than half a layer's rows and ``replace_all`` was not given."""

    def __init__(self, workspace: str, source: str, replacements: Sequence[Replacement]) -> None:
        self.replacements = list(replacements)
        lines = [r.message(source) for r in self.replacements]
        super().__init__("\n".join(lines + [f"Nothing was stored; workspace {workspace} is unchanged."]))


def read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)


def feature_tables(con: sqlite3.Connection, tables: set[str]) -> dict[str, str]:
    """Feature tables listed in ``gpkg_contents`` and present, with their last change time."""
    if "gpkg_contents" not in tables:
        return {}
    return {str(r[0]): str(r[1] or "") for r in con.execute(
        "SELECT table_name, last_change FROM gpkg_contents WHERE data_type = 'features'")
        if str(r[0]) in tables}


def row_counts(path: Path) -> dict[str, int]:
    """Rows of each layer type stored in GeoPackage ``path``, read-only."""
    try:
        with contextlib.closing(read_only(path)) as con:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            return {layer: int(con.execute(f'SELECT count(*) FROM "{layer}"').fetchone()[0])
                    for layer in feature_tables(con, tables) if layer in CATALOGUE}
    except sqlite3.DatabaseError as exc:
        raise WorkspaceError(f"workspace {path} cannot be read as a GeoPackage: {exc}") from None


def sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (fsync of the directory), where the system allows."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def stored_layers(path: Path) -> set[str]:
    return {str(n) for n in pyogrio.list_layers(path)[:, 0]}


def check_write(path: Path, items: Sequence[tuple[str, gpd.GeoDataFrame]], workspace: str, source: str,
                *, append: bool, replace_all: bool) -> None:
    """Refuse, reading GeoPackage ``path``, what ``Workspace.write_layers`` must not do.

    With ``append``: an id already stored (InputError). Without it and without ``replace_all``:
    a replacement with fewer than half the stored rows (``ReplaceRefused``, naming ``workspace``
    and the ``source`` file).
    """
    if append:
        stored = stored_layers(path)
        for layer, gdf in items:
            if layer in stored:
                refuse_clash(path, layer, gdf, spec_for(layer).id_field)
    elif not replace_all:
        counts = row_counts(path)
        shrinking = [r for r in (Replacement(layer, counts.get(layer, 0), len(gdf)) for layer, gdf in items)
                     if r.needs_replace_all]
        if shrinking:
            raise ReplaceRefused(workspace, source, shrinking)


def refuse_clash(path: Path, layer: str, new: gpd.GeoDataFrame, id_field: str) -> None:
    """InputError when an id of ``new`` is already stored in ``layer`` of ``path``."""
    old = pyogrio.read_dataframe(path, layer=layer, columns=[id_field], read_geometry=False)
    clash = set(old[id_field].astype(str)) & set(new[id_field].astype(str))
    if clash:
        raise InputError(
            f"cannot append to {layer}: {len(clash)} id(s) are already stored; nothing was imported",
            [Problem("workspace", None, id_field, v, "an id not already in the workspace",
                     kind="duplicate") for v in sorted(clash)[:50]])


def appended(path: Path, layer: str, new: gpd.GeoDataFrame, id_field: str) -> gpd.GeoDataFrame:
    """Stored features of ``layer`` followed by ``new``; refuses ids already stored."""
    refuse_clash(path, layer, new, id_field)
    old = pyogrio.read_dataframe(path, layer=layer)
    return gpd.GeoDataFrame(pd.concat([old, new.to_crs(old.crs)], ignore_index=True), crs=old.crs)


def write_gdf(path: Path, layer: str, gdf: gpd.GeoDataFrame) -> None:
    """Write ``gdf`` as table ``layer`` of GeoPackage ``path``, replacing any previous table.

    The geometry type is left generic so that a layer may mix points and polygons.
    """
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", geometry_type="Unknown",
                            layer_options={"OVERWRITE": "YES"})
