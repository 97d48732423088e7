"""``layers.io.geoparquet.read_geoparquet`` gives ``geopandas.read_parquet``'s frame, value for value.

The common file (one WKB geometry column) is read without geopandas' reader: points from their
21-byte records, the CRS of a PROJJSON member built once per process. geopandas' reader is the
oracle on hand-made files of every kind the fast path takes or hands back: points with and without
missing, empty, 3D and big-endian records, lines, a stored index, no CRS, a CRS text, several
geometry columns, and damaged files (the same error, from geopandas itself).
"""
from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

import cli
from benchmarks import bench_check
from geo.errors import InputError
from layers.io import geoparquet
from layers.io.geoparquet import read_geoparquet
from layers.io.readers import load_layer, read_raw


def _same(path: Path) -> gpd.GeoDataFrame:
    ours, theirs = read_geoparquet(path), gpd.read_parquet(path)
    assert_geodataframe_equal(ours, theirs, check_dtype=True, check_index_type=True, check_crs=True,
                              check_less_precise=False)  # (its geom_type check fails on a missing one: NaN)
    assert list(ours.columns) == list(theirs.columns) and ours.geometry.name == theirs.geometry.name
    assert ours.crs == theirs.crs and (ours.crs is None or ours.crs.to_json() == theirs.crs.to_json())
    assert list(shapely.to_wkb(ours.geometry.to_numpy(), include_srid=False, flavor="iso")) == \
        list(shapely.to_wkb(theirs.geometry.to_numpy(), include_srid=False, flavor="iso"))  # -0.0, z and all
    assert ours.attrs == theirs.attrs
    return ours


def _points(n: int = 50) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    xy = np.column_stack([rng.uniform(-180, 180, n), rng.uniform(-90, 90, n)])
    xy[0] = (-0.0, 0.0)
    return gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(n)], "uses_mercury": rng.random(n) < 0.5,
                             "area_ha": rng.random(n)}, geometry=shapely.points(xy), crs=4326)


def test_points_are_the_points_geopandas_reads(tmp_path: Path) -> None:
    path = tmp_path / "sites.parquet"
    _points().to_parquet(path)
    got = _same(path)
    assert got.crs.to_epsg() == 4326 and len(got) == 50
    assert geoparquet._points(pq.read_table(path).column("geometry")) is not None  # the fast path was taken


@pytest.mark.parametrize("odd", ["missing", "empty", "z", "big-endian", "nan"])
def test_points_with_an_odd_record_are_read_as_geopandas_reads_them(tmp_path: Path, odd: str) -> None:
    frame = _points(20)
    path = tmp_path / "sites.parquet"
    if odd == "missing":
        frame.loc[3, "geometry"] = None
    elif odd == "empty":
        frame.loc[3, "geometry"] = shapely.Point()
    elif odd == "z":
        frame.loc[3, "geometry"] = shapely.Point(1.5, 2.5, 3.5)
    frame.to_parquet(path)
    if odd in ("big-endian", "nan"):  # rewrite one record by hand: geopandas writes little-endian, finite
        table = pq.read_table(path)
        wkb = table.column("geometry").to_pylist()
        wkb[3] = shapely.to_wkb(shapely.Point(1.5, 2.5), byte_order=0) if odd == "big-endian" \
            else b"\x01\x01\x00\x00\x00" + np.array([np.nan, 1.0]).tobytes()
        table = table.set_column(table.schema.get_field_index("geometry"), "geometry", pa.array(wkb, pa.binary()))
        pq.write_table(table, path)
    assert geoparquet._points(pq.read_table(path).column("geometry")) is None  # handed to from_wkb
    got = _same(path)
    if odd == "big-endian":
        assert got.geometry.iloc[3].equals(shapely.Point(1.5, 2.5))


def test_lines_a_stored_index_attrs_and_no_crs(tmp_path: Path) -> None:
    lines = gpd.GeoDataFrame({"water_id": ["W1", "W2", None], "kind": ["river", "stream", "lake"]},
                             geometry=[shapely.LineString([(0, 0), (1, 1)]), None,
                                       shapely.LineString([(2, 2), (3, 3.5)])],
                             index=pd.Index([10, 20, 30], name="fid"), crs=None)
    lines.attrs = {"source": "survey"}
    path = tmp_path / "water.parquet"
    lines.to_parquet(path)
    assert _same(path).index.name == "fid"
    moved = lines.reset_index()[["geometry", "kind", "fid", "water_id"]].set_geometry("geometry")
    moved.to_parquet(path)  # the geometry column first: it goes back first
    assert list(_same(path).columns) == ["geometry", "kind", "fid", "water_id"]


def test_a_crs_other_than_wgs84_and_one_given_as_text(tmp_path: Path) -> None:
    path = tmp_path / "utm.parquet"
    _points(10).to_crs(32630).to_parquet(path)
    assert _same(path).crs.to_epsg() == 32630
    table = pq.read_table(path)
    geo = json.loads(table.schema.metadata[b"geo"])
    geo["columns"]["geometry"]["crs"] = "EPSG:32630"
    pq.write_table(table.replace_schema_metadata({**table.schema.metadata, b"geo": json.dumps(geo).encode()}), path)
    assert _same(path).crs.to_epsg() == 32630
    del geo["columns"]["geometry"]["crs"]  # absent: OGC:CRS84, as the GeoParquet specification says
    pq.write_table(table.replace_schema_metadata({**table.schema.metadata, b"geo": json.dumps(geo).encode()}), path)
    assert _same(path).crs == "OGC:CRS84"


