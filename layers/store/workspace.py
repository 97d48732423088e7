"""The workspace: one GeoPackage holding every layer plus metadata tables.

Tables besides the layers:

- ``hgw_layers``: per layer, the source file, licence, import time, row count, expected
  positional error in metres and free-text accuracy note;
- ``hgw_runs``: one row per rule run (time, rule file hash, input layer hashes, counts, violations
  as JSON) so that two runs can be compared.

Reading never writes and never locks: it opens the file read-only, so a workspace that lacks
these tables (a GeoPackage made by QGIS, say) reads as one with no recorded provenance and no
runs, and stays byte-identical. Its feature tables named after a layer type are listed with
provenance "unknown".

Every change is atomic: the workspace is copied to a temporary file in the same folder, the
change is made there, and the copy is renamed over the original with ``os.replace``. A change
that fails or is killed leaves the previous file untouched. An exclusive lock on a side file
(``filelock``; the kernel releases it when the writer dies) serialises concurrent writers, so two
imports at once cannot lose each other's work; a writer waits at most ``lock_timeout_s`` seconds
for it and then gives up with a ``WorkspaceError``.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import filelock
import geopandas as gpd
import pandas as pd
import pyogrio

from geo.errors import InputError, Problem, WorkspaceError
from layers.catalogue import CATALOGUE, spec_for

META_TABLE = "hgw_layers"
RUNS_TABLE = "hgw_runs"
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "data" / "demo_workspace.gpkg"
LOCK_TIMEOUT_S = 60.0  # how long a writer waits for another writer to finish, seconds
UNRECORDED = "unknown"  # source and licence of a layer HgWatch did not import


@dataclass(frozen=True)
class LayerInfo:
    """Provenance of one layer in the workspace."""

    layer: str
    source: str
    licence: str
    imported_at: str
    rows: int
    accuracy_m: float | None
    accuracy_note: str
    synthetic: bool


_META_SQL = f"""
CREATE TABLE IF NOT EXISTS {META_TABLE} (
    layer TEXT PRIMARY KEY, source TEXT NOT NULL, licence TEXT NOT NULL,
    imported_at TEXT NOT NULL, rows INTEGER NOT NULL, accuracy_m REAL,
    accuracy_note TEXT NOT NULL DEFAULT '', synthetic INTEGER NOT NULL DEFAULT 0)
"""
_RUNS_SQL = f"""
CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT, ran_at TEXT NOT NULL, rules_hash TEXT NOT NULL,
    input_hashes TEXT NOT NULL, counts TEXT NOT NULL, violation_ids TEXT NOT NULL)
