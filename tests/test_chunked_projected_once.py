"""A projected file read in chunks is read once (HR's finding B2): its first chunk's coordinates, in metres,
never fit longitude/latitude, and ``Tally.doubtful`` took that for a reason to judge the whole file at once
on a second read (200k UTM points in chunks of 50k: 2.54 s and 8 pages against 0.7 s and 4). For a
projected CRS only a value within degree range may refuse the file early (``Placing.doubtful``)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely

from layers.io import chunked
from layers.io.chunked import read_chunks


def _utm_sites(path: Path, n: int, degrees_at: int | None = None) -> Path:
    x, y = 600_000.0 + np.arange(n) * 10.0, 700_000.0 + np.arange(n) * 5.0  # Ghana in UTM 30N, metres
    if degrees_at is not None:
        x[degrees_at], y[degrees_at] = -1.6, 6.7  # a row in degrees: refused in any chunk
    gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(n)]}, geometry=shapely.points(x, y),
                     crs="EPSG:32630").to_parquet(path)
    return path


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the file's batches are read from its start (the real reader, counted)."""
    count: list[int] = []
    real = chunked._parquet_batches

    def counted(*args: Any, **kwargs: Any) -> Iterator[gpd.GeoDataFrame]:
        count.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(chunked, "_parquet_batches", counted)
    return count


def test_a_projected_file_is_read_once_and_placed(tmp_path: Path, reads: list[int]) -> None:
    path = _utm_sites(tmp_path / "sites.parquet", 200)
    parts = [gdf for gdf, _ in read_chunks(path, 50)]
    assert len(reads) == 1 and [len(p) for p in parts] == [50, 50, 50, 50]
    lon, lat = parts[0].geometry.x.iloc[0], parts[0].geometry.y.iloc[0]
    assert -2.2 < lon < -1.0 and 6.0 < lat < 6.5  # in EPSG:4326 now


def test_a_row_in_degrees_in_the_first_chunk_is_still_refused_before_the_rest_is_worked(
        tmp_path: Path, reads: list[int]) -> None:
    path = _utm_sites(tmp_path / "sites.parquet", 200, degrees_at=3)
    with pytest.raises(Exception, match="look like|degrees|longitude"):
        list(read_chunks(path, 50))
    assert len(reads) == 2  # judged on one more read of the whole file, as before
