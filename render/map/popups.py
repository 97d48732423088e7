"""Popups: which fields a feature shows, with units, and the escaping JavaScript that draws them.

Popup HTML is built in the browser from plain values. Every value passes through
``hgw.esc`` before it reaches the DOM, and the values travel inside ``<script>`` as JSON with
``<``, ``>`` and ``&`` written as ``\\u003c`` and so on (Jinja's ``tojson``), so a site named
``<img src=x onerror=alert(1)>`` is shown as text and never becomes an element.
"""
from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from layers.catalogue import CATALOGUE, LayerSpec

F = TypeVar("F", bound=pd.DataFrame)

# Popup helpers, defined once per page; the map elements call hgw.popup(spec, values).
HELPERS_JS = r"""
window.hgw = window.hgw || {
  esc: function (v) {
    return String(v).replace(/[&<>"'`]/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;"}[c];
    });
  },
  text: function (v) {
    if (v === true) { return "yes"; }
    if (v === false) { return "no"; }
    return String(v);
  },
  popup: function (spec, values) {
    var h = '<div class="hgw-popup" style="font:12px/1.35 sans-serif;max-height:260px;'
      + 'overflow:auto"><b>' + hgw.esc(spec.title) + '</b><table>';
    for (var i = 0; i < spec.fields.length; i++) {
      var v = values[i], f = spec.fields[i];
      if (v === null || v === undefined || v === "") { continue; }
      h += '<tr><th style="text-align:left;padding-right:6px;font-weight:600">' + hgw.esc(f[1]) + '</th><td>'
        + hgw.esc(hgw.text(v)) + (f[2] ? " " + hgw.esc(f[2]) : "") + '</td></tr>';
    }
    return h + '</table></div>';
  },
  decode: function (s) {
    // Google's encoded polyline at precision 6; "!" and "#" stand for "{" and "}"
    var i = 0, lat = 0, lng = 0, out = [];
    var code = function () {
      var c = s.charCodeAt(i++);
      return (c === 33 ? 123 : c === 35 ? 125 : c) - 63;
    };
    while (i < s.length) {
      var b, shift = 0, r = 0;
      do { b = code(); r |= (b & 31) << shift; shift += 5; } while (b >= 32);
      lat += (r & 1) ? ~(r >> 1) : (r >> 1);
      shift = 0; r = 0;
      do { b = code(); r |= (b & 31) << shift; shift += 5; } while (b >= 32);
      lng += (r & 1) ? ~(r >> 1) : (r >> 1);
      out.push([lat / 1e6, lng / 1e6]);
    }
    return out;
  },
  featurePopup: function (spec) {
    return function (feature, layer) {
      layer.bindPopup(function () {
        var p = feature.properties || {};
        return hgw.popup(spec, spec.fields.map(function (f) { return p[f[0]]; }));
      });
    };
  }
};
"""


def popup_fields(spec: LayerSpec, columns: Iterable[str],
                 extra: Sequence[tuple[str, str, str]] = (),
                 lead: Sequence[tuple[str, str, str]] = ()) -> list[list[str]]:
    """[[field, label, unit], ...] for the catalogue fields of ``spec`` present in ``columns``.

    Restricted fields (people, contacts) are never put on a map, because a map can be exported.
    ``extra`` adds (field, label, unit) triples for derived columns after them, ``lead`` before
    them (a violation's subject name, first in its popup); each only when in ``columns``.
    """
    cols = set(columns)
    out = [[name, label, unit] for name, label, unit in lead if name in cols]
    out.extend([f.name, f.name.replace("_", " "), f.unit or ""]
               for f in spec.fields if f.name in cols and not f.restricted)
    out.extend([name, label, unit] for name, label, unit in extra if name in cols)
    return out


#: The name of the feature a violation flags (a site's name), first in the violation's popup
SUBJECT_NAME = ("subject_name", "subject name", "")


def with_subject_names(violations: F, layers: Mapping[str, pd.DataFrame]) -> F:
    """``violations`` with a ``subject_name`` column: the ``name`` of the feature each one flags
    (``subject_layer`` and ``subject_id`` looked up in ``layers``, the view the map draws, so only
    names the role is shown; a catalogue ``name`` that is restricted is never looked up; an id given
    twice takes the name of its first record). Unchanged when no flagged layer has a name; a copy
    otherwise.

    The lookup is Arrow's (``_first_rows``): until 2026-11-28 every layer's ids and names were turned
    into numpy objects and de-duplicated first, 0.12-0.44 s of each map build at 1e5 sites and 15,000
    violations."""
    if violations.empty or "subject_layer" not in violations or "subject_id" not in violations:
        return violations
    names = pd.Series(None, index=violations.index, dtype=object)
    for layer in violations["subject_layer"].dropna().unique().tolist():
        frame, spec = layers.get(str(layer)), CATALOGUE.get(str(layer))
        if frame is None or spec is None or "name" not in frame or spec.id_field not in frame \
                or any(f.name == "name" and f.restricted for f in spec.fields):
            continue
        rows = (violations["subject_layer"] == layer).to_numpy()
        found = _first_rows(frame[spec.id_field], violations.loc[rows, "subject_id"])
        if (found < 0).all():
            continue
        got = frame["name"].take(np.maximum(found, 0)).to_numpy(dtype=object, copy=True)
        got[found < 0] = None
        names[rows] = got
    if names.isna().all():
        return violations
    return violations.assign(subject_name=names)


