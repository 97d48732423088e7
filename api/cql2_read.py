"""CQL2 text (OGC 21-065r2) read with the ``cql2`` library (Development Seed, a Rust parser of the standard's
grammar) into the pygeofilter tree ``api.cql2_mask`` evaluates: the tree the hand-written reader it replaces
built (``tests/cql2_text_oracle.py``, now the oracle of tests/test_api_cql2_read.py).

``cql2.parse_text`` reads the text; its CQL2 JSON is mapped here onto ``pygeofilter.ast`` and
``pygeofilter.values`` nodes and ``api.cql2_text.Temporal``: ``AND``/``OR`` chains as balanced trees,
numbers written without a fraction as ints, ``DATE`` a date, ``TIMESTAMP`` an aware UTC datetime, a WKT
geometry (GeoJSON in CQL2 JSON) as shapely maps it, ``BBOX`` an Envelope of its 2D corners, ``CASEI`` and
``ACCENTI`` as functions, ``x NOT LIKE/BETWEEN/IN ...`` and ``x IS NOT NULL`` as the node with ``not_``
(CQL2 JSON writes them, and ``NOT x LIKE ...``, as ``not`` of the node: ``api.cql2_mask`` gives both
the same answer, three-valued). What that reader refuses is refused here too: a function that is not
a CQL2 one this service evaluates (by name), a date that is not one, a geometry shapely does not make, a
BBOX of neither 4 nor 6 numbers, a property or a literal where a condition is expected, nesting deeper
than ``MAX_DEPTH``.

Before the text reaches ``cql2``, one pass counts its nesting: ``cql2`` 0.6.0 recurses per parenthesis,
``NOT`` and sign, and overflows the process's stack (a segmentation fault that ends the server) at about
2,000 parentheses or 4,000 ``NOT`` s; a text nested more than ``MAX_DEPTH`` parentheses (outside WKT
geometries, as that reader counts them), or more than ``MAX_NESTING`` parentheses and prefix
operators together, is refused first.

``CqlError`` says, in one line, what was expected and where (a character position, from 1).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import cql2
import shapely
from pygeofilter import ast, values

from api.cql2_text import (
    ARITHMETIC,
    COMPARISONS,
    DATE_RE,
    FUNCTIONS,
    GEOMETRY_TYPES,
    KEYWORDS,
    MAX_DEPTH,
    SPATIAL,
    TEMPORAL,
    TIMESTAMP_RE,
    CqlError,
    Temporal,
    shallow,
)

MAX_NESTING = 4 * MAX_DEPTH  # parentheses and NOT/+/- open at once (cql2 0.6.0 overflows at ~2,000)
_WORD = re.compile(r"[^\W\d][\w:.]*")  # a name, a keyword or a function (letters in any script)
_SCAN = re.compile(r"""'(?:''|\\'|[^'])*+'?|"[^"]*"?|[^\W\d][\w:.]*|\d+\.?\d*(?:[eE][+-]?\d+)?|\s+|.""",
                   re.DOTALL)  # (a string: a quote in it doubled or, as the standard's BNF allows too, backslashed)
_OPEN = r"\s*\("  # a function's opening parenthesis
_CLOSED = re.compile(r"'(?:''|\\'|[^'])*+'")
_NEGATABLE = {"like", "between", "in", "isNull"}
_CONDITIONS = {"and", "or", "not", *_NEGATABLE, *(c for c in COMPARISONS if c != "!="),
               *(s.lower() for s in SPATIAL), *(t.lower() for t in TEMPORAL)}
_KNOWN_WORDS = {*KEYWORDS, *FUNCTIONS, *GEOMETRY_TYPES, "Z", "M", "ZM", "EMPTY"}
_NO_OPERAND = {"", *"(,=<>!+-*/", *KEYWORDS - {"TRUE", "FALSE", "NULL"}}  # what AND or OR cannot follow
_FUNCTIONS_LOWER = {name.lower() for name in (*SPATIAL, *TEMPORAL)}
_SAID = {  # cql2's grammar rules (pest) in a ParseError's "expected ..." as a user reads them
    # (% and ^ are not said: cql2 reads them, this service does not)
    "EOI": "the end of the filter", "Expr": "a condition", "And": "AND", "Or": "OR", "NotFlag": "NOT",
    "Add": "'+'", "Subtract": "'-'", "Multiply": "'*'", "Divide": "'/'", "Modulo": "", "Power": "", "Eq": "'='",
    "Gt": "'>'", "GtEq": "'>='", "Lt": "'<'", "LtEq": "'<='", "NotEq": "'<>'",
    "IsNullPostfix": "IS NULL"}
