"""``violation_id_array`` continues a copy of the prefix's SHA-256 for each id (issue 13's check
speed): the ids must stay those of ``violation_id``, which hashes prefix and id together, for every
kind of id text (an equivalence test for a rewrite: it passes on the code before it too)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.rules.violations import violation_id, violation_id_array

ODD = ["", " ", "S1", "S-001", "ñandú-7", "矿-12", "🙂", "x" * 55, "y" * 56, "z" * 64, "w" * 200, "a\x1fb", "\x00"]


@pytest.mark.parametrize("rule, version, layer", [("HG-WATER-100", 1, "mining_sites"),
                                                   ("HG-ÉAU-1", "3", "tailings"), ("R", 10, "x" * 70)])
def test_every_id_is_violation_id(rule: str, version: int | str, layer: str) -> None:
    got = violation_id_array(rule, version, layer, ODD).to_pylist()
    assert got == [violation_id(rule, version, layer, s) for s in ODD]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(st.characters(exclude_categories=["Cs"]), max_size=80), max_size=40))
def test_any_texts(ids: list[str]) -> None:
    assert violation_id_array("HG-WATER-100", 2, "mining_sites", ids).to_pylist() == \
        [violation_id("HG-WATER-100", 2, "mining_sites", s) for s in ids]


def test_no_ids_and_an_id_that_is_not_text() -> None:
    assert violation_id_array("R", 1, "mining_sites", []).to_pylist() == []
    with pytest.raises(TypeError):  # as the concatenation raised it
        violation_id_array("R", 1, "mining_sites", ["S1", float("nan")])  # type: ignore[list-item]
