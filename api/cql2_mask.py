"""A CQL2 filter (a pygeofilter tree: ``api.cql2_read.parse``, or pygeofilter's ECQL parser for
``filter-lang=cql-text``) evaluated over one collection as one identity is served it: which features pass.

``mask(frame, tree, geometry=...)`` reads only the columns of ``frame`` (the identity's own view,
``services.features.Served.frame``: a partner's has no restricted column and no personal row) and, for the
spatial functions, ``geometry``: the geometries that identity receives (2D, on the 1e-7 degree grid of the
served features), so a filter answers exactly what the features a client gets would answer, never
anything of a geometry or a row it does not get. A property not in ``frame`` is refused as a made-up name.

Logic is CQL2's three-valued one: a comparison with a null value (a missing property value, a null
geometry) is unknown, ``NOT`` of unknown is unknown, and a feature passes only when the whole filter is
true; so ``NOT (x)`` gives the features with a value for which ``x`` is false.

Spatial functions are planar in CRS84, as CQL2 defines them: longitude and latitude are taken as plane
coordinates (a polygon's edges are straight in degrees, not geodesics), by shapely (GEOS) predicates.
Temporal functions compare instants and intervals by CQL2's definitions (Table 7 of OGC 21-065r2): a
DATE (a literal or a date property) is the instant at 00:00 UTC of that day, a TIMESTAMP its UTC instant,
``..`` an open end. ``CASEI`` compares case-folded text, ``ACCENTI`` text without its accents (NFD, the
combining marks dropped).

``FilterError`` says which property, value or function could not be applied and what was expected.
"""
from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pygeofilter import ast, values

from api.cql2_text import Temporal

GEOMETRY = "geometry"  # the name a filter gives the features' geometry (the queryables' name)
LOW, HIGH = pd.Timestamp.min, pd.Timestamp.max  # the open ends of an interval
COMPARE: dict[str, Callable[[Any, Any], Any]] = {"=": operator.eq, "<>": operator.ne, "<": operator.lt,
                                                  "<=": operator.le, ">": operator.gt, ">=": operator.ge}
SPATIAL = {"INTERSECTS": shapely.intersects, "DISJOINT": shapely.disjoint, "CONTAINS": shapely.contains,
           "WITHIN": shapely.within, "TOUCHES": shapely.touches, "CROSSES": shapely.crosses,
           "OVERLAPS": shapely.overlaps, "EQUALS": shapely.equals}
ECQL_TEMPORAL = {"AFTER": "T_AFTER", "BEFORE": "T_BEFORE", "BEGINS": "T_STARTS", "BEGUNBY": "T_STARTEDBY",
                 "TCONTAINS": "T_CONTAINS", "DURING": "T_DURING", "ENDEDBY": "T_FINISHEDBY", "ENDS": "T_FINISHES",
                 "TEQUALS": "T_EQUALS", "MEETS": "T_MEETS", "METBY": "T_METBY", "TOVERLAPS": "T_OVERLAPS",
                 "OVERLAPPEDBY": "T_OVERLAPPEDBY", "DISJOINT": "T_DISJOINT"}
