"""What the faces hand in as text, parsed once: ``KEY=VALUE`` pairs (``--set``, ``--layer``,
``--filter``), a bounding box, the attribute filter those select, distances in metres and days.

Every refusal names the flag, the bad item, the form expected and an example.
"""
from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Sequence
from datetime import date

import geopandas as gpd
import pandas as pd
import shapely

from geo.errors import InputError
from geo.words import one_of
from layers.catalogue import CATALOGUE, FieldSpec, LayerSpec
from layers.io.coerce import parse_bool


def parse_pairs(items: Iterable[str], *, flag: str, form: str, example: str,
                keys: Collection[str] | None = None, need_value: bool = False) -> list[tuple[str, str]]:
    """Parse ``KEY=VALUE`` items into (key, value) pairs, both stripped, in order.

    Parameters
    ----------
    items : the texts as given, e.g. ``["kind=river"]``.
    flag : the option they came with, for messages (``"--set"``).
    form : the expected form, e.g. ``"FIELD=VALUE"`` or ``"LAYER.FIELD=VALUE"``; a dot in its key
        part means the key must be ``A.B`` with both parts given.
    example : an item that would be accepted, shown in the message.
    keys : when given, the allowed keys (their part before a dot for a dotted form).
    need_value : refuse an empty value.

    Raises
    ------
    InputError
        ``"<flag> '<item>': expected <form> [with KEY one of [...]], e.g. <flag> <example>"``.
    """
    name = form.partition("=")[0]
    dotted = "." in name
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        head, dot, tail = key.partition(".")
        ok = bool(sep and key and (value or not need_value))
        if dotted:
            ok = ok and bool(head and dot and tail.strip())
        if ok and keys is not None:
            ok = (head if dotted else key) in keys
        if not ok:
            allowed = f" with {name.partition('.')[0]} {one_of(sorted(keys))}" if keys is not None else ""
            raise InputError(f"{flag} {item!r}: expected {form}{allowed}, e.g. {flag} {example}")
        pairs.append((key, value))
    return pairs


def set_values(items: Iterable[str]) -> dict[str, str]:
    """``--set FIELD=VALUE`` items of ``import`` / ``validate`` as {field: value}."""
    return dict(parse_pairs(items, flag="--set", form="FIELD=VALUE", example="kind=river"))


def layer_files(items: Iterable[str]) -> list[tuple[str, str]]:
    """``--layer LAYER=PATH`` items as (layer type, path) pairs."""
    return parse_pairs(items, flag="--layer", form="LAYER=PATH", keys=CATALOGUE, need_value=True,
                       example="water_bodies=rivers.geojson")


def layer_values(items: Iterable[str]) -> dict[str, dict[str, str]]:
    """``--set LAYER.FIELD=VALUE`` items as {layer: {field: value}}."""
    out: dict[str, dict[str, str]] = {}
    for key, value in parse_pairs(items, flag="--set", form="LAYER.FIELD=VALUE", keys=CATALOGUE,
                                  example="mining_sites.uses_mercury=true"):
        layer, _, name = key.partition(".")
        out.setdefault(layer, {})[name.strip()] = value
    return out


def parse_filters(items: Iterable[str], spec: LayerSpec, *,
                  keys: Collection[str] | None = None) -> dict[str, list[str]]:
    """``--filter FIELD=V1,V2`` items as {field: [values]}; the field must be one of ``keys``
    (default: every declared field of the layer), and each value one the field can hold
    (``filter_value``): a coded field's value is one of its allowed values, a yes/no field's is read
    as the import reads it (``yes``, ``oui``, ``1`` ... become ``true``), a number's is a number. A
    value no row can hold used to select nothing without a word (``status=actve``: an empty file)."""
    given = list(items)
    pairs = parse_pairs(given, flag="--filter", form="FIELD=V1,V2",
                        keys=spec.field_names if keys is None else keys,
                        example="status=active,inactive")  # one pair per item, in order
    return {field: [filter_value(item, spec.field(field), v.strip()) for v in values.split(",")]
            for item, (field, values) in zip(given, pairs)}


def filter_value(item: str, field: FieldSpec | None, value: str) -> str:
    """``value`` of the ``--filter`` ``item`` on ``field`` as ``apply_filters`` compares it (text, any case):
    an allowed value of a coded field, ``true``/``false`` for a yes/no field, a whole number without
    sign or decimals for an int field; unchanged for a field the catalogue does not declare.

    Raises
    ------
    InputError
        naming the item, the value, the field and what was expected (with the closest allowed value).
    """
    if field is None:
        return value
    problem = ""
    if field.allowed is not None and value.lower() not in {a.lower() for a in field.allowed}:
        import difflib  # its suggestions are for a bad value only: cli.py loads this module for every command

        close = difflib.get_close_matches(value.lower(), [a.lower() for a in field.allowed], n=1)
        problem = f"expected {one_of(sorted(field.allowed))}" + (f"; did you mean {close[0]!r}?" if close else "")
    elif field.dtype == "bool":
        read, bad = parse_bool(pd.Series([value], dtype=object))
        if bool(bad.iloc[0]) or pd.isna(read.iloc[0]):
            problem = "expected true or false (or yes/no, 1/0)"
        else:
            return "true" if bool(read.iloc[0]) else "false"
    elif field.dtype in ("int", "float"):
        number = _finite(value)
        if number is None or (field.dtype == "int" and not number.is_integer()):
            problem = f"expected {'a whole number' if field.dtype == 'int' else 'a number'}"
        elif field.dtype == "int":
            return str(int(number))
    if problem:
        raise InputError(f"--filter {item!r}: value {value!r} of field {field.name!r}: {problem}")
    return value


