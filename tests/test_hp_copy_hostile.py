"""Cases put through COPY on the real PostGIS (more than ``COPY_ABOVE`` at once: ``add_rows`` straight into
the table, ``put_rows`` through a temporary table and one upsert) read back exactly as given, whatever a
user's text holds: quotes, tabs, backslashes, newlines, COPY's own markers (``\\N``, ``\\.`` alone on a
line), the empty text beside NULL, non-ASCII; and whatever the floats are (NaN, infinities, -0.0,
subnormals). Hypothesis draws them; PostgreSQL's text cannot hold U+0000, so it is never drawn."""
from __future__ import annotations

import itertools
import math
import struct
from typing import Any

import shapely
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from layers.store import cases
from layers.store.open import open_store

HOSTILE = ["", "\\.", "a\n\\.\nb", "\\N", "NULL", '"', '""', "\t", "\r\n", "\\", "é ü ß 山 😀", ",;|", " lead", "\n"]
TEXTS = st.one_of(st.sampled_from(HOSTILE), st.text(st.characters(blacklist_characters="\x00",
                                                                  blacklist_categories=("Cs",)), max_size=12))
N = cases.COPY_ABOVE + 3
_batch = itertools.count()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return struct.pack("<d", a) == struct.pack("<d", b) or (math.isnan(a) and math.isnan(b))
    return bool(a == b) and type(a) is type(b)


@hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.one_of(st.none(), TEXTS), min_size=1, max_size=20),
       floats=st.lists(st.one_of(st.none(), st.floats()), min_size=1, max_size=10), upsert=st.booleans())
def test_hostile_values_round_trip_through_copy(pg_url: str, texts: list[str | None], floats: list[float | None],
                                                upsert: bool) -> None:
    batch = next(_batch)
    wkb = shapely.Point(-1.5, 5.5).wkb
    rows = [(f"HG-WATER-100/{batch:04d}-{i:06d}", "HG-WATER-100", "2", "mining_sites", f"S{i}",
             texts[i % len(texts)], texts[(i + 1) % len(texts)], "new", texts[(i + 2) % len(texts)], None,
             texts[(i + 3) % len(texts)] or "", bool(i % 2), texts[(i + 4) % len(texts)],
             floats[i % len(floats)], floats[(i + 1) % len(floats)], floats[(i + 2) % len(floats)],
             None if i % 7 == 0 else wkb, "fp", None, "2026-11-28T20:00:00+00:00", "2026-11-28T20:00:00+00:00",
             1, None if i % 3 == 0 else 2) for i in range(N)]
    with cases.writing(open_store(pg_url)) as tables:
        (tables.put_rows if upsert else tables.add_rows)(rows)
    with cases.reading(open_store(pg_url)) as tables:
        back = [tuple(vars(c).values()) for c in tables.many([str(r[0]) for r in rows])]
    assert len(back) == len(rows)
    for put, got in zip(sorted(rows), back):
        bad = [(name, a, b) for name, a, b in zip(cases.CASE_COLUMNS, put, got) if not _same(a, b)]
        assert not bad, bad