Ends = tuple[pd.Series, pd.Series]  # the start and end instants of each feature (NaT: unknown)
TEMPORAL: dict[str, Callable[[Ends, Ends], pd.Series]] = {  # CQL2's definitions, a = (start, end), b likewise
    "T_AFTER": lambda a, b: a[0] > b[1],
    "T_BEFORE": lambda a, b: a[1] < b[0],
    "T_CONTAINS": lambda a, b: (a[0] < b[0]) & (a[1] > b[1]),
    "T_DISJOINT": lambda a, b: (a[1] < b[0]) | (a[0] > b[1]),
    "T_DURING": lambda a, b: (a[0] > b[0]) & (a[1] < b[1]),
    "T_EQUALS": lambda a, b: (a[0] == b[0]) & (a[1] == b[1]),
    "T_FINISHEDBY": lambda a, b: (a[0] < b[0]) & (a[1] == b[1]),
    "T_FINISHES": lambda a, b: (a[0] > b[0]) & (a[1] == b[1]),
    "T_INTERSECTS": lambda a, b: (a[0] <= b[1]) & (a[1] >= b[0]),
    "T_MEETS": lambda a, b: a[1] == b[0],
    "T_METBY": lambda a, b: a[0] == b[1],
    "T_OVERLAPPEDBY": lambda a, b: (a[0] > b[0]) & (a[0] < b[1]) & (a[1] > b[1]),
    "T_OVERLAPS": lambda a, b: (a[0] < b[0]) & (a[1] > b[0]) & (a[1] < b[1]),
    "T_STARTEDBY": lambda a, b: (a[0] == b[0]) & (a[1] > b[1]),
    "T_STARTS": lambda a, b: (a[0] == b[0]) & (a[1] < b[1]),
}


class FilterError(ValueError):
    """A filter that cannot be applied to this collection: the message names what and what was expected."""


@dataclass
class _Truth:
    """A condition's value per feature: true, and unknown (neither true nor false)."""

    true: np.ndarray
    unknown: np.ndarray

    @property
    def false(self) -> np.ndarray:
        return ~self.true & ~self.unknown


def _instant(value: date | datetime) -> pd.Timestamp:
    """A date (00:00 UTC of that day) or a datetime (UTC) as a naive UTC timestamp."""
    if isinstance(value, datetime):
        return pd.Timestamp(value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value)
    return pd.Timestamp(value)


def _fold(values_: Any, how: str) -> Any:
    """Text case-folded (CASEI) or without accents (ACCENTI)."""
    def one(text: Any) -> Any:
        if not isinstance(text, str):
            return text
        if how == "casei":
            return text.casefold()
        return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    if isinstance(values_, pd.Series):
        return values_.map(one, na_action="ignore")
    return one(values_)


