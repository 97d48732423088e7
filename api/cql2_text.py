"""The vocabulary of CQL2 text (OGC 21-065r2) as the partner API reads it: the names it knows, the error it
raises, the node it adds to pygeofilter's, and the depth limit.

``api.cql2_read`` reads ``filter=`` (``filter-lang=cql2-text``, the default) with the ``cql2`` library into
pygeofilter's node classes (``pygeofilter.ast``, ``pygeofilter.values``) plus ``Temporal`` for the temporal
functions (pygeofilter has no node for ``T_INTERSECTS``); ``api.cql2_mask`` evaluates that tree. What is
read: ``AND``, ``OR``, ``NOT``, parentheses; comparisons between properties, literals and arithmetic
(``+ - * /``); ``[NOT] LIKE``, ``[NOT] BETWEEN``, ``[NOT] IN (...)``, ``IS [NOT] NULL``; ``CASEI(...)`` and
``ACCENTI(...)``; strings (a quote inside doubled or backslashed), numbers, ``TRUE``/``FALSE``,
``DATE('YYYY-MM-DD')``, ``TIMESTAMP('YYYY-MM-DDThh:mm:ss[.f]Z')``, ``INTERVAL(start, end)`` (each a date, a
timestamp or ``'..'``); the spatial functions (``SPATIAL``) on WKT geometries or ``BBOX(W, S, E, N)``, and the
temporal functions (``TEMPORAL``). Any other function is refused by name. Coordinates are CRS84 (longitude,
latitude); the gate refuses another ``filter-crs``.

``CqlError`` says what was wrong and where (a character position, from 1). The hand-written reader that
first read this grammar (pygeofilter 0.4's own ``cql2_text`` parser reads an older draft) is kept in
``tests/cql2_text_oracle.py`` as the oracle the library's reading is tested against.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pygeofilter import ast

KEYWORDS = {"AND", "OR", "NOT", "LIKE", "BETWEEN", "IN", "IS", "NULL", "TRUE", "FALSE"}
SPATIAL = {"S_INTERSECTS": ast.GeometryIntersects, "S_DISJOINT": ast.GeometryDisjoint,
           "S_CONTAINS": ast.GeometryContains, "S_WITHIN": ast.GeometryWithin, "S_TOUCHES": ast.GeometryTouches,
           "S_CROSSES": ast.GeometryCrosses, "S_OVERLAPS": ast.GeometryOverlaps, "S_EQUALS": ast.GeometryEquals}
TEMPORAL = ("T_AFTER", "T_BEFORE", "T_CONTAINS", "T_DISJOINT", "T_DURING", "T_EQUALS", "T_FINISHEDBY",
            "T_FINISHES", "T_INTERSECTS", "T_MEETS", "T_METBY", "T_OVERLAPPEDBY", "T_OVERLAPS", "T_STARTEDBY",
            "T_STARTS")
SCALAR_FUNCTIONS = ("CASEI", "ACCENTI")
LITERAL_FUNCTIONS = ("DATE", "TIMESTAMP", "INTERVAL", "BBOX")
FUNCTIONS = (*SPATIAL, *TEMPORAL, *SCALAR_FUNCTIONS, *LITERAL_FUNCTIONS)
GEOMETRY_TYPES = ("POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON",
                  "GEOMETRYCOLLECTION")
COMPARISONS = {"=": ast.Equal, "<>": ast.NotEqual, "!=": ast.NotEqual, "<": ast.LessThan, "<=": ast.LessEqual,
               ">": ast.GreaterThan, ">=": ast.GreaterEqual}
ARITHMETIC = {"+": ast.Add, "-": ast.Sub, "*": ast.Mul, "/": ast.Div}
MAX_DEPTH = 64  # parentheses nested at most (each level is a few Python frames)
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
TIMESTAMP_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", re.IGNORECASE)


class CqlError(ValueError):
    """CQL2 text that cannot be read: the message says what was expected and where."""


@dataclass
class Temporal(ast.Node):
    """A temporal function ``name`` (one of ``TEMPORAL``) of two instants or intervals."""

    name: str
    lhs: Any
    rhs: Any

    def get_sub_nodes(self) -> list[Any]:
        return [self.lhs, self.rhs]


def depth(tree: Any) -> int:
    """How deep ``tree`` is (nodes on its longest path from the root), counted without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        subs = node.get_sub_nodes() if isinstance(node, ast.Node) else node if isinstance(node, list) else []
        stack.extend((sub, level + 1) for sub in subs or [])
    return deepest


def shallow(tree: Any) -> Any:
    """``tree``, or CqlError when it is more than ``MAX_DEPTH`` deep (pygeoapi writes a tree's repr, by
    recursion, into its log: a tree of 1,500 ANDs made a 500)."""
    if depth(tree) > MAX_DEPTH:
        raise CqlError(f"conditions nested more than {MAX_DEPTH} deep; expected at most {MAX_DEPTH}")
    return tree
