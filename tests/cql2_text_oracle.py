"""The hand-written reader of CQL2 text (OGC 21-065r2, the BNF of its annex B) that the partner API used
before ``api.cql2_read`` (the ``cql2`` library): kept here as the independent oracle that
``tests/test_api_cql2_read.py`` checks the library's reading against (same trees, same refusals).

It builds the same pygeofilter nodes as ``api.cql2_read`` (``api.cql2_text`` holds the shared names).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

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
    SCALAR_FUNCTIONS,
    SPATIAL,
    TEMPORAL,
    TIMESTAMP_RE,
    CqlError,
    Temporal,
    shallow,
)

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)
  | (?P<string>')
  | (?P<quoted>"[^"]*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_:.]*)
  | (?P<op><>|!=|<=|>=|[=<>+\-*/(),])
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, quoted, name, op, wkt, end
    text: str
    value: Any
    at: int  # character position, from 0


def _string(text: str, start: int) -> tuple[str, int]:
    """The string literal opening at ``start`` (a quote doubled or backslashed inside) and where it ends."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        if text[i] == "'" and text[i + 1:i + 2] == "'" or text[i] == "\\" and text[i + 1:i + 2] == "'":
            out.append("'")
            i += 2
        elif text[i] == "'":
            return "".join(out), i + 1
        else:
            out.append(text[i])
            i += 1
    raise CqlError(f"a string opened at character {start + 1} is not closed; expected a closing quote (')")


def _wkt(text: str, start: int, end: int) -> tuple[str, int]:
    """The WKT geometry whose type name spans ``start:end``: to its balanced closing parenthesis or EMPTY."""
    m = re.compile(r"\s*(ZM|Z|M)?\s*(EMPTY\b|\()", re.IGNORECASE).match(text, end)
    if m is None:
        raise CqlError(f"{text[start:end]} at character {start + 1}: expected its coordinates in parentheses"
                       " (WKT, e.g. POINT(-1.95 5.30)) or EMPTY")
    if m.group(2).upper() == "EMPTY":
        return text[start:m.end()], m.end()
    depth, i = 0, m.end() - 1
    while i < len(text):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        i += 1
        if depth == 0:
            return text[start:i], i
    raise CqlError(f"the {text[start:end].upper()} at character {start + 1} is not closed (expected ')')")


