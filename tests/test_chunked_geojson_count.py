"""Issue 13: a chunked check no longer counts the subject file first (``count_records``: one more
whole GDAL pass, 0.83 s per 300,000 GeoJSON points) only to learn whether it is empty: the first
chunk tells (an empty GeoJSON or GeoPackage layer is one empty chunk, an empty GeoParquet none), and
only an empty first chunk is counted. The results are the whole-file run's, empty files included.
Fails before: the count ran on every chunked check."""
from __future__ import annotations

from pathlib import Path

import pytest

from layers.io import chunked
from services import chunked_check
from tests.test_check_chunked import RULES, _assert_same, _others, _run, _sites, _write


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files ``count_records`` was asked about (the real count runs)."""
    asked: list[str] = []

    def counted(path: Path) -> int:
        asked.append(Path(path).name)
        return chunked.count_records(path)

    monkeypatch.setattr(chunked_check, "count_records", counted)
    return asked


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".parquet"])
def test_a_chunked_check_reads_the_file_without_counting_it(tmp_path: Path, counts: list[str], suffix: str) -> None:
    sites, _ = _sites()
    files = [("mining_sites", _write(sites, tmp_path / f"mining_sites{suffix}")), *_others(tmp_path)]
    whole = _run(tmp_path, files, 0)
    _assert_same(whole, _run(tmp_path, files, 4), tmp_path)
    assert len(whole.evaluation.violations) > 0
    assert counts == []


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".parquet"])
def test_an_empty_file_is_checked_as_a_whole_file_run_checks_it(tmp_path: Path, counts: list[str], suffix: str) -> None:
    sites, _ = _sites()
    files = [("mining_sites", _write(sites.iloc[:0], tmp_path / f"mining_sites{suffix}")), *_others(tmp_path)]
    whole = _run(tmp_path, files, 0)
    assert whole.evaluation.summaries[0].notes == ("layer 'mining_sites' is empty: nothing to check",)
    _assert_same(whole, _run(tmp_path, files, 2, only=RULES), tmp_path)
    assert counts == ([] if suffix == ".parquet" else [f"mining_sites{suffix}"])  # GeoParquet: no chunk at all