"""


class Workspace:
    """A GeoPackage workspace at ``path``. Reading never writes or locks; writing is atomic.

    Parameters
    ----------
    path : the GeoPackage file.
    lock_timeout_s : how long a write waits for another writer's lock, in seconds.
    """

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_PATH, *,
                 lock_timeout_s: float = LOCK_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s

    @property
    def lock_path(self) -> Path:
        """The side file writers lock: ``<workspace>.lock``."""
        return self.path.with_name(self.path.name + ".lock")

    # ----------------------------------------------------------------- reading
    def exists(self) -> bool:
        """True when the workspace file exists."""
        return self.path.exists()

    def _require(self) -> None:
        if not self.path.exists():
            raise WorkspaceError(
                f"workspace {self.path} does not exist; import a layer first or run `make demo`"
            )

    @contextlib.contextmanager
    def _reading(self) -> Iterator[tuple[sqlite3.Connection, set[str]]]:
        """A read-only connection and the names of the tables it holds."""
        self._require()
        try:
            with contextlib.closing(sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro",
                                                    uri=True)) as con:
                tables = {r[0] for r in con.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
                yield con, tables
        except sqlite3.DatabaseError as exc:
            raise WorkspaceError(f"workspace {self.path} cannot be read as a GeoPackage: {exc}") from None

    def layers(self) -> list[LayerInfo]:
        """Provenance of every layer the workspace holds, in catalogue order.

        A feature table named after a layer type but absent from ``hgw_layers`` (added by another
        tool) is listed with source and licence "unknown" and its row count.
        """
        with self._reading() as (con, tables):
            recorded: dict[str, LayerInfo] = {}
            if META_TABLE in tables:
                for r in con.execute(
                        f"SELECT layer, source, licence, imported_at, rows, accuracy_m,"
                        f" accuracy_note, synthetic FROM {META_TABLE}"):
                    recorded[r[0]] = LayerInfo(r[0], r[1], r[2], r[3], int(r[4]), r[5], r[6],
                                               bool(r[7]))
            features: dict[str, str] = {}
            if "gpkg_contents" in tables:
                features = {str(r[0]): str(r[1] or "") for r in con.execute(
                    "SELECT table_name, last_change FROM gpkg_contents WHERE data_type = 'features'")}
            infos = []
            for layer in CATALOGUE:
                if layer not in features or layer not in tables:
                    continue
                if layer in recorded:
                    infos.append(recorded[layer])
                    continue
                rows = con.execute(f'SELECT count(*) FROM "{layer}"').fetchone()[0]
                infos.append(LayerInfo(layer, UNRECORDED, UNRECORDED, features[layer], int(rows),
                                       None, "not imported by HgWatch; no provenance recorded",
                                       False))
        return infos

    def has(self, layer: str) -> bool:
        """True when the workspace holds layer type ``layer``."""
        return self.exists() and any(i.layer == layer for i in self.layers())

    def info(self, layer: str) -> LayerInfo:
        """Provenance of ``layer``; raises WorkspaceError when absent."""
        for info in self.layers():
            if info.layer == layer:
                return info
        raise WorkspaceError(f"workspace {self.path} holds no {layer!r} layer")

    def read(self, layer: str) -> gpd.GeoDataFrame:
        """The layer as a GeoDataFrame in EPSG:4326, with its declared dtypes."""
        spec_for(layer)
        self.info(layer)
        gdf = pyogrio.read_dataframe(self.path, layer=layer)
        from layers.io.coerce import coerce_types  # local: coerce imports pandas heavy bits

        return coerce_types(gdf, spec_for(layer))

    def runs(self, limit: int = 2) -> list[dict[str, object]]:
        """The last ``limit`` rule runs, newest first, with counts and violation ids decoded."""
        if not self.exists():
            return []
        with self._reading() as (con, tables):
            if RUNS_TABLE not in tables:
                return []
            rows = con.execute(
                f"SELECT run_id, ran_at, rules_hash, input_hashes, counts, violation_ids"
                f" FROM {RUNS_TABLE} ORDER BY run_id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            {"run_id": r[0], "ran_at": r[1], "rules_hash": r[2],
             "input_hashes": json.loads(r[3]), "counts": json.loads(r[4]),
             "violation_ids": json.loads(r[5])}
            for r in rows
        ]

    # ----------------------------------------------------------------- writing
    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Path]:
        """Lock, copy to a temporary file, yield it, then rename it over the workspace."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(self.lock_path, timeout=self.lock_timeout_s)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise WorkspaceError(
                f"workspace {self.path} is locked by another writer; tried for "
                f"{self.lock_timeout_s:g} s. Wait for the other import or rule run to finish, "
                f"then try again") from None
        try:
            fd, tmp_name = tempfile.mkstemp(
                prefix=f".{self.path.stem}-tmp-", suffix=".gpkg", dir=self.path.parent
            )
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                if self.path.exists():
                    shutil.copyfile(self.path, tmp)
                else:
                    tmp.unlink()
                yield tmp
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
                mode = self.path.stat().st_mode & 0o777 if self.path.exists() else 0o644
                os.chmod(tmp, mode)
                os.replace(tmp, self.path)
            finally:
                if tmp.exists():
                    tmp.unlink()
        finally:
            lock.release()

    def write_layer(self, layer: str, gdf: gpd.GeoDataFrame, **meta: object) -> LayerInfo:
        """Replace one layer; see ``write_layers`` for the keyword arguments."""
        return self.write_layers([(layer, gdf)], **meta)[0]  # type: ignore[arg-type]

    def write_layers(self, items: list[tuple[str, gpd.GeoDataFrame]], *, source: str, licence: str = UNRECORDED,
                     accuracy_m: float | None = None, accuracy_note: str = "", synthetic: bool = False,
                     append: bool = False) -> list[LayerInfo]:
        """Store layers (EPSG:4326) with their provenance in ONE atomic change.

        With ``append``, features are added to the stored layer; an id already stored is refused.
        """
        infos = []
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._transaction() as tmp:
            for layer, gdf in items:
                spec = spec_for(layer)
                if gdf.crs is None or gdf.crs.to_epsg() != 4326:
                    raise WorkspaceError(f"layer {layer!r} must be in EPSG:4326 before it is stored")
                if append and tmp.exists() and layer in _stored_layers(tmp):
                    gdf = _appended(tmp, layer, gdf, spec.id_field)
                _write_gdf(tmp, layer, gdf)
                infos.append(LayerInfo(layer, source, licence, now, len(gdf), accuracy_m,
                                       accuracy_note, synthetic))
            with contextlib.closing(sqlite3.connect(tmp)) as con, con:
                con.execute(_META_SQL)
                con.execute(_RUNS_SQL)
                con.executemany(
                    f"INSERT OR REPLACE INTO {META_TABLE} VALUES (?,?,?,?,?,?,?,?)",
                    [(i.layer, i.source, i.licence, i.imported_at, i.rows, i.accuracy_m,
                      i.accuracy_note, int(i.synthetic)) for i in infos],
                )
        return infos

    def record_run(self, *, rules_hash: str, input_hashes: dict[str, str], counts: dict[str, int],
                   violation_ids: list[str]) -> int:
        """Append one rule run; returns its run id."""
        with self._transaction() as tmp, contextlib.closing(sqlite3.connect(tmp)) as con, con:
            con.execute(_META_SQL)
            con.execute(_RUNS_SQL)
            cur = con.execute(
                f"INSERT INTO {RUNS_TABLE} (ran_at, rules_hash, input_hashes, counts,"
                f" violation_ids) VALUES (?,?,?,?,?)",
                (datetime.now(UTC).isoformat(timespec="seconds"), rules_hash,
                 json.dumps(input_hashes, sort_keys=True), json.dumps(counts, sort_keys=True),
                 json.dumps(sorted(violation_ids))),
            )
            return int(cur.lastrowid or 0)


def _stored_layers(path: Path) -> set[str]:
    return {str(n) for n in pyogrio.list_layers(path)[:, 0]}


def _appended(path: Path, layer: str, new: gpd.GeoDataFrame, id_field: str) -> gpd.GeoDataFrame:
    """Stored features of ``layer`` followed by ``new``; refuses ids already stored."""
    old = pyogrio.read_dataframe(path, layer=layer)
    clash = set(old[id_field].astype(str)) & set(new[id_field].astype(str))
    if clash:
        raise InputError(
            f"cannot append to {layer}: {len(clash)} id(s) are already stored; nothing was imported",
            [Problem("workspace", None, id_field, v, "an id not already in the workspace",
                     kind="duplicate") for v in sorted(clash)[:50]])
    return gpd.GeoDataFrame(pd.concat([old, new.to_crs(old.crs)], ignore_index=True), crs=old.crs)


def _write_gdf(path: Path, layer: str, gdf: gpd.GeoDataFrame) -> None:
    """Write ``gdf`` as table ``layer`` of GeoPackage ``path``, replacing any previous table.

    The geometry type is left generic so that a layer may mix points and polygons.
    """
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", geometry_type="Unknown",
                            layer_options={"OVERWRITE": "YES"})
