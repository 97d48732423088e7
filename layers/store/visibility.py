"""Which stored columns of a layer a partner may read: the one home of that fact for every back end.

A partner reads exactly what the ``partner`` export profile lets out
(``layers.io.export.apply_profile``): the catalogue's declared, non-restricted fields, plus the
columns an analyst marked shareable, never a person-like name. ``partner_columns`` applies that
profile to a list of column names; the GeoPackage read selects those columns in Python
(``services.auth.read_layer``) and the PostGIS ``partner`` views (``layers.store.pgroles``) are
made from it, so both back ends let out the same columns.

A field coordinator sees every column in the rows of its admin areas (``AREA_FIELD``); in the
other rows, what a partner sees (``outside_areas``): the issue's "export ``internal`` for their
areas, ``partner`` otherwise". On a GeoPackage SQLite selects them (``Workspace.read_field``): the
rows ``in_areas_sqlite`` holds with every column, the rows ``outside_areas_sqlite`` holds with the
partner's columns only, so the other columns of the other rows are never read for it.

A layer the catalogue marks wholly restricted (``LayerSpec.restricted``) is never seen by a
partner or a field coordinator (``wholly_restricted``) and has no partner view.

A row about a person (``LayerSpec.personal_rows``: a hair sample) is restricted as a whole: a
partner never reads it, a field coordinator only in its own areas. The test is written three
times, once per engine, and they agree: ``shared_rows`` (pandas), ``shared_rows_sqlite`` (the
GeoPackage read's attribute filter) and ``shared_rows_postgres`` (the partner views). A value is
personal when, with ``TRIMMED`` removed from both ends, it equals one of the catalogue's values in
any ASCII case ("Hair ", "HAIR" as an outside editor may write it); a missing value is not.
"""
from __future__ import annotations

from collections.abc import Collection

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from layers.catalogue import spec_for
from layers.io.export import apply_profile

AREA_FIELD = "admin_area"  # the column that names a row's admin area (a field coordinator's areas)
TRIMMED = " \t\n\v\f\r\u00a0"  # what ``shared_rows`` strips from a value's ends before comparing it
AREA_TRIMMED = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())  # what a read strips from text (coerce)


def personal_rows(layer: str, columns: Collection[str]) -> tuple[str, tuple[str, ...]] | None:
    """(field, values) when rows of ``layer`` may be about a person and ``columns`` (its stored
    attribute columns) hold that field; else None (every row may be shared)."""
    rule = spec_for(layer).personal_rows
    return rule if rule is not None and rule[0] in columns else None


def shared_rows(frame: pd.DataFrame, layer: str) -> NDArray[np.bool_]:
    """True for each row of ``frame`` (a read of ``layer``) that is not about a person."""
    rule = personal_rows(layer, [str(c) for c in frame.columns])
    if rule is None:
        return np.ones(len(frame), dtype=bool)
    field, values = rule

    def personal(value: object) -> bool:
        if not isinstance(value, str):
            return False
        text = value.strip(TRIMMED)
        return text.isascii() and text.lower() in values

    return ~np.fromiter((personal(v) for v in frame[field].to_numpy(dtype=object)), dtype=bool, count=len(frame))


def shared_rows_sqlite(layer: str, columns: Collection[str]) -> str | None:
    """``shared_rows`` as a SQLite condition (a GeoPackage read's attribute filter), or None."""
    rule = personal_rows(layer, columns)
    if rule is None:
        return None
    field, values = rule
    chars = "||".join(f"char({ord(c)})" for c in TRIMMED)
    listed = ", ".join(_sql_text(v) for v in values)
    return f'("{field}" IS NULL OR lower(trim("{field}", {chars})) NOT IN ({listed}))'


