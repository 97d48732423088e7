"""A chunked ``check`` of a GeoPackage subject left in WAL mode with its ``-wal`` beside it copies the
file ONCE (``layers.io.containers.shared_copies``): the look at its layers that decides whether it can
be read in chunks, the record count and the pages all read that one copy, deleted at the end; before,
the count and the pages each made their own (and the look at its layers more). The result is the
whole-file check's, the ``-wal``'s edits included. Copies are counted as ``tests/test_wal_copies.py``
counts them (the real copy function, wrapped)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from services.checks import check
from settings import Settings
from tests.test_check_chunked import _others
from tests.test_wal_copies import Copies, copies, one_layer  # noqa: F401 - the fixtures
from tests.test_wal_geopackages import program, sites  # noqa: F401 - the fixtures one_layer needs

RULE = "HG-WATER-100"


def test_a_chunked_check_of_a_geopackage_in_wal_copies_it_once(
        one_layer: Path, copies: Copies, tmp_path: Path) -> None:  # noqa: F811 - the imported fixtures
    files = [("mining_sites", str(one_layer)), *_others(tmp_path)]
    settings = Settings(workspace=tmp_path / "none.gpkg")
    chunked = check(settings, only=[RULE], files=files, record=False, chunk_rows=1)
    assert len(copies.made) == 1, copies.made
    assert copies.left() == []
    whole = check(settings, only=[RULE], files=files, record=False, chunk_rows=0)
    pd.testing.assert_frame_equal(chunked.evaluation.violations, whole.evaluation.violations, check_exact=True)
    assert chunked.evaluation.summaries == whole.evaluation.summaries
    assert chunked.evaluation.summaries[0].checked > 0
