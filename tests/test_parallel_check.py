"""``check`` on the cores, with nothing done twice: the thread setting, the same violations for
any thread count, one streamed digest per input file, and a layer hash computed in bulk that
equals the item-by-item one (kept here as the oracle)."""
from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon

from geo.distance import _points
from geo.errors import ConfigError
from layers.io.readers import load_layer
from services.checks import check, file_digest, frame_hash
from settings import Settings
from settings.threads import parse_threads

A_M = 6_378_137.0  # WGS84 semi-major axis, metres: on the equator 1 degree of longitude is a * pi / 180


def test_thread_setting_defaults_to_every_core_and_reads_the_environment() -> None:
    assert Settings.from_env(environ={}).threads == os.cpu_count()
    assert Settings.from_env(environ={"HGWATCH_THREADS": " 3 "}).threads == 3
    assert Settings.from_env(environ={"HGWATCH_THREADS": "1"}).threads == 1
    assert Settings.from_env(environ={"HGWATCH_THREADS": ""}).threads == os.cpu_count()
    assert Settings().threads == os.cpu_count()


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_a_bad_thread_setting_names_the_variable_the_value_and_what_is_expected(value: str) -> None:
    settings = Settings.from_env(environ={"HGWATCH_THREADS": value})  # refused when used, not before
    with pytest.raises(ConfigError) as err:
        _ = settings.threads
    assert str(err.value).startswith(f"$HGWATCH_THREADS is {value!r}; expected a whole number of threads, "
                                     "at least 1")
    assert parse_threads(None) == os.cpu_count()


def _inputs(folder: Path) -> tuple[Path, Path, dict[str, float]]:
    """Sites on the equator east of meridian rivers (zones 30 and 31), as GeoJSON files, and the
    known distance of every flagged site (an arc of the equator)."""
    sites, known = [], {}
    for r, lon in enumerate((-0.3, 0.0, 0.2)):
        for k, dlon in enumerate((0.0, 0.0002, 0.0005, 0.00085, 0.002)):
            sid = f"S{r}-{k}"
            sites.append({"site_id": sid, "uses_mercury": k != 1, "geometry": Point(lon + dlon, 0.0)})
            if k != 1 and dlon < 0.0009:
                known[sid] = A_M * math.radians(dlon)
    sites.append({"site_id": "LAKE", "uses_mercury": True, "geometry": Point(0.405, 0.0)})
    known["LAKE"] = 0.0
    rivers = [{"water_id": f"W{r}", "kind": "river", "geometry": LineString([(lon, -0.01), (lon, 0.01)])}
              for r, lon in enumerate((-0.3, 0.0, 0.2))]
    rivers.append({"water_id": "L", "kind": "lake",
                   "geometry": Polygon([(0.4, -0.01), (0.41, -0.01), (0.41, 0.01), (0.4, 0.01)])})
    paths = folder / "sites.geojson", folder / "water.geojson"
    gpd.GeoDataFrame(sites, crs="EPSG:4326").to_file(paths[0])
    gpd.GeoDataFrame(rivers, crs="EPSG:4326").to_file(paths[1])
    return paths[0], paths[1], known


def test_check_gives_the_same_violations_on_any_number_of_threads(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_points, "MIN_CHUNK", 2)  # strips of a few sites: these sites fall in several
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    sites, water, known = _inputs(tmp_path)
    files = [("mining_sites", str(sites)), ("water_bodies", str(water))]
    runs = {threads: check(Settings(workspace=tmp_path / "none.gpkg", threads_value=str(threads)),
                           only=["HG-WATER-100"], files=files, record=False)
            for threads in (1, 2, 5)}
    one = runs[1].evaluation.violations
    got = dict(zip(one["site_id"], one["distance_m"], strict=True))
    assert got == pytest.approx({sid: round(m, 2) for sid, m in known.items()}, abs=1e-9)
    for threads in (2, 5):
        many = runs[threads].evaluation.violations
        pd.testing.assert_frame_equal(pd.DataFrame(one.drop(columns=["geometry", "nearest_line"])),
                                      pd.DataFrame(many.drop(columns=["geometry", "nearest_line"])))
        for col in ("geometry", "nearest_line"):
            assert shapely.get_coordinates(one[col].to_numpy()).tobytes() == \
                shapely.get_coordinates(many[col].to_numpy()).tobytes()
    # each input file's digest, streamed once beside the read, is the SHA-256 of its bytes
    expect = {lay: hashlib.sha256(hashlib.sha256(Path(p).read_bytes()).hexdigest().encode()).hexdigest()
              for lay, p in files}
    assert runs[2].input_hashes == expect