def _finite(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Parse 'W,S,E,N' in degrees."""
    try:
        w, s, e, n = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--bbox {text!r}: expected four numbers W,S,E,N in degrees,"
                         " e.g. --bbox -2.5,5.0,-1.5,6.0") from None
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s < n <= 90):
        raise InputError(f"--bbox {text!r}: expected -180<=W,E<=180 and -90<=S<N<=90")
    return w, s, e, n


def apply_filters(gdf: gpd.GeoDataFrame, filters: dict[str, list[str]], *,
                  bbox: tuple[float, float, float, float] | None = None) -> gpd.GeoDataFrame:
    """Rows whose fields match every filter (any listed value), intersecting ``bbox``.

    Values compare as text, case-insensitively, so ``uses_mercury=true`` matches a boolean; in a
    column of numbers, values that are all numbers compare as numbers (``3.50`` matches 3.5, ``2``
    matches 2.0). A ``bbox`` whose west edge is east of its east edge crosses the antimeridian.
    """
    keep = pd.Series(True, index=gdf.index)
    for field, values in filters.items():
        if field not in gdf.columns:
            keep &= False
            continue
        column = gdf[field]
        numbers = [_finite(v) for v in values]
        if (pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
                and all(n is not None for n in numbers)):
            keep &= column.isin(numbers).to_numpy()
            continue
        wanted = {v.lower() for v in values}
        keep &= gdf[field].map(lambda v, wanted=wanted: not pd.isna(v) and str(v).lower() in wanted).astype(bool)
    if bbox is not None:
        w, s, e, n = bbox
        boxes = [shapely.box(w, s, e, n)] if w <= e else [shapely.box(w, s, 180, n),
                                                         shapely.box(-180, s, e, n)]
        hit = pd.Series(False, index=gdf.index)
        for box in boxes:
            hit |= gdf.geometry.intersects(box)
        keep &= hit
    return gdf[keep]


def glue_signed(argv: Sequence[str], flags: Collection[str]) -> list[str]:
    """``argv`` with each value of one of ``flags`` that starts with "-" (but not "--", nor
    "-h") joined to its flag: ``["--bbox", "-2.5,5,-1.5,6"]`` -> ``["--bbox=-2.5,5,-1.5,6"]``,
    so argparse reads it as the value instead of an unknown option."""
    out: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        nxt = items[i + 1] if i + 1 < len(items) else ""
        if items[i] in flags and nxt.startswith("-") and not nxt.startswith("--") and nxt != "-h":
            out.append(f"{items[i]}={nxt}")
            i += 2
        else:
            out.append(items[i])
            i += 1
    return out


def parse_metres(text: str, *, flag: str, what: str, positive: bool = True,
                 example: str = "100") -> float:
    """A distance in metres given as text: a finite number, > 0 (``positive``) or >= 0.

    Parameters
    ----------
    text : the value as given, e.g. ``"250"``.
    flag : the option it came with, for the message (``"--cell-m"``).
    what : what the number is, for the message (``"a cell size"``).
    positive : refuse 0 as well as negative numbers.
    example : a value that would be accepted, shown in the message.

    Raises
    ------
    InputError
        ``"<flag> '<text>': expected <what> in metres, a finite number > 0, e.g. <flag> 100"``.
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    return check_metres(value, name=flag, what=what, positive=positive, example=example,
                        shown=text)


def check_metres(value: float, *, name: str, what: str, positive: bool = True,
                 example: str = "100", shown: str | None = None) -> float:
    """``value`` (metres) when it is finite and > 0 (``positive``) or >= 0; see ``parse_metres``.

    ``name`` is the flag or field the value came with, ``shown`` the value as the user gave it.
    """
    if not (math.isfinite(value) and (value > 0 if positive else value >= 0)):
        bound = "> 0" if positive else ">= 0"
        given = repr(shown) if shown is not None else f"{float(value)!r}"
        raise InputError(f"{name} {given}: expected {what} in metres, a finite number {bound},"
                         f" e.g. {name} {example}")
    return value


def parse_day(text: str, *, flag: str) -> date:
    """A calendar day given as ``YYYY-MM-DD`` text.

    Raises
    ------
    InputError
        ``"<flag> '2024-99-99': expected a date as YYYY-MM-DD, e.g. <flag> 2024-06-30 (...)"``.
    """
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            raise ValueError("not in that form")
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise InputError(f"{flag} {text!r}: expected a date as YYYY-MM-DD, e.g. {flag} 2024-06-30"
                         f" ({exc})") from None