_OPERAND = {"GEOMETRY", "Identifier", "Negative", "UnaryNot", "True", "False", "Null", "DECIMAL", "Double",
            "SingleQuotedString", "ExpressionInParentheses", "Array"}


def _scan(text: str) -> str:
    """``text`` with each quote written ``\\'`` inside a string written ``''`` (cql2 0.6.0 reads only the
    latter; same length, so positions hold); CqlError when ``text`` is nested too deeply for ``cql2`` (or for
    the reader's limit), or holds a string or a parenthesis that is not closed (said as
    that reader says it)."""
    out: list[str] = []
    depth, wkt_from, wkt_next, opened = 0, -1, False, []
    previous = ""
    runs = [0]  # NOT/+/- in a row at each open parenthesis (each is one more level of cql2's recursion)
    for m in _SCAN.finditer(text):
        token = m.group()
        out.append(token[0] + token[1:-1].replace("\\'", "''") + token[-1] if token.startswith("'") else token)
        if token.isspace():
            continue
        if previous == "IN" and token != "(":  # (cql2 0.6.0 reads "x IN 1" as "x IN (1)"; CQL2 has the parentheses)
            raise CqlError(f"{token!r} at character {m.start() + 1}: expected '(' (IN ('a', 'b'))")
        if token.upper() in ("AND", "OR") and previous in _NO_OPERAND:  # (cql2 reads "AND (x)" as x: a function)
            raise CqlError(f"{token!r} at character {m.start() + 1}: expected a condition before {token.upper()}")
        previous = token.upper()
        if token.startswith("'") and not _CLOSED.fullmatch(token):
            raise CqlError(f"a string opened at character {m.start() + 1} is not closed; expected a closing"
                           " quote (')")
        if token == "(":
            if wkt_next and wkt_from < 0:
                wkt_from = depth
            wkt_next = False
            depth += 1
            opened.append(m.start())
            runs.append(0)
            if wkt_from < 0 and depth > MAX_DEPTH:
                raise CqlError(f"parentheses nested more than {MAX_DEPTH} deep at character {m.start() + 1};"
                               f" expected at most {MAX_DEPTH}")
        elif token == ")":
            depth -= 1
            if opened:
                opened.pop()
            if len(runs) > 1:
                runs.pop()
            if depth <= wkt_from:
                wkt_from = -1
        elif token in ("+", "-") or token.upper() == "NOT":
            runs[-1] += 1
        else:
            runs[-1] = 0
            wkt_next = token.upper() in GEOMETRY_TYPES or (wkt_next and token.upper() in ("Z", "M", "ZM"))
        if depth + sum(runs) > MAX_NESTING:
            raise CqlError(f"parentheses and NOT or signs nested more than {MAX_NESTING} deep at character"
                           f" {m.start() + 1}; expected at most {MAX_NESTING}")
    if opened:
        raise CqlError(f"the end of the text at character {len(text) + 1}: expected ')' (the '(' at character"
                       f" {opened[-1] + 1} is not closed)")
    return "".join(out)