def in_areas_sqlite(areas: Collection[str], columns: Collection[str]) -> str:
    """A SQLite condition true for a row whose ``AREA_FIELD`` is one of ``areas``, compared as a read
    compares it (``layers.io.coerce``: the stored text with ``AREA_TRIMMED`` removed from both ends, a
    blank one missing; a NULL area is in none): ``"0"`` when no area can match (none, or each blank or
    padded) or ``columns`` (the layer's stored attribute columns) lack that field. Each area, a value
    of an account, goes in as a hex literal of its UTF-8 (``_sql_any_text``), whatever it holds."""
    kept = sorted({a for a in areas if a and a == a.strip(AREA_TRIMMED)})
    if AREA_FIELD not in columns or not kept:
        return "0"
    chars = "||".join(f"char({ord(c)})" for c in AREA_TRIMMED)
    return f'(trim("{AREA_FIELD}", {chars}) IN ({", ".join(_sql_any_text(a) for a in kept)}))'


def outside_areas_sqlite(layer: str, columns: Collection[str], areas: Collection[str]) -> str | None:
    """The rows of ``layer`` a field coordinator of ``areas`` sees outside them, as a SQLite
    condition: not in ``areas`` (``in_areas_sqlite``; a NULL area included) and not about a person
    (``shared_rows_sqlite``); None when every row qualifies."""
    inside = in_areas_sqlite(areas, columns)
    held = [] if inside == "0" else [f'("{AREA_FIELD}" IS NULL OR NOT {inside})']
    shared = shared_rows_sqlite(layer, columns)
    return " AND ".join(held + ([] if shared is None else [shared])) or None


def shared_rows_postgres(layer: str, typed: Collection[str], alias: str) -> str | None:
    """``shared_rows`` as a PostgreSQL condition on the row of table alias ``alias`` (whose own
    columns are ``typed``; any other field is a key of its ``extra``), or None for a layer without
    personal rows."""
    rule = spec_for(layer).personal_rows
    if rule is None:
        return None
    field, values = rule
    value = f'{alias}."{field}"' if field in typed else f"({alias}.extra ->> {_sql_text(field, name=True)})"
    chars = "||".join(f"chr({ord(c)})" for c in TRIMMED)
    listed = ", ".join(_sql_text(v) for v in values)
    return f"({value} IS NULL OR lower(btrim({value}, {chars})) NOT IN ({listed}))"


def _sql_text(value: str, *, name: bool = False) -> str:
    """``value`` (a catalogue constant: lower-case ASCII letters, and ``_`` in a field ``name``) as a
    SQL string literal."""
    if not (value.isascii() and value.replace("_", "a" if name else "_").isalpha() and value == value.lower()):
        raise ValueError(f"a personal-row value must be lower-case ASCII letters, got {value!r}")
    return f"'{value}'"


def _sql_any_text(value: str) -> str:
    """Any ``value`` (quotes, ``%``, backslashes, NUL, any script) as a SQLite text expression: a blob
    literal of its UTF-8, which holds hex digits only, cast to text."""
    return f"CAST(X'{value.encode('utf-8', 'surrogatepass').hex()}' AS TEXT)"


def wholly_restricted(layer: str) -> bool:
    """True when the catalogue marks layer type ``layer`` restricted as a whole (only roles that
    see every restricted field, analyst and admin, see it)."""
    return spec_for(layer).restricted


def partner_columns(layer: str, columns: Collection[str], shareable: Collection[str] = ()) -> list[str]:
    """The names among ``columns`` (attribute columns of ``layer``, in their order) that the
    ``partner`` profile lets out, given the columns marked ``shareable``; none for a wholly
    restricted layer."""
    if wholly_restricted(layer):
        return []
    empty = gpd.GeoDataFrame({str(c): pd.Series([], dtype=object) for c in columns}, geometry=[], crs=4326)
    kept = apply_profile(empty, spec_for(layer), "partner", shareable)
    return [str(c) for c in kept.columns if c != kept.geometry.name]


def outside_areas(layer: str, columns: Collection[str], shareable: Collection[str] = ()) -> list[str]:
    """The names among ``columns`` that a field coordinator sees only in its own admin areas:
    every column the partner profile does not let out."""
    seen = set(partner_columns(layer, columns, shareable))
    return [str(c) for c in columns if c not in seen]
