"""Importing a user's file: which layers to read from it, reading and validating them, every
problem found (as lines for the CLI, grouped tables for the dashboard). No Streamlit here.
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.errors import CRSError, HgWatchError, InputError, Problem
from layers.catalogue import CATALOGUE
from layers.io.readers import Loaded, load_layer, source_layers
from services.areas import AREA_LAYER, unit_warnings

SEVERITY_ORDER = ("error", "warning", "info")


def targets(file: str | Path, layer: str | None = None,
            source_layer: str | None = None) -> list[tuple[str | None, str | None]]:
    """(layer type, source layer) pairs to read from ``file``: the one asked for, or every layer
    of a GeoPackage named after a layer type, or (None, None) to infer it from the file name."""
    path = Path(file)
    if source_layer or path.suffix.lower() != ".gpkg":
        return [(layer, source_layer)]
    inside = source_layers(path)
    if layer:
        return [(layer, layer if layer in inside else None)]
    known = [name for name in inside if name in CATALOGUE]
    return [(name, name) for name in known] or [(None, None)]


def load_file(file: str | Path, layer: str | None = None, *, source_layer: str | None = None,
              crs: str | None = None, repair: bool = False, set_values: Mapping[str, str] | None = None,
              progress: Callable[[str], None] | None = None,
              warn: Callable[[list[Problem]], None] | None = None,
              admin_areas: gpd.GeoDataFrame | None = None) -> list[Loaded]:
    """Read and validate every target layer of ``file`` (see ``targets``); InputError at the
    first layer with an error, so nothing is stored from a file with errors. ``progress`` gets
    a message before and after each layer, ``warn`` each layer's warnings.

    Sites, samples and tailings whose ``admin_area`` disagrees with the admin unit that contains
    them get a warning naming both (``services.areas.unit_warnings``), against the file's own
    ``admin_areas`` layer if it has one, else ``admin_areas`` (the workspace's)."""
    loaded = []
    for name, inner in targets(file, layer, source_layer):
        if progress:
            progress(f"reading {file}" + (f" layer {inner}" if inner else ""))
        item = load_layer(file, name, source_layer=inner, crs=crs, repair=repair,
                          set_values=dict(set_values or {}), refused="nothing was imported")
        if progress:
            progress(f"validated {len(item.gdf)} {item.layer} features")
        loaded.append(item)
    units = next((i.gdf for i in loaded if i.layer == AREA_LAYER), admin_areas)
    for item in loaded:
        item.warnings.extend(unit_warnings(item.gdf, item.layer, units, Path(file).name))
        if warn:
            warn(item.warnings)
    return loaded


def load_upload(name: str, data: bytes, layer: str | None = None, *,
                crs: str | None = None, source_layer: str | None = None,
                admin_areas: gpd.GeoDataFrame | None = None) -> Loaded:
    """Read and validate an uploaded file: its bytes saved under its plain name (no folders)
    in a temporary folder, so messages name the file the user chose. ``source_layer`` picks a
    layer of a GeoPackage or KML, or a sheet of a workbook (see ``upload_layers``). With
    ``admin_areas``, a site, sample or tailings whose ``admin_area`` disagrees with its containing
    unit gets a warning naming both (``services.areas.unit_warnings``)."""
    plain = Path(name).name or "upload"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / plain
        path.write_bytes(data)
        item = load_layer(path, layer, crs=crs, source_layer=source_layer, refused="nothing was imported")
    item.warnings.extend(unit_warnings(item.gdf, item.layer, admin_areas, plain))
    return item


def upload_layers(name: str, data: bytes) -> list[str]:
    """The layers (GeoPackage, KML) or sheets (XLSX) inside an uploaded file; [] when it has
    one or none, or when it cannot be read (``load_upload`` then says why)."""
    plain = Path(name).name or "upload"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / plain
        path.write_bytes(data)
        try:
            inside = source_layers(path)
        except HgWatchError:
            return []
    return inside if len(inside) > 1 else []


def validate_file(file: str | Path, layer: str | None = None, *, source_layer: str | None = None,
                  crs: str | None = None, repair: bool = False,
                  set_values: Mapping[str, str] | None = None) -> tuple[list[str], list[Problem]]:
    """Check every target layer of ``file`` and change nothing: a line per valid layer, and
    every problem of every layer (errors included). A file that cannot be read at all, or
    whose CRS cannot be used, is an error of the file, not a refusal."""
    lines: list[str] = []
    problems: list[Problem] = []
    try:
        chosen = targets(file, layer, source_layer)
    except HgWatchError as exc:
        return lines, _as_problems(file, exc)
    for name, inner in chosen:
        try:
            item = load_layer(file, name, source_layer=inner, crs=crs, repair=repair,
                              set_values=dict(set_values or {}))
        except HgWatchError as exc:
            problems += _as_problems(file, exc)
            continue
        problems += item.warnings
        lines.append(f"{file}: {len(item.gdf)} {item.layer} features are valid")
    return lines, problems


def _as_problems(file: str | Path, exc: HgWatchError) -> list[Problem]:
    """The problems an error carries, or the error itself as one problem of ``file`` (its
    message without a leading "<file name>: ", which the problem prints already)."""
    if isinstance(exc, InputError) and exc.problems:
        return exc.problems
    text = exc.message if isinstance(exc, InputError) else str(exc)
    text = text.removeprefix(f"{Path(file).name}: ")
    kind = "crs" if isinstance(exc, CRSError) else "unreadable"
    return [Problem(str(file), None, None, None, text, kind=kind)]


def problem_lines(problems: Sequence[Problem]) -> list[str]:
    """Problems grouped by severity, then by kind, each on one line under a count."""
    lines = []
    for severity in SEVERITY_ORDER:
        group = [p for p in problems if p.severity == severity]
        if group:
            lines.append(f"{len(group)} {severity}(s):")
            lines += [f"  {p}" for p in sorted(group, key=lambda p: (p.kind, p.row or 0))]
    return lines


def group_problems(problems: Iterable[Problem]) -> list[tuple[str, pd.DataFrame]]:
    """[(heading, table), ...], errors before warnings, biggest group first.

    Values are kept as text (``repr``-free) so the page shows exactly what the file held.
    """
    rows = [{"severity": p.severity, "kind": p.kind, "field": p.field or "(file)",
             "file": p.file, "row": p.row, "id": p.feature_id,
             "value": None if p.value is None else str(p.value), "expected": p.expected}
            for p in problems]
    if not rows:
        return []
    frame = pd.DataFrame(rows)
    groups = []
    for (severity, kind, field), part in frame.groupby(["severity", "kind", "field"], sort=False):
        heading = f"{severity}: {len(part)} x {kind} in field '{field}'"
        rank = (0 if severity == "error" else 1, -len(part))
        groups.append((rank, heading, part.drop(columns=["severity", "kind"])
                       .reset_index(drop=True)))
    groups.sort(key=lambda g: g[0])
    return [(h, t) for _, h, t in groups]
