"""Pydantic validation errors in plain words: the dotted key, what was expected, the value.

Every configuration reader (rules, factors, guidelines, exposure) reports a bad file this way:
``key 'route.retort.air.low': Input should be greater than or equal to 0; got -1``.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from pydantic import ValidationError

# pydantic names the member of a union in an error location; users never wrote these keys
_UNION_TAG = re.compile(
    r"^(int|str|bool|float|Condition|(list|dict|function-\w+|tagged-\w+)\[.*\])$")


def describe(error: Mapping[str, object], loc: Sequence[object] | None = None) -> tuple[str, str]:
    """The dotted key (of ``loc``, by default the error's own) and 'expected; got value'."""
    parts = list(error["loc"] if loc is None else loc)  # type: ignore[call-overload]
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts
                  if not (isinstance(p, str) and _UNION_TAG.match(p))).lstrip(".")
    kind = error.get("type")
    msg = {"extra_forbidden": "unknown key", "missing": "missing"}.get(
        str(kind), str(error.get("msg", "")).removeprefix("Value error, "))
    shown = "" if kind in ("missing", "extra_forbidden") or isinstance(
        error.get("input"), Mapping) else f"; got {error.get('input')!r}"  # a table: key says
    return key, f"{msg}{shown}"


def merge(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """One line 'where: problem or problem' per place, in order (a union gives several)."""
    merged: dict[str, list[str]] = {}
    for head, msg in pairs:
        merged.setdefault(head, []).append(msg)
    return [f"{head}: {' or '.join(dict.fromkeys(msgs))}" for head, msgs in merged.items()]


def error_lines(exc: ValidationError) -> list[str]:
    """Every problem of ``exc`` as "key 'a.b[0].c': expected; got value"."""
    return merge((f"key {k!r}" if k else "top level", m) for k, m in map(describe, exc.errors()))
