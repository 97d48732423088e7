"""``layers.io.validate.repeated`` against counting the texts in Python (the oracle).

Its keys are built from a text's length and first and last 8 bytes, and its buckets are sized to the
candidates left after each pass (issue 13, H4, fifteenth session); whatever the keys, the answer must
be exact: texts that share a key (same length, same first and last 8 bytes) but differ in between are
no repeat, and no repeat is ever missed. An equivalence test: it passes on the code before it too.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.io.validate import repeated

# short and long texts, multi-byte characters, and texts that share their first and last 8 bytes
EDGES = ["", "a", "ab", "é", "x" * 7, "x" * 8, "x" * 9, "y" * 16, "y" * 17, "abcdefgh", "abcdefghi",
         "aaaaaaaaXaaaaaaaa", "aaaaaaaaYaaaaaaaa", "aaaaaaaaXYaaaaaaaa", "aaaaaaaaYXaaaaaaaa", "ééééXéééé", "ééééYéééé"]
TEXT = st.one_of(st.sampled_from(EDGES), st.text(alphabet="abé\x00z", max_size=20), st.none())


def _truth(values: list[str | None]) -> list[bool]:
    seen = Counter(v for v in values if v is not None)
    return [v is not None and seen[v] > 1 for v in values]


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXT, max_size=200), st.sampled_from([pa.string(), pa.large_string()]),
       st.integers(0, 5), st.integers(1, 3))
def test_repeated_is_exact_on_any_texts(values: list[str | None], kind: pa.DataType, cut: int, chunks: int) -> None:
    array = pa.array(values, type=kind).slice(min(cut, len(values)))  # a slice: offsets that do not start at 0
    kept = values[min(cut, len(values)):]
    assert repeated(array).tolist() == _truth(kept)
    step = max(1, len(kept) // chunks)
    parts = [array.slice(i, step) for i in range(0, len(kept), step)] or [array]
    assert repeated(pa.chunked_array(parts, type=kind)).tolist() == _truth(kept)


def test_many_texts_sharing_their_ends_are_told_apart() -> None:
    # 20,000 texts of one length with the same first and last 8 bytes: every key the same, few repeats
    values: list[str | None] = [f"prefix00{i:06d}suffix00" for i in range(20_000)]
    values[19_999] = values[5]
    got = np.flatnonzero(repeated(pa.array(values))).tolist()
    assert got == [5, 19_999]
