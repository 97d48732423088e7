"""Nested values in an upload: objects flattened into columns, lists refused by row.

A GeoJSON property (or a GeoParquet struct) can hold an object, ``interview: {informant_name:
...}``. Stored as one JSON text it would pass every profile under the name ``interview``. So an
object becomes one column per leaf, named by its path (``interview.informant_name``), which the
profiles then judge by name like any other column (``layers.catalogue.is_restricted_name``).

A list (``tags: ["a", "b"]``) has no column of its own to go to: every row holding one is an
error naming the file, the row, the field and the value. Nothing nested is ever stored.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import Problem
from layers.catalogue import LayerSpec
from layers.io.validate import MARKERS, ROW, rename_columns

SEPARATOR = "."
_LIST_EXPECTED = ("one value (text, a number, true or false); HgWatch stores no lists: put each item in a"
                  " column of its own")


def _is_list(value: object) -> bool:
    return isinstance(value, list | tuple | np.ndarray)


def _leaves(prefix: str, value: Mapping[object, object], out: dict[str, object]) -> None:
    """The leaves of a nested object, keyed by their dotted path below ``prefix``."""
    for key, item in value.items():
        path = f"{prefix}{SEPARATOR}{key}"
        if isinstance(item, Mapping):
            _leaves(path, item, out)
        else:
            out[path] = item


def _column(values: list[object]) -> pd.Series:
    """Flattened values as one column: numbers stay numbers when all are, else text."""
    series = pd.Series(values, dtype=object)
    present = series.dropna()
    if present.map(lambda v: isinstance(v, bool)).all():
        return series
    if present.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool)).all():
        return pd.to_numeric(series)
    return series.map(lambda v: v if v is None or isinstance(v, str) or _is_list(v) else str(v))


def flatten_nested(gdf: gpd.GeoDataFrame, source: str) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """``gdf`` with every object cell spread into ``<column>.<key>`` columns, and one error per
    cell that holds a list (its value removed).

    Parameters
    ----------
    gdf : the layer as read, with the ``_row`` column of record numbers.
    source : the file name used in the messages.
    """
    problems: list[Problem] = []
    rows = gdf[ROW].to_numpy() if ROW in gdf.columns else np.arange(1, len(gdf) + 1)
    out = gdf
    for col in [c for c in gdf.columns if c != gdf.geometry.name and c not in MARKERS]:
        if gdf[col].dtype != object:
            continue
        cells = gdf[col].tolist()
        if not any(isinstance(v, Mapping) or _is_list(v) for v in cells):
            continue
        flat: list[dict[str, object]] = []
        for value in cells:
            leaves: dict[str, object] = {}
            if isinstance(value, Mapping):
                _leaves(str(col), value, leaves)
            flat.append(leaves)
        names = list(dict.fromkeys(name for leaves in flat for name in leaves))
        out = out.copy()
        kept = [None if isinstance(v, Mapping) else v for v in cells]
        if all(v is None or (isinstance(v, float) and np.isnan(v)) for v in kept):
            out = out.drop(columns=col)
        else:
            out[col] = pd.Series(kept, index=out.index, dtype=object)
        for name in names:
            if name in out.columns:
                problems.append(Problem(source, None, name, None, f"the object '{col}' holds a field that"
                                        f" makes the column '{name}', which the file already has; rename"
                                        " one of them", kind="nested"))
                continue
            out[name] = _column([leaves.get(name) for leaves in flat]).to_numpy()
        for name in [str(col), *names]:
            if name not in out.columns:
                continue
            for i, value in enumerate(out[name].tolist()):
                if _is_list(value):
                    problems.append(Problem(source, int(rows[i]), name, _shown(value), _LIST_EXPECTED,
                                            kind="nested"))
                    out.iloc[i, out.columns.get_loc(name)] = None
    return out, problems


def _shown(value: object) -> str:
    """A list as a message shows it: at most 80 characters."""
    items = value.tolist() if isinstance(value, np.ndarray) else list(value)  # type: ignore[call-overload]
    text = repr(items)
    return text if len(text) <= 80 else text[:77] + "..."


def settle(notes: list[Problem], found: list[Problem], read: pd.DataFrame, spec: LayerSpec) -> list[Problem]:
    """``found`` (``validate``'s problems of the layer ``read`` as read, with its ``_row`` column) without a
    "required value is missing" for a cell whose list ``flatten_nested`` removed (that cell has its
    error in ``notes``); each list error of ``notes`` is named by its row's id, in place. Nothing is
    done (no column renamed) when ``notes`` holds no list error: the usual file."""
    listed = {(p.row, p.field) for p in notes if p.kind == "nested" and p.row is not None}
    if not listed:
        return found
    raw = rename_columns(read, spec)
    ids = dict(zip(raw[ROW].tolist(), raw[spec.id_field].tolist(), strict=True)) if spec.id_field in raw.columns else {}
    for k, p in enumerate(notes):
        value = ids.get(p.row)
        if p.kind == "nested" and isinstance(value, str) and value.strip():
            notes[k] = replace(p, feature_id=value)
    return [p for p in found if not (p.kind == "missing" and (p.row, p.field) in listed)]