def test_the_crs_is_built_once_per_member_and_the_same_for_two_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    _points(5).to_parquet(a)
    _points(7).to_parquet(b)
    assert read_geoparquet(a).crs is read_geoparquet(b).crs  # one object: built once
    member = json.loads(pq.read_schema(a).metadata[b"geo"])["columns"]["geometry"]["crs"]
    before = json.dumps(member, sort_keys=True)
    geoparquet._crs(member)
    assert json.dumps(member, sort_keys=True) == before  # the file's member is not changed in place


def test_several_geometry_columns_go_through_geopandas(tmp_path: Path) -> None:
    frame = _points(5)
    frame["other"] = gpd.GeoSeries(shapely.points(np.zeros((5, 2))), crs=4326)
    path = tmp_path / "two.parquet"
    frame.to_parquet(path)
    assert geoparquet._plain_geometry_column(pq.read_schema(path).metadata) is None
    got = _same(path)
    assert isinstance(got["other"].dtype, gpd.array.GeometryDtype)


def test_a_damaged_file_raises_what_geopandas_raises(tmp_path: Path) -> None:
    path = tmp_path / "sites.parquet"
    _points().to_parquet(path)
    data = path.read_bytes()
    path.write_bytes(data[:4] + b"\0" * 200 + data[204:])  # the magic kept, the first pages broken
    with pytest.raises(Exception) as ours:
        read_geoparquet(path)
    with pytest.raises(Exception) as theirs:
        gpd.read_parquet(path)
    assert type(ours.value) is type(theirs.value) and str(ours.value) == str(theirs.value)


def test_check_reads_and_validates_the_same_layer(tmp_path: Path) -> None:
    frame = _points(30)
    frame.loc[4, "site_id"] = "S5"  # a repeated id: reported as before
    frame.loc[6, "geometry"] = shapely.Point(45.0, 120.0)  # latitude and longitude swapped
    path = tmp_path / "mining_sites.parquet"
    frame.to_parquet(path)
    raw, _ = read_raw(path)
    assert raw.crs.to_epsg() == 4326 and raw["_row"].tolist() == list(range(1, 31))
    with pytest.raises(InputError) as refused:
        load_layer(path, "mining_sites")
    shown = sorted((p.row, p.field, p.kind, str(p.value)) for p in refused.value.problems if p.severity == "error")
    assert shown == [(6, "site_id", "duplicate", "S5"), (7, "geometry", "swapped", "(45.000000, 120.000000)")]


def test_a_file_in_a_folder_named_like_a_partition(tmp_path: Path) -> None:
    folder = tmp_path / "year=2024"  # read as one file, as geopandas reads it: no 'year' column
    folder.mkdir()
    _points(8).to_parquet(folder / "sites.parquet")
    assert list(_same(folder / "sites.parquet").columns) == ["site_id", "uses_mercury", "area_ha", "geometry"]


def test_several_row_groups_make_one_frame(tmp_path: Path) -> None:
    path = tmp_path / "sites.parquet"
    _points(1_000).to_parquet(path, row_group_size=128)
    assert pq.ParquetFile(path).num_row_groups == 8
    assert len(_same(path)) == 1_000


def _big_endian(path: Path) -> None:
    """Rewrite every point of ``path`` as big-endian WKB: geopandas' decoding path, the same points."""
    table = pq.read_table(path)
    wkb = [shapely.to_wkb(g, byte_order=0) for g in shapely.from_wkb(table.column("geometry").to_pylist())]
    at = table.schema.get_field_index("geometry")
    pq.write_table(table.set_column(at, "geometry", pa.array(wkb, pa.binary())), path)


def _check(folder: Path, *extra: str) -> tuple[int, str, bytes]:
    out, here = io.StringIO(), os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = cli.main(["check", "--layer", "mining_sites=sites.parquet", "--layer", "water_bodies=water.parquet",
                             "--only", "HG-WATER-100", "--out", "v.csv", "--no-record", *extra])
    finally:
        os.chdir(here)
    written = (folder / "v.csv").read_bytes() if (folder / "v.csv").exists() else b""
    return code, out.getvalue(), written


@pytest.mark.parametrize("planted", [False, True])
def test_check_writes_and_refuses_the_same_through_either_decoding(tmp_path: Path, planted: bool) -> None:
    fast, slow = tmp_path / "fast", tmp_path / "slow"
    for folder in (fast, slow):
        folder.mkdir()
        bench_check.write_inputs(folder, 3_000, 400)
        if planted:  # a repeated id and a swapped point: the check refuses the file, naming both
            sites = gpd.read_parquet(folder / "sites.parquet")
            sites.loc[10, "site_id"] = "S3"
            sites.loc[20, "geometry"] = shapely.Point(45.0, 120.0)
            sites.to_parquet(folder / "sites.parquet")
    _big_endian(slow / "sites.parquet")
    assert geoparquet._points(pq.read_table(fast / "sites.parquet").column("geometry")) is not None
    assert geoparquet._points(pq.read_table(slow / "sites.parquet").column("geometry")) is None
    (code, said, written), (code_slow, said_slow, written_slow) = _check(fast), _check(slow)
    assert (code, said, written) == (code_slow, said_slow, written_slow)
    if planted:
        assert code == 2 and not written and "duplicate id: already used by record 4" in said and "swapped" in said
    else:
        assert code == 0 and written.count(b"\n") > 1
