"""Each whole-column fact of a layer's geometries is computed once per read (issue 13, "nothing done twice").

A read and its validation (``load_layer``) used to compute the bounds of every geometry twice (the CRS
judgement, then ``geomcheck.checks``); for a GeoParquet of points they also took every point's type id,
emptiness and coordinate dimension with a pass of GEOS each, though the reader had just made the points
from finite 2D coordinates. Here the real shapely functions are wrapped to count the passes over the layer's
geometries, and the layer and its problems are compared with what the passes give (``geomcheck.known``
outside ``sharing()`` computes each fact itself).
"""
from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo import geomcheck
from geo.errors import InputError
from geo.rules import run_rules
from layers.catalogue import CATALOGUE
from layers.io.readers import load_layer
from services.checks import check
from settings import Settings
from tests import shapely_calls

N = 3000
WATCHED = ("bounds", "get_type_id", "is_empty", "is_missing", "get_coordinate_dimension")


def sites(n: int, *, swap: int | None = None, empty: int | None = None) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    xy = np.column_stack([rng.uniform(-2, 2, n), rng.uniform(4, 8, n)])
    if swap is not None:
        xy[swap] = [3.0, 95.0]  # latitude out of range as (lon, lat), in range as (lat, lon)
    geoms = np.asarray(shapely.points(xy), dtype=object)
    if empty is not None:
        geoms[empty] = shapely.Point()
    return gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(n)], "uses_mercury": np.ones(n, bool)},
                            geometry=geoms, crs=4326)