def _words_read_whole(text: str, expression: Any) -> None:
    """CqlError when a word of ``text`` is neither a keyword, a function, a WKT word nor a property of
    ``expression``: cql2 0.6.0 reads a keyword run into the next name as the two (``a = 1 ANDROID = 2`` as
    ``a = 1 AND ROID = 2``, ``a ISNULL`` as ``a IS NULL``), which the standard's text (and that reader)
    does not."""
    names: set[str] = set()
    stack = [expression]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("property"), str):
                names.add(node["property"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    for m in _SCAN.finditer(text):
        word = m.group()
        if _WORD.fullmatch(word) and word not in names and word.upper() not in _KNOWN_WORDS:
            raise CqlError(f"{word!r} at character {m.start() + 1}: not a keyword, a function or a property name;"
                           " expected a space between a keyword (AND, OR, NOT, IS, LIKE, BETWEEN, IN) and a name")


def _parse_error(text: str, exc: Exception) -> CqlError:
    """``cql2``'s error (pest's several lines) as one line: what is where, and what was expected."""
    said = str(exc)
    where = re.search(r"-->\s*(\d+):(\d+)", said)
    expected = re.search(r"=\s*expected (.+)", said)
    if where is None or expected is None:
        first = next((line.strip() for line in said.splitlines() if line.strip()), type(exc).__name__)
        return CqlError(f"not CQL2 text ({first}); expected e.g. miners > 10 AND S_WITHIN(geometry, BBOX(-2, 5, -1, 6))")
    line, column = int(where.group(1)), int(where.group(2))
    at = sum(len(row) + 1 for row in text.split("\n")[:line - 1]) + column
    rules = [r for r in re.split(r",\s*(?:or\s+)?|\s+or\s+", expected.group(1).strip()) if r]
    words: list[str] = []
    if _OPERAND & set(rules):
        words.append("a property name or a literal")
    for rule in rules:
        word = _SAID.get(rule, rule) if rule not in _OPERAND else ""
        if word and word not in words:
            words.append(word)
    rest = re.match(r"'(?:[^']|'')*'|\w+|\S", text[at - 1:]) if at <= len(text) else None
    got = "the end of the text" if rest is None else repr(rest.group())
    expect = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
    return CqlError(f"{got} at character {at}: expected {expect}")


def _op(node: Any) -> Any:
    """The ``op`` of a CQL2 JSON node, an S_ or T_ function's in lower case (cql2 writes ``t_metBy``)."""
    op = node.get("op") if isinstance(node, dict) else None
    return op.lower() if isinstance(op, str) and op.lower() in _FUNCTIONS_LOWER else op


def _instant(text: str, what: str, at: int) -> date | datetime:
    """A DATE's or TIMESTAMP's text, as written, as a date or an aware UTC datetime (as that reader reads it)."""
    try:
        if what == "DATE":
            if not DATE_RE.fullmatch(text):
                raise ValueError
            return date.fromisoformat(text)
        if not TIMESTAMP_RE.fullmatch(text):
            raise ValueError
        return datetime.fromisoformat(text.upper().replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        expected = "a day YYYY-MM-DD" if what == "DATE" else "a UTC time YYYY-MM-DDThh:mm:ssZ"
        raise CqlError(f"{what}({text!r}) at character {at}: not a date; expected {expected}"
                       " (RFC 3339)") from None


def _rings_closed(node: dict[str, Any]) -> None:
    """ValueError when a polygon ring of GeoJSON ``node`` does not end where it starts (WKT's readers refuse
    it; shapely's GeoJSON reader closes it)."""
    parts = [node]
    while parts:
        part = parts.pop()
        parts += part.get("geometries") or []
        kind, coordinates = part.get("type"), part.get("coordinates") or []
        polygons = [coordinates] if kind == "Polygon" else coordinates if kind == "MultiPolygon" else []
        for ring in (ring for polygon in polygons for ring in polygon):
            if ring and ring[0] != ring[-1]:
                raise ValueError(f"a ring from {ring[0]} ends at {ring[-1]}, not where it starts")


def _balanced(combine: Callable[[Any, Any], Any], nodes: list[Any]) -> Any:
    """``a AND b AND c ...`` (or OR) as a balanced tree, as that reader builds it."""
    if len(nodes) == 1:
        return nodes[0]
    half = len(nodes) // 2
    return combine(_balanced(combine, nodes[:half]), _balanced(combine, nodes[half:]))


class _Mapper:
    """One CQL2 JSON expression (``cql2``'s) onto pygeofilter nodes (see the module docstring)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.cursor = 0  # where the next literal is looked for (the JSON's pre-order is the text's order)
        self.quoted = [(m.start(), m.end()) for m in _SCAN.finditer(text) if m.group()[0] in "'\""]  # strings, names

    def _at(self, pattern: str) -> int:
        """The character position (from 1) of ``pattern``'s next match in the text (for messages)."""
        m = self._find(pattern)
        return self.cursor + 1 if m is None else m.start() + 1

    def _args(self, node: dict[str, Any], count: int) -> list[Any]:
        """The ``count`` arguments of ``node`` (an operator or a function), or CqlError."""
        args, op = node.get("args"), str(node.get("op"))
        if not isinstance(args, list) or len(args) != count:
            said = len(args) if isinstance(args, list) else 0
            raise CqlError(f"{op.upper()} at character {self._at(re.escape(op))}: {said} arguments; expected {count}")
        return args

    # ------------------------------------------------------------ conditions
    def condition(self, node: Any) -> Any:
        if isinstance(node, bool):
            return ast.Include(not node)
        op = _op(node)
        if op not in _CONDITIONS:
            if isinstance(op, str) and op.lower() not in {"casei", "accenti", *ARITHMETIC}:
                return self.value(node)  # (refused there, by name)
            raise CqlError(f"{self._shown(node)}: expected a comparison (=, <>, <, <=, >, >=), LIKE, BETWEEN, IN"
                           " or IS NULL, an S_ or T_ function, AND, OR or NOT")
        if op in ("and", "or"):
            return _balanced(ast.And if op == "and" else ast.Or, [self.condition(a) for a in node.get("args") or [None]])
        if op == "not":
            (sub,) = self._args(node, 1)
            if isinstance(sub, dict) and sub.get("op") in _NEGATABLE:
                negated = self.condition(sub)
                negated.not_ = True
                return negated
            return ast.Not(self.condition(sub))
        if op in COMPARISONS:
            lhs, rhs = self._args(node, 2)
            return COMPARISONS[op](self.value(lhs), self.value(rhs))
        if op == "like":
            lhs, pattern = (self.value(a) for a in self._args(node, 2))
            if not isinstance(pattern, str) and not (isinstance(pattern, ast.Function)
                                                     and pattern.name in ("casei", "accenti")):
                raise CqlError("LIKE: expected a string pattern, e.g. name LIKE 'Al%'")
            return ast.Like(lhs, pattern, nocase=False, wildcard="%", singlechar="_", escapechar="\\", not_=False)
        if op == "between":
            value, low, high = (self.value(a) for a in self._args(node, 3))
            return ast.Between(value, low, high, False)
        if op == "in":
            value, options = self._args(node, 2)
            if not isinstance(options, list):
                raise CqlError(f"IN at character {self._at('IN' + _OPEN)}: expected a list of values in parentheses")
            return ast.In(self.value(value), [self.value(o) for o in options], False)
        if op == "isNull":
            (value,) = self._args(node, 1)
            return ast.IsNull(self.value(value), False)
        name = op.upper()
        lhs, rhs = (self.value(a) for a in self._args(node, 2))
        return SPATIAL[name](lhs, rhs) if name in SPATIAL else Temporal(name, lhs, rhs)

    # ------------------------------------------------------------ values
    def value(self, node: Any) -> Any:
        if isinstance(node, (bool, str)):
            return node
        if isinstance(node, float | int):
            return int(node) if float(node).is_integer() and abs(node) < 2 ** 53 else float(node)
        if not isinstance(node, dict):
            raise CqlError(f"{self._shown(node)}: expected a property name or a literal")
        if "property" in node:
            return ast.Attribute(node["property"])
        if "date" in node or "timestamp" in node:
            return self.instant(node)
        if "interval" in node:
            ends, interval_at = node["interval"], self._at("INTERVAL" + _OPEN)
            if not isinstance(ends, list) or len(ends) != 2:
                raise CqlError(f"INTERVAL at character {interval_at}: expected 2 ends (start, end)")
            start, end = (self.bound(b, interval_at) for b in ends)
            return values.Interval(start, end)
        if "bbox" in node:
            if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in node["bbox"]):
                raise CqlError(f"BBOX at character {self._at('BBOX' + _OPEN)}: expected numbers (W, S, E, N)")
            numbers = [float(n) for n in node["bbox"]]
            if len(numbers) not in (4, 6):
                at = self._at("BBOX" + _OPEN)
                raise CqlError(f"BBOX at character {at}: {len(numbers)} numbers; expected 4"
                               " (W, S, E, N) or 6 (W, S, low, E, N, high)")
            west, south = numbers[0], numbers[1]
            east, north = (numbers[3], numbers[4]) if len(numbers) == 6 else (numbers[2], numbers[3])
            return values.Envelope(west, east, south, north)
        if "type" in node:
            return self.geometry(node)
        op = str(_op(node) or "")
        if op in ARITHMETIC and op != "!=":
            lhs, rhs = self._args(node, 2)
            return ARITHMETIC[op](self.value(lhs), self.value(rhs))
        if op.lower() in ("casei", "accenti"):
            (argument,) = self._args(node, 1)
            return ast.Function(op.lower(), [self.value(argument)])
        if op in _CONDITIONS:
            raise CqlError(f"{self._shown(node)} where a value is expected: expected a property name or a literal")
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_:.]*", op):
            at = self._at(re.escape(op) + _OPEN)
            raise CqlError(f"unknown function {op!r} at character {at}; expected"
                           f" one of {', '.join(FUNCTIONS)}")
        raise CqlError(f"operator {op!r} at character {self._at(re.escape(op))}: expected +, -, * or /")

    def _shown(self, node: Any) -> str:
        if isinstance(node, dict) and "property" in node:
            return f"the property {node['property']!r} at character {self._at(re.escape(node['property']))}"
        if isinstance(node, dict) and "op" in node:
            return f"{str(node['op']).upper()}(...)"
        return repr(node)

    def _find(self, pattern: str) -> re.Match[str] | None:
        """``pattern``'s next match in the text from the cursor (moved past it), not inside a string or a
        quoted name (a match that is a whole string literal is one)."""
        compiled, start = re.compile(pattern, re.IGNORECASE), self.cursor
        while (m := compiled.search(self.text, start)) is not None:
            inside = next(((a, b) for a, b in self.quoted if a <= m.start() < b), None)
            if inside is None or inside[0] == m.start() and pattern.startswith("'"):
                self.cursor = m.end()
                return m
            start = inside[1]
        return None

    def instant(self, node: dict[str, Any]) -> date | datetime:
        """A DATE or TIMESTAMP, read from the text as written (cql2 0.6.0 writes a time without a zone, or with
        a space for the T, as a UTC one: that reader refuses them)."""
        what = "DATE" if "date" in node else "TIMESTAMP"
        m = self._find(rf"{what}\s*\(\s*'([^']*)'")
        text, at = (m.group(1), m.start() + 1) if m else (str(node[what.lower()]), self.cursor + 1)
        return _instant(text, what, at)

    def bound(self, node: Any, interval_at: int) -> date | datetime | None:
        """One end of an INTERVAL: '..' (open), a quoted date or timestamp, or DATE(...)/TIMESTAMP(...)."""
        if isinstance(node, str):
            m = self._find(r"'((?:''|\\'|[^'])*)'")
            text, at = (m.group(1), m.start() + 1) if m else (node, self.cursor + 1)
            return None if text == ".." else _instant(text, "TIMESTAMP" if "T" in text.upper() else "DATE", at)
        if isinstance(node, dict) and ("date" in node or "timestamp" in node):
            return self.instant(node)
        raise CqlError(f"INTERVAL at character {interval_at}: expected each end a date, a timestamp or '..'")

    def geometry(self, node: dict[str, Any]) -> values.Geometry:
        kind = str(node.get("type", "")).upper()
        at = self._at(rf"\b{kind}\b")
        try:
            _rings_closed(node)
            geometry = shapely.geometry.shape(node)
            if not geometry.is_empty:
                shapely.from_wkt(geometry.wkt)  # (what shapely makes but GEOS refuses to read: a 2-point ring)
        except (ValueError, TypeError, shapely.errors.ShapelyError) as exc:
            raise CqlError(f"{kind} at character {at}: not a WKT geometry ({exc}); expected e.g."
                           " POLYGON((-2 5, -1 5, -1 6, -2 5))") from None
        if geometry.is_empty:
            raise CqlError(f"{kind} at character {at}: an empty geometry; expected coordinates")
        return values.Geometry(shapely.geometry.mapping(geometry))


def parse(text: str) -> Any:
    """The pygeofilter tree of CQL2 text ``text`` (see the module docstring): the
    oracle's (tests/cql2_text_oracle.py).

    Raises
    ------
    CqlError
        The text is not CQL2 text this service evaluates: the message says what was expected and where.
    """
    if not text.strip():
        raise CqlError("the filter is empty; expected a condition, e.g. miners > 10")
    readable = _scan(text)
    try:
        expression = cql2.parse_text(readable).to_json()
    except Exception as exc:  # cql2.ParseError, and plain Exception for some geometries (POINT EMPTY)
        raise _parse_error(text, exc) from None
    tree = _Mapper(text).condition(expression)
    _words_read_whole(text, expression)
    return shallow(tree)
