"""The store interface: what every back end of the workspace offers.

Two back ends implement it: the embedded GeoPackage (``layers.store.workspace.Workspace``, the
default) and PostGIS for a shared server (``layers.store.postgis.PostgisStore``).
``layers.store.open.open_store`` picks one. Code above the store names only ``Store``, so it
runs unchanged on either; the tests in ``tests/test_store_backends.py`` run every store test on
both.

The interface mirrors ``Workspace`` exactly: layer provenance (``LayerInfo``), whole layers
read and written as GeoDataFrames in EPSG:4326, the columns marked shareable, rule runs, and the
check that keeps a replacement from silently dropping most of a layer (``Replacement``;
``ReplaceRefused`` when refused), and a change stamp for caches (``change_stamp``). Every
write is one atomic change, and writers wait for each other (``WorkspaceError`` after the lock
timeout).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable
from typing import Protocol, runtime_checkable

import geopandas as gpd

from layers.store.gpkg import SHOWN_IDS, IdsStored, Replacement, ReplaceRefused, source_file
from layers.store.workspace import UNRECORDED, LayerInfo

__all__ = ["SHOWN_IDS", "UNRECORDED", "IdsStored", "LayerInfo", "ReplaceRefused", "Replacement", "Store", "source_file",
           "store_name"]


@runtime_checkable
class Store(Protocol):
    """A workspace: layers with provenance, and the rule runs recorded on them."""

    @property
    def path(self) -> str | os.PathLike[str]:
        """Where the store is, for messages: a GeoPackage path or a database URL without password."""

    def exists(self) -> bool:
        """True when the store is there to read (a GeoPackage file; a database with the schema)."""

    def change_stamp(self) -> tuple[int, ...]:
        """A stamp that moves when the layers (rows, columns, provenance, shareable marks), the rule
        runs or the cases may have changed, written by HgWatch or another program, and not for
        bookkeeping written on its own (audit rows, accounts, API keys); ``(-1,)`` while there is
        no store. Cheap enough to read before every cached answer (``services.hgwatch``)."""

    def layers(self) -> list[LayerInfo]:
        """Provenance of every layer held, in catalogue order."""

    def has(self, layer: str) -> bool:
        """True when the store holds layer type ``layer``."""

    def info(self, layer: str) -> LayerInfo:
        """Provenance of ``layer``; ``WorkspaceError`` when absent."""

    def read(self, layer: str, columns: Collection[str] | None = None, *,
             shared_only: bool = False) -> gpd.GeoDataFrame:
        """The layer as a GeoDataFrame in EPSG:4326 with its declared dtypes, in stored row order;
        with ``columns`` only those attribute columns are read (the others never leave the store:
        ``services.auth.allowed_columns`` gives them for an identity); with ``shared_only`` no row
        about a person (``layers.store.visibility.shared_rows``) is read: the store's engine skips it."""

    def read_field(self, layer: str, areas: Collection[str]) -> gpd.GeoDataFrame:
        """The layer as a field coordinator of admin ``areas`` may see it, selected by the store's
        engine (a GeoPackage's SQLite, PostgreSQL's row-level security): every column in the rows
        of ``areas`` (``layers.store.visibility.AREA_FIELD``); in the other rows only the partner's
        columns (the rest empty) and no row about a person. What it may not see is never read;
        ``services.auth.read_layer`` is the caller. A wholly restricted layer: ``WorkspaceError``."""

    def columns(self, layer: str) -> list[str]:
        """The attribute columns of stored ``layer``, as stored (no geometry)."""

    def runs(self, limit: int = 2, *, with_ids: bool = True) -> list[dict[str, object]]:
        """The last ``limit`` rule runs, newest first (``run_id``, ``ran_at``, ``rules_hash``,
        ``input_hashes``, ``counts``, and ``violation_ids`` unless ``with_ids`` is False: a national
        run holds 1e5 and more, which a caller needing only the rest should not fetch)."""

    def replacement(self, layer: str, incoming: int) -> Replacement:
        """What replacing ``layer`` with ``incoming`` rows would do (reads only)."""

    def write_layer(self, layer: str, gdf: gpd.GeoDataFrame, **meta: object) -> LayerInfo:
        """Replace one layer; the keywords are those of ``write_layers``."""

    def write_layers(self, items: list[tuple[str, gpd.GeoDataFrame]], *, source: str, licence: str = UNRECORDED,
                     accuracy_m: float | None = None, accuracy_note: str = "", synthetic: bool = False,
                     append: bool = False, replace_all: bool = False) -> list[LayerInfo]:
        """Store layers (EPSG:4326) with their provenance in ONE atomic change.

        With ``append`` features are added (an id already stored is refused with ``InputError``);
        without it each layer is replaced, and a replacement with fewer than half the stored rows
        raises ``ReplaceRefused`` unless ``replace_all``. A refusal changes nothing.
        """

    def write_layer_chunks(self, layer: str, chunks: Iterable[gpd.GeoDataFrame], *, source: str | Callable[[], str],
                           licence: str = UNRECORDED, accuracy_m: float | None = None, accuracy_note: str = "",
                           synthetic: bool = False, append: bool = False, replace_all: bool = False) -> LayerInfo:
        """Store one layer given as chunks of rows (a file larger than memory) in ONE atomic change, as
        ``write_layers`` stores the chunks concatenated, with its refusals; an exception raised by
        ``chunks`` (an error found in the last chunk) changes nothing. A ``source`` given as a function
        is asked once every chunk has been read (it may say what the chunks held: the rows a
        ``--set`` value filled)."""

    def mark_shareable(self, layer: str, fields: list[str], *, undo: bool = False) -> tuple[str, ...]:
        """Mark columns of ``layer`` shareable (``undo``: unmark them) in one atomic change; returns
        the layer's marks afterwards (``LayerInfo.shareable``). A restricted name is refused."""

    def record_run(self, *, rules_hash: str, input_hashes: dict[str, str], counts: dict[str, int],
                   violation_ids: list[str]) -> int:
        """Append one rule run to an existing store; returns its run id."""


def store_name(store: Store) -> str:
    """A short name for a person: the GeoPackage's file name, or the database URL (no password)."""
    where = store.path
    return os.path.basename(where) if isinstance(where, os.PathLike) else str(where)