def test_file_digest_streams_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = np.random.default_rng(1).bytes(3_000_001)  # several blocks, and an odd tail
    path.write_bytes(data)
    assert file_digest(path) == hashlib.sha256(data).hexdigest()


def _frame_hash_oracle(frame: gpd.GeoDataFrame) -> str:
    """The layer hash item by item, as it was defined before it was computed in bulk."""
    digest = hashlib.sha256()
    attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name)).astype(str)
    digest.update(",".join(attrs.columns).encode())
    digest.update(pd.util.hash_pandas_object(attrs, index=False).to_numpy().tobytes())
    for wkb in shapely.to_wkb(frame.geometry.to_numpy()):
        digest.update(wkb or b"")
    return digest.hexdigest()


@pytest.mark.parametrize("geoms", [
    [Point(-1.5, 5.25), Point(0.0, -0.0), Point(179.9999999, -89.5), Point(1e-300, 12.0)],  # 2D points
    [Point(1, 2), None, Point(3, 4)],  # a missing geometry
    [Point(1, 2), Point()],  # an empty point
    [Point(1, 2, 3), Point(4, 5, 6)],  # 3D points
    list(shapely.from_wkt(["POINT M (1 2 3)", "POINT (5 6)"])),  # a measure
    list(shapely.from_wkt(["POINT (nan nan)", "POINT (5 6)"])),  # not a number
    [Point(1, 2), LineString([(0, 0), (1, 1)]), Polygon([(0, 0), (1, 0), (1, 1), (0, 0)])],  # mixed
    [],
])
def test_layer_hash_equals_the_item_by_item_hash(geoms: list) -> None:
    frame = gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(len(geoms))],
                              "miners": list(range(len(geoms)))}, geometry=geoms, crs="EPSG:4326")
    assert frame_hash(frame) == _frame_hash_oracle(frame)


def test_layer_hash_of_many_points_equals_the_item_by_item_hash() -> None:
    rng = np.random.default_rng(7)
    xy = np.column_stack([rng.uniform(-180, 180, 20_000), rng.uniform(-90, 90, 20_000)])
    frame = gpd.GeoDataFrame({"site_id": np.arange(20_000).astype(str)}, geometry=shapely.points(xy),
                             crs="EPSG:4326")
    assert frame_hash(frame) == _frame_hash_oracle(frame)
    moved = frame.copy()
    moved.loc[123, "geometry"] = Point(xy[123, 0], np.nextafter(xy[123, 1], 100.0))  # one ulp
    assert frame_hash(moved) != frame_hash(frame)


def test_a_3d_file_is_still_read_as_2d(tmp_path: Path) -> None:
    # the reader now rebuilds geometries only when one has Z; a file with Z still comes out 2D
    path = tmp_path / "sites.geojson"
    gpd.GeoDataFrame({"site_id": ["A", "B"]}, geometry=[Point(-1.5, 5.2, 210.0), Point(-1.4, 5.3)],
                     crs="EPSG:4326").to_file(path)
    loaded = load_layer(path, "mining_sites").gdf
    assert not shapely.has_z(loaded.geometry.to_numpy()).any()
    assert shapely.get_coordinates(loaded.geometry.to_numpy()).tolist() == [[-1.5, 5.2], [-1.4, 5.3]]
