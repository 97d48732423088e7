"""geo.words: counts with the right number, lists in words (known answers and invariants)."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from geo.words import agree, counted, listed, one_of, plural


def test_plural_known_answers() -> None:
    assert plural("site", 1) == "site"
    assert plural("site", 0) == "sites"
    assert plural("site", 2) == "sites"
    assert plural("case", 3) == "cases"
    assert plural("water body", 2) == "water bodies"
    assert plural("body", 2) == "bodies"
    assert plural("day", 2) == "days"
    assert plural("match", 2) == "matches"
    assert plural("box", 5) == "boxes"
    assert plural("mercury", 4) == "mercury"
    assert plural("violation", -1) == "violations"


def test_counted_separates_thousands() -> None:
    assert counted(1, "site") == "1 site"
    assert counted(0, "case") == "0 cases"
    assert counted(12480, "site") == "12,480 sites"
    assert counted(1_000_000, "water body") == "1,000,000 water bodies"


def test_listed_known_answers() -> None:
    assert listed([]) == ""
    assert listed(["a"]) == "a"
    assert listed(["a", "b"]) == "a and b"
    assert listed(["a", "b", "c"]) == "a, b and c"
    assert listed(["x", "y"], "or") == "x or y"
    assert listed([1, 2]) == "1 and 2"


@given(st.lists(st.text(alphabet="abcdefghij", min_size=1, max_size=6), max_size=8))
def test_listed_keeps_every_name_in_order(names: list[str]) -> None:
    said = listed(names)
    position = 0
    for name in names:  # each name appears, in the order given, and no bracket or quote is added
        found = said.find(name, position)
        assert found >= position
        position = found + len(name)
    assert "[" not in said and "'" not in said


@given(st.integers(min_value=-10**9, max_value=10**9))
def test_only_one_is_singular(count: int) -> None:
    assert (plural("site", count) == "site") == (count == 1)


def test_one_of_known_answers() -> None:
    assert one_of(["active", "inactive"]) == "one of: active, inactive"
    assert one_of(sorted({"b", "a"})) == "one of: a, b"
    assert one_of([]) == "one of: "


def test_agree_known_answers() -> None:
    assert agree(1, "was", "were") == "was"
    assert agree(0, "was", "were") == "were"
    assert agree(2, "it is", "each is") == "each is"