def counting(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count the calls of the ``WATCHED`` shapely functions on arrays of the layer's length."""
    return shapely_calls.counting(monkeypatch, WATCHED, N)


def test_geoparquet_points_read_and_validated_with_no_pass_over_their_facts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mining_sites.parquet"
    sites(N).to_parquet(path)
    calls = counting(monkeypatch)
    loaded = load_layer(path, "mining_sites")
    # before: bounds 2, get_type_id 1, is_empty 1, is_missing 1, get_coordinate_dimension 1
    assert {k: calls[k] for k in WATCHED} == dict.fromkeys(WATCHED, 0)
    assert len(loaded.gdf) == N and loaded.warnings == []
    assert shapely.equals_exact(loaded.gdf.geometry.to_numpy(), sites(N).geometry.to_numpy(), 0).all()


def test_geojson_points_each_fact_computed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mining_sites.geojson"
    sites(N).to_file(path)
    calls = counting(monkeypatch)
    loaded = load_layer(path, "mining_sites")
    # before: bounds 2 (the CRS judgement and the validation); is_missing 2: one is the WKB decoder's own
    assert dict(calls) == {"bounds": 1, "get_type_id": 1, "is_empty": 1, "is_missing": 2, "get_coordinate_dimension": 1}
    assert len(loaded.gdf) == N and loaded.warnings == []


def test_shared_facts_give_the_same_errors(tmp_path: Path) -> None:
    path = tmp_path / "mining_sites.parquet"
    sites(N, swap=5).to_parquet(path)  # a swapped point: found through the primed bounds
    with pytest.raises(InputError) as caught:
        load_layer(path, "mining_sites")
    kinds = [(p.row, p.kind, p.value) for p in caught.value.problems if p.severity == "error"]
    assert kinds == [(6, "swapped", "(3.000000, 95.000000)")]
    path = tmp_path / "mining_sites.geojson"
    sites(N, empty=9).to_file(path)  # an empty point: not the GeoParquet fast path, facts computed once
    with pytest.raises(InputError) as caught:
        load_layer(path, "mining_sites")
    kinds = [(p.row, p.kind, p.value) for p in caught.value.problems if p.severity == "error"]
    assert kinds == [(10, "geometry", None)]  # GeoJSON writes an empty point as null


def test_known_is_shared_only_for_the_same_objects() -> None:
    geoms = np.asarray(shapely.points([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]), dtype=object)
    with geomcheck.sharing():
        first = geomcheck.known(geoms)
        assert geomcheck.known(geoms.copy()) is first  # another array holding the same objects
        assert geomcheck.known(geoms[::-1].copy()) is not first  # the same objects in another order
        assert first.bounds.tolist() == [[0, 1, 0, 1], [2, 3, 2, 3], [4, 5, 4, 5]]
        geoms[1] = shapely.Point(7, 8)  # changed in place: new facts, not the old ones
        changed = geomcheck.known(geoms)
        assert changed is not first and changed.bounds.tolist()[1] == [7, 8, 7, 8]
        with pytest.raises(ValueError):  # a shared fact cannot be changed by one of its readers
            first.bounds[0, 0] = 1.0
    assert geomcheck.known(geoms) is not geomcheck.known(geoms)  # outside sharing(): nothing kept


def test_primed_points_facts_equal_computed_ones() -> None:
    coords = np.array([[0.5, -1.25], [-180.0, 90.0], [-0.0, 0.0], [1e-300, 179.9]])
    points = np.asarray(shapely.points(coords), dtype=object)
    with geomcheck.sharing():
        geomcheck.prime_points(points, coords)
        primed = geomcheck.known(points)
        fresh = geomcheck.Known(points.copy())
        assert primed.types.tolist() == fresh.types.tolist()
        assert primed.missing.tolist() == fresh.missing.tolist()
        assert primed.dims.tolist() == fresh.dims.tolist()
        assert [c.tolist() for c in primed.columns()] == [c.tolist() for c in fresh.columns()]
        assert [m.tolist() for m in primed.ranges] == [m.tolist() for m in fresh.ranges]
        assert primed.bounds.tobytes() == fresh.bounds.tobytes()
        assert coords.flags.writeable  # the caller's coordinates are left as they were
    swapped = np.array([[3.0, 95.0], [200.0, 5.0], [0.0, 0.0]])  # swapped; out of range, not swapped; fine
    points = np.asarray(shapely.points(swapped), dtype=object)
    with geomcheck.sharing():
        geomcheck.prime_points(points, swapped)
        assert [m.tolist() for m in geomcheck.known(points).ranges] == [[True, True, False], [True, False, False]]
        assert [m.tolist() for m in geomcheck.Known(points.copy()).ranges] == [[True, True, False], [True, False, False]]


def test_geoparquet_frame_made_without_copying_its_geometries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader's frame took two copies of the array of geometries (pandas' insert of the GeometryArray and
    geopandas' default copy of a plain frame): ~15-35 ms each at 1e6 sites, found by the one-thread profile."""
    from geopandas.array import GeometryArray

    from layers.io.geoparquet import read_geoparquet

    path = tmp_path / "mining_sites.parquet"
    written = sites(N)
    written.attrs = {"note": "kept"}
    written.to_parquet(path)
    copies: list[int] = []
    real = GeometryArray.copy

    def counted(self: GeometryArray, *args: Any, **kwargs: Any) -> GeometryArray:
        copies.append(len(self))
        return real(self, *args, **kwargs)
    monkeypatch.setattr(GeometryArray, "copy", counted)
    got = read_geoparquet(path)
    assert copies == []  # before: [3000, 3000]
    monkeypatch.undo()
    oracle = gpd.read_parquet(path)
    assert list(got.columns) == list(oracle.columns) and got.geometry.name == oracle.geometry.name
    assert got.crs == oracle.crs and got.attrs == oracle.attrs == {"note": "kept"}
    assert got.drop(columns="geometry").equals(oracle.drop(columns="geometry"))
    assert shapely.equals_exact(got.geometry.to_numpy(), oracle.geometry.to_numpy(), 0).all()


def test_a_block_inside_another_is_the_outer_one_and_each_thread_has_its_own() -> None:
    """``check`` opens one block around its reads and its rules; each read (``load_layer``) opens its
    own inside it: the inner block shares the outer's facts and leaves them when it ends. Another
    thread (a server's other session) has no block of this one's, and its own block ends only its own."""
    geoms = np.asarray(shapely.points([[0.0, 1.0], [2.0, 3.0]]), dtype=object)
    seen: dict[str, bool] = {}

    def other_thread() -> None:
        seen["outside"] = geomcheck.known(geoms) is not geomcheck.known(geoms)
        with geomcheck.sharing():
            seen["own block"] = geomcheck.known(geoms) is geomcheck.known(geoms) and geomcheck.known(geoms) is not outer

    with geomcheck.sharing():
        outer = geomcheck.known(geoms)
        with geomcheck.sharing():
            assert geomcheck.known(geoms) is outer  # the read's facts, seen by the rules after it
        assert geomcheck.known(geoms) is outer  # the inner block's end keeps the outer's
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
        assert geomcheck.known(geoms) is outer  # the other thread's block ended only its own
    assert seen == {"outside": True, "own block": True}
    assert geomcheck.known(geoms) is not geomcheck.known(geoms)


def test_a_check_of_geoparquet_files_takes_no_pass_over_the_sites_in_its_rules(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``check`` of files keeps the read's facts for its rules: the kernel and the rules take the sites'
    type ids, coordinates and None-or-empty mask from the GeoParquet reader's points, with no GEOS pass
    over them (before: is_missing, is_empty, get_type_id in the rules and the kernel); the violations are
    those of the rules run on the same frames outside any block."""
    frame = sites(N)
    frame.to_parquet(tmp_path / "sites.parquet")
    lats = np.arange(4.05, 8.0, 0.1)  # 40 rivers across the sites' band: about 50 of them flagged
    water = gpd.GeoDataFrame({"water_id": [f"W{i}" for i in range(len(lats))], "kind": "stream"},
                             geometry=[shapely.LineString([(-2.0, y), (2.0, y)]) for y in lats], crs=4326)
    water.to_parquet(tmp_path / "water.parquet")
    settings = Settings(workspace=tmp_path / "absent.gpkg")
    files = [("mining_sites", str(tmp_path / "sites.parquet")), ("water_bodies", str(tmp_path / "water.parquet"))]
    calls = counting(monkeypatch)
    found = check(settings, only=["HG-WATER-100"], files=files, record=False).evaluation.violations
    assert not calls
    monkeypatch.undo()
    expected = run_rules(settings.rules, {"mining_sites": frame, "water_bodies": water}, schemas=CATALOGUE,
                         only=["HG-WATER-100"]).violations
    assert len(expected) > 10
    assert found["site_id"].tolist() == expected["site_id"].tolist()
    assert found["distance_m"].tolist() == expected["distance_m"].tolist()
