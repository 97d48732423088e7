"""The WKT of a violation file's sites takes one GEOS pass for their coordinates, a third of the time.

``layers.io.grid.grid_wkt`` read the coordinates of points with ``get_coordinates(return_index=True)``:
on the sites of a violation file, a scattered tenth of 1e6 points, 48 ms for 144,430 of them, where their
bounds (a point's bounds are its x and y, bit for bit; an empty point's are NaN) take 15 ms. Here the real
shapely functions are wrapped to count the passes, and the text is compared with the old export's, GEOS
putting the points on the grid and printing them (the oracle of ``tests/test_export_grid_wkt.py``).
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import shapely

from layers.io import grid
from tests import shapely_calls

N = 1_000


def old_wkt(geoms: np.ndarray) -> list[str | None]:
    """The old export WKT: GEOS puts the geometry on the grid, then prints it."""
    return list(shapely.to_wkt(shapely.set_precision(geoms, 1e-7, mode="pointwise"), rounding_precision=7, trim=True))


def counting(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count the calls of the shapely functions that read coordinates on ``N`` geometries."""
    return shapely_calls.counting(monkeypatch, ("get_coordinates", "bounds", "get_x", "get_y"), N)


def sites() -> np.ndarray:
    rng = np.random.default_rng(13)
    xy = np.column_stack([rng.uniform(-180, 180, N), rng.uniform(-90, 90, N)])
    xy[:4] = [[-0.0, 0.0], [0.5, -0.0], [1.5e-5, 1e-7], [-179.99999995, 89.99999995]]  # signs, GEOS's own forms
    return np.asarray(shapely.points(xy), dtype=object)


def test_points_take_one_pass_for_their_coordinates(monkeypatch: pytest.MonkeyPatch) -> None:
    geoms = sites()
    expected = old_wkt(geoms)
    calls = counting(monkeypatch)
    assert grid.grid_wkt(geoms).to_pylist() == expected
    assert dict(calls) == {"bounds": 1}  # before: get_coordinates


@pytest.mark.parametrize("odd", [shapely.Point(), shapely.Point(math.nan, 1.0), shapely.Point(1.0, math.inf), None])
def test_points_with_an_empty_or_unfinished_one_are_written_by_shapely(odd: shapely.Geometry | None) -> None:
    geoms = sites()
    geoms[7] = odd
    assert grid.grid_wkt(geoms).to_pylist() == old_wkt(geoms)


def test_lines_still_read_with_their_coordinates(monkeypatch: pytest.MonkeyPatch) -> None:
    ends = sites()
    geoms = np.asarray(shapely.linestrings(np.stack([shapely.get_coordinates(ends),
                                                     shapely.get_coordinates(ends[::-1])], axis=1)), dtype=object)
    expected = old_wkt(geoms)
    calls = counting(monkeypatch)
    assert grid.grid_wkt(geoms).to_pylist() == expected
    assert dict(calls) == {"get_coordinates": 1}
