"""Words for messages: counts with the right number and names as a list in words, not Python's.

One home for how HgWatch says "1 site", "2 sites" and "a, b and c" to a user (CLI, pages, reports).
English only, as every message of the product is.
"""
from __future__ import annotations

from collections.abc import Iterable

# nouns whose plural is not the noun and an "s"
_IRREGULAR = {"body": "bodies", "water body": "water bodies", "casualty": "casualties", "entity": "entities",
              "facility": "facilities", "locality": "localities", "property": "properties", "query": "queries",
              "person": "people", "child": "children", "analysis": "analyses", "match": "matches",
              "mercury": "mercury", "tailings": "tailings", "data": "data", "info": "info"}


def plural(word: str, count: int) -> str:
    """``word`` as said of ``count`` things: ``plural("site", 1)`` is "site", ``plural("site", 2)`` "sites".

    Zero takes the plural, as in English ("0 sites").
    """
    if count == 1:
        return word
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    head, _, last = word.rpartition(" ")
    if head and last in _IRREGULAR:
        return f"{head} {_IRREGULAR[last]}"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return f"{word}es"
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return f"{word[:-1]}ies"
    return f"{word}s"


def counted(count: int, word: str) -> str:
    """A count and its noun, with thousands separated: "1 site", "12,480 sites", "0 cases"."""
    return f"{count:,} {plural(word, count)}"


def listed(items: Iterable[object], last: str = "and") -> str:
    """Names for a message, not a Python list: "a", "a and b", "a, b and c" ("" for none).

    ``last`` joins the last two ("or" for alternatives).
    """
    names = [str(i) for i in items]
    if len(names) <= 1:
        return names[0] if names else ""
    return f"{', '.join(names[:-1])} {last} {names[-1]}"


def one_of(items: Iterable[object]) -> str:
    """The choices a value may take, for "expected one of: a, b, c" (in the order given)."""
    return f"one of: {', '.join(str(i) for i in items)}"


def agree(count: int, one: str, many: str) -> str:
    """The word that agrees with ``count``: ``agree(1, "was", "were")`` is "was", else "were"."""
    return one if count == 1 else many