def tokens(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an ``end`` token."""
    out: list[Token] = []
    i = 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None:
            raise CqlError(f"unexpected character {text[i]!r} at character {i + 1}")
        kind = m.lastgroup or ""
        if kind == "string":
            value, end = _string(text, i)
            out.append(Token("string", text[i:end], value, i))
            i = end
            continue
        if kind == "name" and m.group().upper() in GEOMETRY_TYPES:
            wkt, end = _wkt(text, i, m.end())
            out.append(Token("wkt", wkt, wkt, i))
            i = end
            continue
        if kind == "number":
            number = m.group()
            out.append(Token(kind, number, float(number) if re.search(r"[.eE]", number) else int(number), i))
        elif kind == "quoted":
            out.append(Token(kind, m.group(), m.group()[1:-1], i))
        elif kind != "space":
            out.append(Token(kind, m.group(), m.group(), i))
        i = m.end()
    out.append(Token("end", "", None, len(text)))
    return out


def _instant(text: str, what: str, at: int) -> date | datetime:
    """A DATE's or TIMESTAMP's text as a date or an aware datetime (UTC)."""
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
        raise CqlError(f"{what}({text!r}) at character {at + 1}: not a date; expected {expected}"
                       " (RFC 3339)") from None


def _balanced(combine: Any, nodes: list[Any]) -> Any:
    """``a AND b AND c ...`` (or OR) as a balanced tree: a chain of n conditions is log2(n) deep, not n."""
    if len(nodes) == 1:
        return nodes[0]
    half = len(nodes) // 2
    return combine(_balanced(combine, nodes[:half]), _balanced(combine, nodes[half:]))


class _Reader:
    """One pass over the tokens of one text (see ``parse``)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokens(text)
        self.i = 0
        self.tried: dict[int, tuple[Any, int] | None] = {}  # "(" at a token: the condition it opens, or None
        depth = 0
        for tok in self.tokens:
            depth += {"(": 1, ")": -1}.get(tok.text, 0) if tok.kind == "op" else 0
            if depth > MAX_DEPTH:
                raise CqlError(f"parentheses nested more than {MAX_DEPTH} deep at character {tok.at + 1};"
                               f" expected at most {MAX_DEPTH}")

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _word(self, offset: int = 0) -> str:
        tok = self.tokens[min(self.i + offset, len(self.tokens) - 1)]
        return tok.text.upper() if tok.kind == "name" else ""

    def _is(self, text: str, offset: int = 0) -> bool:
        tok = self.tokens[min(self.i + offset, len(self.tokens) - 1)]
        return tok.kind == "op" and tok.text == text

    def _fail(self, expected: str) -> CqlError:
        tok = self.tok
        got = "the end of the text" if tok.kind == "end" else repr(tok.text)
        return CqlError(f"{got} at character {tok.at + 1}: expected {expected}")

    def _take(self, op: str) -> None:
        if not self._is(op):
            raise self._fail(repr(op))
        self.i += 1

    def read(self) -> Any:
        node = self.condition()
        if self.tok.kind != "end":
            raise self._fail("AND, OR or the end of the filter")
        return node

    # ------------------------------------------------------------ conditions
    def condition(self) -> Any:
        terms = [self.term()]
        while self._word() == "OR":
            self.i += 1
            terms.append(self.term())
        return _balanced(ast.Or, terms)

    def term(self) -> Any:
        factors = [self.factor()]
        while self._word() == "AND":
            self.i += 1
            factors.append(self.factor())
        return _balanced(ast.And, factors)

    def factor(self) -> Any:
        if self._word() == "NOT":
            self.i += 1
            return ast.Not(self.factor())
        return self.primary()

    def primary(self) -> Any:
        if self._is("("):  # a condition in parentheses, or an expression that starts a comparison
            start = self.i
            if start not in self.tried:  # (each start once: nested parentheses cost no more than once each)
                self.i += 1
                try:
                    node = self.condition()
                    self._take(")")
                    ends = not (self.tok.kind == "op" and self.tok.text not in (")", ",")) and self._word() not in (
                        "LIKE", "BETWEEN", "IN", "IS", "NOT")
                    self.tried[start] = (node, self.i) if ends else None
                except CqlError:
                    self.tried[start] = None
            found = self.tried[start]
            if found is not None:
                self.i = found[1]
                return found[0]
            self.i = start
        word = self._word()
        if word in SPATIAL and self._is("(", 1):
            self.i += 2
            lhs = self.expression()
            self._take(",")
            rhs = self.expression()
            self._take(")")
            return SPATIAL[word](lhs, rhs)
        if word in TEMPORAL and self._is("(", 1):
            self.i += 2
            lhs = self.expression()
            self._take(",")
            rhs = self.expression()
            self._take(")")
            return Temporal(word, lhs, rhs)
        if word in ("TRUE", "FALSE") and not self._comparison_follows(1):
            self.i += 1
            return ast.Include(word == "FALSE")
        return self.predicate()

    def _comparison_follows(self, offset: int) -> bool:
        tok = self.tokens[min(self.i + offset, len(self.tokens) - 1)]
        return (tok.kind == "op" and tok.text in (*COMPARISONS, *ARITHMETIC)) or self._word(offset) in (
            "LIKE", "BETWEEN", "IN", "IS", "NOT")

    def predicate(self) -> Any:
        lhs = self.expression()
        if self.tok.kind == "op" and self.tok.text in COMPARISONS:
            op = COMPARISONS[self.tok.text]
            self.i += 1
            return op(lhs, self.expression())
        negated = self._word() == "NOT"
        if negated:
            self.i += 1
        word = self._word()
        if word == "LIKE":
            self.i += 1
            pattern = self.expression()
            if not isinstance(pattern, str) and not (isinstance(pattern, ast.Function)
                                                     and pattern.name in ("casei", "accenti")):
                raise CqlError("LIKE: expected a string pattern, e.g. name LIKE 'Al%'")
            return ast.Like(lhs, pattern, nocase=False, wildcard="%", singlechar="_", escapechar="\\", not_=negated)
        if word == "BETWEEN":
            self.i += 1
            low = self.expression()
            if self._word() != "AND":
                raise self._fail("AND (BETWEEN low AND high)")
            self.i += 1
            return ast.Between(lhs, low, self.expression(), negated)
        if word == "IN":
            self.i += 1
            self._take("(")
            options = [self.expression()]
            while self._is(","):
                self.i += 1
                options.append(self.expression())
            self._take(")")
            return ast.In(lhs, options, negated)
        if word == "IS" and not negated:
            self.i += 1
            not_ = self._word() == "NOT"
            self.i += not_
            if self._word() != "NULL":
                raise self._fail("NULL (IS NULL or IS NOT NULL)")
            self.i += 1
            return ast.IsNull(lhs, not_)
        raise self._fail("a comparison (=, <>, <, <=, >, >=), LIKE, BETWEEN, IN or IS NULL" if not negated
                         else "LIKE, BETWEEN or IN after NOT")

    # ------------------------------------------------------------ expressions
    def expression(self) -> Any:
        node = self.product()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            op = ARITHMETIC[self.tok.text]
            self.i += 1
            node = op(node, self.product())
        return node

    def product(self) -> Any:
        node = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/"):
            op = ARITHMETIC[self.tok.text]
            self.i += 1
            node = op(node, self.unary())
        return node

    def unary(self) -> Any:
        if self._is("-"):
            self.i += 1
            node = self.unary()
            return -node if isinstance(node, (int, float)) else ast.Mul(-1, node)
        if self._is("+"):
            self.i += 1
            return self.unary()
        return self.atom()

    def atom(self) -> Any:
        tok = self.tok
        if tok.kind in ("number", "string"):
            self.i += 1
            return tok.value
        if tok.kind == "wkt":
            self.i += 1
            try:
                geometry = shapely.from_wkt(tok.value)
            except shapely.errors.ShapelyError as exc:
                raise CqlError(f"{tok.value} at character {tok.at + 1}: not a WKT geometry ({exc});"
                               " expected e.g. POLYGON((-2 5, -1 5, -1 6, -2 5))") from None
            if geometry.is_empty:
                raise CqlError(f"{tok.value} at character {tok.at + 1}: an empty geometry; expected coordinates")
            return values.Geometry(shapely.geometry.mapping(geometry))
        if tok.kind == "quoted":
            self.i += 1
            return ast.Attribute(tok.value)
        if self._is("("):
            self.i += 1
            node = self.expression()
            self._take(")")
            return node
        if tok.kind != "name":
            raise self._fail("a property name or a literal")
        word = tok.text.upper()
        if word in ("TRUE", "FALSE"):
            self.i += 1
            return word == "TRUE"
        if word in KEYWORDS:
            raise self._fail("a property name or a literal")
        if not self._is("(", 1):
            self.i += 1
            return ast.Attribute(tok.text)
        self.i += 2
        if word in ("DATE", "TIMESTAMP"):
            text = self._literal_text(word)
            self._take(")")
            return _instant(text, word, tok.at)
        if word == "INTERVAL":
            start = self._bound()
            self._take(",")
            end = self._bound()
            self._take(")")
            return values.Interval(start, end)
        if word == "BBOX":
            numbers = [self._number()]
            while self._is(","):
                self.i += 1
                numbers.append(self._number())
            self._take(")")
            if len(numbers) not in (4, 6):
                raise CqlError(f"BBOX at character {tok.at + 1}: {len(numbers)} numbers; expected 4 (W, S, E, N)"
                               " or 6 (W, S, low, E, N, high)")
            west, south = numbers[0], numbers[1]
            east, north = (numbers[3], numbers[4]) if len(numbers) == 6 else (numbers[2], numbers[3])
            return values.Envelope(west, east, south, north)
        if word in SCALAR_FUNCTIONS:
            argument = self.expression()
            self._take(")")
            return ast.Function(word.lower(), [argument])
        raise CqlError(f"unknown function {tok.text!r} at character {tok.at + 1}; expected one of"
                       f" {', '.join(FUNCTIONS)}")

    def _literal_text(self, word: str) -> str:
        if self.tok.kind != "string":
            raise self._fail(f"a quoted {'day' if word == 'DATE' else 'time'} ({word}('...'))")
        text = str(self.tok.value)
        self.i += 1
        return text

    def _bound(self) -> date | datetime | None:
        """One end of an INTERVAL: '..' (open), a quoted date or timestamp, or DATE(...)/TIMESTAMP(...)."""
        tok = self.tok
        if tok.kind == "string":
            self.i += 1
            text = str(tok.value)
            if text == "..":
                return None
            return _instant(text, "TIMESTAMP" if "T" in text.upper() else "DATE", tok.at)
        value = self.atom()
        if not isinstance(value, (date, datetime)):
            raise CqlError(f"INTERVAL at character {tok.at + 1}: expected each end a date, a timestamp or '..'")
        return value

    def _number(self) -> float:
        sign = 1.0
        if self._is("-"):
            self.i += 1
            sign = -1.0
        if self.tok.kind != "number":
            raise self._fail("a number")
        value = float(self.tok.value) * sign
        self.i += 1
        return value


def parse(text: str) -> Any:
    """The pygeofilter tree of CQL2 text ``text`` (see the module docstring).

    Raises
    ------
    CqlError
        The text is not CQL2 text this reader knows: the message says what was expected and where.
    """
    if not text.strip():
        raise CqlError("the filter is empty; expected a condition, e.g. miners > 10")
    return shallow(_Reader(text).read())
