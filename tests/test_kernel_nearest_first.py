"""``geo.distance.geodesic.nearest_first``: per subject its nearest row, ties to the first (the lowest
target), for rows sorted by subject then target; ``np.lexsort``'s order, which the kernel used before, is
kept here as the oracle."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.distance.geodesic import nearest_first


def _oracle(subject: np.ndarray, target: np.ndarray, dist: np.ndarray) -> np.ndarray:
    order = np.lexsort((target, dist, subject))
    return order[np.r_[True, subject[order][1:] != subject[order][:-1]]] if order.size else order


def test_known_answers() -> None:
    subject = np.array([0, 2, 2, 2, 5, 7, 7], dtype=np.int64)
    target = np.array([3, 0, 1, 4, 2, 1, 9], dtype=np.int64)
    dist = np.array([7.0, 5.0, 2.5, 2.5, 0.0, 0.0, -0.0])
    # subject 2: targets 1 and 4 both at 2.5 m, the lower (row 2) wins; subject 7: 0 and -0 are a tie
    assert nearest_first(subject, dist).tolist() == [0, 2, 4, 5] == _oracle(subject, target, dist).tolist()
    assert nearest_first(np.array([4, 6], dtype=np.int64), np.array([1.0, 2.0])).tolist() == [0, 1]
    assert nearest_first(np.array([], dtype=np.int64), np.array([])).tolist() == []


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 6), st.sampled_from([0.0, -0.0, 1.0, 2.5, 1e-9, 100.0])),
                max_size=60))
def test_the_rows_lexsort_gives(rows: list[tuple[int, int, float]]) -> None:
    pairs = sorted({(s, t): d for s, t, d in rows}.items())  # one row per (subject, target), sorted as the kernel's
    subject = np.array([s for (s, _), _ in pairs], dtype=np.int64)
    target = np.array([t for (_, t), _ in pairs], dtype=np.int64)
    dist = np.array([d for _, d in pairs], dtype=float)
    assert nearest_first(subject, dist).tolist() == _oracle(subject, target, dist).tolist()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_many_rows_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pairs = np.unique(rng.integers(0, 3000, size=(20_000, 2)), axis=0)  # sorted by subject, then target
    subject, target = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    dist = rng.integers(0, 5, size=subject.size).astype(float) * 12.5  # many ties
    assert nearest_first(subject, dist).tolist() == _oracle(subject, target, dist).tolist()