def _like(pattern: str, wildcard: str, single: str, escape: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if escape and char == escape and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if char == wildcard else "." if char == single else re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


class _Evaluator:
    def __init__(self, frame: pd.DataFrame, geometry: Callable[[], np.ndarray]) -> None:
        self.frame = frame
        self.n = len(frame)
        self._geometry = geometry
        self._geoms: np.ndarray | None = None
        self.names = sorted(str(c) for c in frame.columns if not isinstance(frame, gpd.GeoDataFrame)
                            or c != frame.geometry.name)

    def _full(self, value: bool) -> np.ndarray:
        return np.full(self.n, value, dtype=bool)

    # ------------------------------------------------------------ values
    def value(self, node: Any) -> Any:
        if isinstance(node, ast.Attribute):
            return self.attribute(node.name)
        if isinstance(node, ast.Function):
            name = node.name.lower()
            if name in ("casei", "accenti", "lower") and len(node.arguments) == 1:
                return _fold(self.value(node.arguments[0]), "accenti" if name == "accenti" else "casei")
            raise FilterError(f"filter: unknown function {node.name!r}; expected CASEI or ACCENTI")
        if isinstance(node, ast.Arithmetic):
            lhs, rhs = self.value(node.lhs), self.value(node.rhs)
            for side in (lhs, rhs):
                if not (isinstance(side, (int, float)) and not isinstance(side, bool)
                        or isinstance(side, pd.Series) and pd.api.types.is_numeric_dtype(side)
                        and not pd.api.types.is_bool_dtype(side)):
                    raise FilterError(f"filter: arithmetic ({node.op.value}) on {self._said(side)}; expected numbers")
            apply = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}[node.op.value]
            try:
                return apply(lhs, rhs)
            except ZeroDivisionError:  # two literals (a column divided by 0 gives inf or NaN, as numpy does)
                raise FilterError(f"filter: {lhs!r} / {rhs!r} divides by zero; expected a divisor other than 0") from None
        if isinstance(node, (str, bool, int, float, date, values.Geometry, values.Envelope, values.Interval)):
            return node
        raise FilterError(f"filter: {type(node).__name__} cannot be applied here; expected CQL2 text"
                          " (filter-lang=cql2-text) with properties, literals and the CQL2 functions")

    def attribute(self, name: str) -> Any:
        if name in self.names:
            return self.frame[name].reset_index(drop=True)
        if name == GEOMETRY:
            return self.geometries()
        raise FilterError(f"filter: unknown property {name!r}; expected one of {[*self.names, GEOMETRY]}")

    def geometries(self) -> np.ndarray:
        if self._geoms is None:
            self._geoms = self._geometry()
        return self._geoms

    @staticmethod
    def _said(value: Any) -> str:
        if isinstance(value, np.ndarray):
            return f"property {GEOMETRY!r}"
        if isinstance(value, pd.Series):
            return f"property {value.name!r}" if value.name is not None else "a computed value"
        return repr(value)

    def _known(self, *sides: Any) -> np.ndarray:
        known = self._full(True)
        for side in sides:
            if isinstance(side, pd.Series):
                known &= side.notna().to_numpy(dtype=bool)
        return known

    def _pair(self, lhs: Any, rhs: Any) -> tuple[Any, Any]:
        """``lhs`` and ``rhs`` made comparable: a date property with a date or time, a number with a number,
        text with text, a boolean with a boolean; FilterError when they are not."""
        def kind(side: Any) -> str:
            if isinstance(side, pd.Series):
                if pd.api.types.is_bool_dtype(side):
                    return "boolean"
                if pd.api.types.is_numeric_dtype(side):
                    return "number"
                if pd.api.types.is_datetime64_any_dtype(side):
                    return "date"
                inferred = pd.api.types.infer_dtype(side, skipna=True)  # (an object column: booleans with nulls)
                return {"boolean": "boolean", "integer": "number", "floating": "number", "decimal": "number",
                        "mixed-integer-float": "number", "empty": "empty"}.get(inferred, "text")
            if isinstance(side, bool):
                return "boolean"
            if isinstance(side, (int, float)):
                return "number"
            if isinstance(side, date):
                return "date"
            if isinstance(side, str):
                return "text"
            return "geometry or interval"
        kinds = kind(lhs), kind(rhs)
        if "empty" in kinds:  # a column of nulls only: every comparison is unknown, whatever the other side
            return lhs, rhs
        if "date" in kinds:
            return self._as_time(lhs, rhs), self._as_time(rhs, lhs)
        if kinds[0] != kinds[1]:
            raise FilterError(f"filter: {self._said(lhs)} ({kinds[0]}) compared with {self._said(rhs)} ({kinds[1]});"
                              f" expected a {kinds[0] if isinstance(lhs, pd.Series) else kinds[1]} on both sides")
        return lhs, rhs

    def _as_time(self, side: Any, other: Any) -> Any:
        if isinstance(side, pd.Series):
            if pd.api.types.is_datetime64_any_dtype(side):
                return side.dt.tz_convert(None) if getattr(side.dt, "tz", None) is not None else side
            raise FilterError(f"filter: {self._said(side)} is not a date, compared with {self._said(other)};"
                              " expected a date property")
        if isinstance(side, date):
            return _instant(side)
        if isinstance(side, str):
            try:
                return _instant(datetime.fromisoformat(side.replace("Z", "+00:00")))
            except ValueError:
                raise FilterError(f"filter: {side!r} compared with {self._said(other)}: not a date; expected"
                                  " DATE('YYYY-MM-DD') or TIMESTAMP('YYYY-MM-DDThh:mm:ssZ')") from None
        raise FilterError(f"filter: {self._said(side)} compared with {self._said(other)}; expected a date")

    # ------------------------------------------------------------ conditions
    def truth(self, node: Any) -> _Truth:
        if isinstance(node, ast.Not):
            sub = self.truth(node.sub_node)
            return _Truth(sub.false, sub.unknown)
        if isinstance(node, (ast.And, ast.Or)):
            lhs, rhs = self.truth(node.lhs), self.truth(node.rhs)
            if isinstance(node, ast.And):
                true, false = lhs.true & rhs.true, lhs.false | rhs.false
            else:
                true, false = lhs.true | rhs.true, lhs.false & rhs.false
            return _Truth(true, ~true & ~false)
        if isinstance(node, ast.Include):
            return _Truth(self._full(not node.not_), self._full(False))
        if isinstance(node, bool):
            return _Truth(self._full(node), self._full(False))
        if isinstance(node, ast.Comparison):
            return self.compare(node.op.value, self.value(node.lhs), self.value(node.rhs))
        if isinstance(node, ast.Between):
            value, low, high = self.value(node.lhs), self.value(node.low), self.value(node.high)
            above, below = self.compare(">=", value, low), self.compare("<=", value, high)
            inside = _Truth(above.true & below.true, ~(above.true & below.true) & ~(above.false | below.false))
            return _Truth(inside.false, inside.unknown) if node.not_ else inside
        if isinstance(node, ast.In):
            value = self.value(node.lhs)
            hits = [self.compare("=", value, self.value(option)) for option in node.sub_nodes]
            true = np.logical_or.reduce([h.true for h in hits]) if hits else self._full(False)
            unknown = ~self._known(value) & ~true
            return _Truth(~true & ~unknown, unknown) if node.not_ else _Truth(true, unknown)
        if isinstance(node, ast.Like):
            return self.like(node)
        if isinstance(node, ast.IsNull):
            value = self.value(node.lhs)
            if isinstance(value, np.ndarray):  # the geometries
                null = shapely.is_missing(value) | shapely.is_empty(value)
            else:
                null = ~self._known(value)
            return _Truth(~null if node.not_ else null, self._full(False))
        if isinstance(node, ast.SpatialComparisonPredicate):
            return self.spatial(node.op.name, node.lhs, node.rhs)
        if isinstance(node, ast.BBox):
            box = values.Envelope(node.minx, node.maxx, node.miny, node.maxy)
            return self.spatial("INTERSECTS", node.lhs, box)
        if isinstance(node, Temporal):
            return self.temporal(node.name, node.lhs, node.rhs)
        if isinstance(node, ast.TemporalPredicate) and node.op.name in ECQL_TEMPORAL:
            return self.temporal(ECQL_TEMPORAL[node.op.name], node.lhs, node.rhs)
        raise FilterError(f"filter: {type(node).__name__} is not a condition this service evaluates; expected a"
                          " comparison, LIKE, BETWEEN, IN, IS NULL, an S_ or T_ function, AND, OR or NOT")

    def compare(self, op: str, lhs: Any, rhs: Any) -> _Truth:
        if isinstance(lhs, np.ndarray) or isinstance(rhs, np.ndarray):
            raise FilterError("filter: the geometry compared with =, <, >...; expected S_EQUALS, S_INTERSECTS"
                              " or another spatial function")
        lhs, rhs = self._pair(lhs, rhs)
        known = self._known(lhs, rhs)
        if not isinstance(lhs, pd.Series) and not isinstance(rhs, pd.Series):
            result = self._full(bool(COMPARE[op](lhs, rhs)))
        else:
            try:
                result = pd.Series(COMPARE[op](lhs, rhs)).to_numpy(dtype=bool, na_value=False)
            except TypeError:
                raise FilterError(f"filter: {self._said(lhs)} {op} {self._said(rhs)} cannot be compared;"
                                  " expected values of one type") from None
        return _Truth(result & known, ~known)

    def like(self, node: Any) -> _Truth:
        value = self.value(node.lhs)
        pattern = self.value(node.pattern)
        if not isinstance(pattern, str):
            raise FilterError(f"filter: LIKE {self._said(pattern)}; expected a string pattern, e.g. 'Al%'")
        if not isinstance(value, pd.Series) or pd.api.types.is_numeric_dtype(value) or \
                pd.api.types.is_datetime64_any_dtype(value):
            raise FilterError(f"filter: {self._said(value)} LIKE {pattern!r}; expected a text property")
        regex = _like(pattern, node.wildcard, node.singlechar, node.escapechar)
        if node.nocase:
            regex = re.compile(regex.pattern, re.DOTALL | re.IGNORECASE)
        known = self._known(value)
        hits = np.asarray([bool(regex.fullmatch(str(v))) if k else False for v, k in zip(value, known)], dtype=bool)
        return _Truth((~hits if node.not_ else hits) & known, ~known)

    def _geometry_side(self, node: Any) -> Any:
        value = self.value(node)
        if isinstance(value, values.Envelope):
            box = shapely.box(value.x1, value.y1, value.x2, value.y2)
            shapely.prepare(box)
            return box
        if isinstance(value, values.Geometry):
            shape = shapely.geometry.shape(value.geometry)
            shapely.prepare(shape)  # (a district polygon against 100,000 points: 2x faster)
            return shape
        if isinstance(value, np.ndarray):
            return value
        raise FilterError(f"filter: {self._said(value)} in a spatial function; expected the property"
                          f" {GEOMETRY!r}, a WKT geometry or BBOX(W, S, E, N)")

    def spatial(self, op: str, lhs_node: Any, rhs_node: Any) -> _Truth:
        lhs, rhs = self._geometry_side(lhs_node), self._geometry_side(rhs_node)
        known = self._full(True)
        for side in (lhs, rhs):
            if isinstance(side, np.ndarray):
                known &= ~(shapely.is_missing(side) | shapely.is_empty(side))
        result = np.asarray(SPATIAL[op](lhs, rhs), dtype=bool)
        result = np.broadcast_to(result, (self.n,)) if result.ndim == 0 else result
        return _Truth(result & known, ~known)

    def _ends(self, node: Any) -> Ends:
        value = self.value(node)
        if isinstance(value, values.Interval):
            start = LOW if value.start is None else _instant(value.start)
            end = HIGH if value.end is None else _instant(value.end)
            if start > end:
                raise FilterError(f"filter: INTERVAL from {value.start} to {value.end}: the start is after the end;"
                                  " expected start <= end")
            return pd.Series([start] * self.n), pd.Series([end] * self.n)
        if isinstance(value, date):
            at = pd.Series([_instant(value)] * self.n)
            return at, at
        if isinstance(value, pd.Series) and pd.api.types.is_datetime64_any_dtype(value):
            at = self._as_time(value, value).astype("datetime64[ns]")
            return at, at
        raise FilterError(f"filter: {self._said(value)} in a temporal function; expected a date property,"
                          " DATE(...), TIMESTAMP(...) or INTERVAL(...)")

    def temporal(self, name: str, lhs: Any, rhs: Any) -> _Truth:
        a, b = self._ends(lhs), self._ends(rhs)
        known = (a[0].notna() & a[1].notna() & b[0].notna() & b[1].notna()).to_numpy(dtype=bool)
        result = TEMPORAL[name](a, b).to_numpy(dtype=bool)
        return _Truth(result & known, ~known)


def mask(frame: pd.DataFrame, tree: Any, *, geometry: Callable[[], np.ndarray]) -> np.ndarray:
    """Which rows of ``frame`` pass the filter ``tree`` (see the module docstring).

    Parameters
    ----------
    frame : the collection's attributes as the asking identity is served them, in feature order.
    tree : the parsed filter.
    geometry : gives the geometries the identity receives, in feature order (called once, only when a
        spatial function or ``geometry IS NULL`` needs them).

    Raises
    ------
    FilterError
        A property the identity is not served, a value of the wrong type, an unknown function.
    """
    return _Evaluator(frame, geometry).truth(tree).true