def _text_ids(column: pd.Series) -> pa.Array:
    """``column`` as an Arrow text array, missing values null: as it is when it already holds text (an
    Arrow string column is not copied), else each value as ``str`` gives it (numbers, mixed objects)."""
    try:
        ids = pa.array(column, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        ids = None
    if ids is None or not (pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)):
        text = column.astype(str).to_numpy(dtype=object, copy=True)
        text[column.isna().to_numpy()] = None
        ids = pa.array(text, type=pa.string())
    return ids


def _first_rows(ids: pd.Series, wanted: pd.Series) -> np.ndarray:
    """For each of ``wanted``, the position in ``ids`` of its first record, or -1 (none, or missing);
    both compared as text. Only the records whose id is wanted are hashed by position: the ids are
    scanned once against the (fewer) distinct wanted ids."""
    have, asked = _text_ids(ids), _text_ids(wanted)
    asked = asked.cast(have.type)
    hit = np.flatnonzero(pc.is_in(have, value_set=pc.unique(asked), skip_nulls=True).to_numpy(zero_copy_only=False))
    if not len(hit):
        return np.full(len(asked), -1, dtype=np.int64)
    at = pc.index_in(asked, value_set=have.take(pa.array(hit, type=pa.int64())), skip_nulls=True)
    found = at.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return np.where(found >= 0, hit[np.maximum(found, 0)], -1)


def popup_spec(title: str, fields: list[list[str]]) -> dict[str, Any]:
    """The JSON object ``hgw.popup`` reads: a title and the field list."""
    return {"title": title, "fields": fields}


def cell(value: object) -> object:
    """One value made JSON-safe: NaN/inf/NaT/None -> None, dates -> ISO text, numpy -> Python."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(value) else round(float(value), 4)  # JSON has no inf
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return value.isoformat()[:10] if not isinstance(value, dt.datetime) or (
            value.hour == value.minute == value.second == 0) else value.isoformat()
    try:
        if pd.isna(value):  # pd.NA and friends
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def column_cells(col: pd.Series) -> list[object]:
    """``cell`` of every value of ``col``, whole-column for the common dtypes (booleans, whole
    numbers, floats, text, naive dates), value by value for the rest."""
    dtype, missing = col.dtype, col.isna().to_numpy()
    if pd.api.types.is_bool_dtype(dtype) and not missing.any():
        return col.astype(bool).tolist()
    if pd.api.types.is_integer_dtype(dtype) and not missing.any():
        return col.astype("int64").tolist()
    if pd.api.types.is_float_dtype(dtype) and not isinstance(dtype, pd.ArrowDtype):
        values = np.round(col.to_numpy(dtype=float, na_value=np.nan), 4).astype(object)
        values[~np.isfinite(col.to_numpy(dtype=float, na_value=np.nan))] = None
        return values.tolist()
    if pd.api.types.is_datetime64_dtype(dtype):
        # a time of day (to the second, as in ``cell``) is kept
        odd = ((col.dt.normalize() != col.dt.floor("s")) & col.notna()).to_numpy()
        text = col.dt.strftime("%Y-%m-%d").to_numpy(dtype=object, na_value=None, copy=True)
        text[missing] = None
        if odd.any():
            text[odd] = [v.isoformat() for v in col[odd]]
        return text.tolist()
    if pd.api.types.infer_dtype(col, skipna=True) in ("string", "empty"):
        values = col.to_numpy(dtype=object, na_value=None, copy=True)
        values[missing] = None
        return values.tolist()
    return [cell(v) for v in col.tolist()]


def column_values(frame: pd.DataFrame, names: Sequence[str]) -> list[list[object]]:
    """Row-wise JSON-safe values of columns ``names`` (one list per row; ``cell`` of each)."""
    cols = [column_cells(frame[n]) for n in names]
    return [list(row) for row in zip(*cols)] if cols else [[] for _ in range(len(frame))]


def escape(text: object) -> str:
    """HTML-escape ``text`` for markup built on the server (legend, notes, tooltips).

    Braces become entities too: folium renders element templates through Jinja a second time,
    so a user's ``{{ ... }}`` would otherwise be run as template code on the server.
    """
    return html.escape(str(text), quote=True).replace("{", "&#123;").replace("}", "&#125;")
