"""``cli.py check`` reads its GeoParquet files on a side thread while it loads its modules
(``layers.io.prefetch``): the same frames, violation file, messages and exit codes as a read in turn,
and a file that changed since it was read ahead, or is too large to be read whole, is read again."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from layers.io import geoparquet, prefetch

ROOT = Path(__file__).resolve().parents[1]
DEG_M = 111_319.49  # metres per degree of longitude on the equator (WGS84), near enough for the layout


def _sites(n: int = 3) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"site_id": [f"S{k}" for k in range(n)], "uses_mercury": [True] * n,
                             "geometry": [Point((30 + 40 * k) / DEG_M, 0.0) for k in range(n)]}, crs="EPSG:4326")


def _water() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"water_id": ["W1"], "kind": ["river"],
                             "geometry": [LineString([(0.0, -0.01), (0.0, 0.01)])]}, crs="EPSG:4326")


def test_the_files_read_ahead_are_check_s_geoparquet_layers() -> None:
    argv = ["--workspace", "w.gpkg", "check", "--layer", "mining_sites=a.parquet", "--layer=water_bodies=b.GeoParquet",
            "--layer", "residential_areas=c.geojson", "--only", "HG-WATER-100"]
    assert prefetch.check_files(argv) == ["a.parquet", "b.GeoParquet"]
    assert prefetch.check_files([*argv, "--chunk-rows", "0"]) == []  # chunks may be asked: nothing read whole ahead
    assert prefetch.check_files([*argv, "--chunk-rows=4"]) == []
    assert prefetch.check_files(["import", "a.parquet", "--layer", "mining_sites"]) == []


def test_a_table_read_ahead_is_the_file_s_once_and_a_changed_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "sites.parquet"
    _sites(3).to_parquet(path)
    prefetch.start([str(path)])
    got = geoparquet.read_geoparquet(path)  # takes the table read ahead (waiting for it)
    pd.testing.assert_frame_equal(got, gpd.read_parquet(path))
    assert prefetch.take(path) is None  # given once

    prefetch.start([str(path)])
    assert prefetch.take(tmp_path / "." / "sites.parquet") is not None  # the same file, however named
    prefetch.start([str(path)])
    prefetch.take(tmp_path / "other.parquet")  # (waits for the read)
    _sites(5).to_parquet(path)  # changed after it was read ahead
    got = geoparquet.read_geoparquet(path)
    assert list(got["site_id"]) == ["S0", "S1", "S2", "S3", "S4"]


def test_a_file_too_large_to_be_read_whole_is_not_read_ahead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prefetch, "MAX_ROWS", 2)
    path = tmp_path / "sites.parquet"
    _sites(3).to_parquet(path)
    prefetch.start([str(path)])
    assert prefetch.take(path) is None
    assert prefetch.MAX_ROWS == 2
    from services.imports import AUTO_CHUNK_ABOVE

    monkeypatch.undo()
    assert prefetch.MAX_ROWS == AUTO_CHUNK_ABOVE  # the size above which a check may read a file in chunks


def _cli(folder: Path, *args: str, threads: int = 2) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HGWATCH_THREADS=str(threads), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), "--workspace", str(folder / "none.gpkg"), "check",
                           "--only", "HG-WATER-100", "--no-record", *args], cwd=folder, env=env, capture_output=True,
                          text=True, check=False, timeout=300)


def test_check_writes_the_same_file_read_ahead_or_not_on_one_or_two_threads(tmp_path: Path) -> None:
    _sites(4).to_parquet(tmp_path / "sites.parquet")
    _water().to_parquet(tmp_path / "water.parquet")
    layers = ["--layer", "mining_sites=sites.parquet", "--layer", "water_bodies=water.parquet"]
    runs = {name: _cli(tmp_path, *layers, *extra, "--out", f"{name}.csv", threads=threads) for name, extra, threads in (
        ("ahead", (), 2), ("ahead1", (), 1), ("in_turn", ("--chunk-rows", "0"), 2))}
    for name, run in runs.items():
        assert run.returncode == 0, run.stderr
        assert run.stdout.replace(f"{name}.csv", "OUT") == runs["in_turn"].stdout.replace("in_turn.csv", "OUT")
    texts = {name: (tmp_path / f"{name}.csv").read_bytes() for name in runs}
    assert texts["ahead"] == texts["in_turn"] == texts["ahead1"]
    assert texts["ahead"].count(b"\nHG-WATER-100/") == 2  # S0 30 m and S1 70 m from W1; S2 110 m, S3 150 m


def test_a_damaged_file_read_ahead_gets_the_message_of_a_read_in_turn(tmp_path: Path) -> None:
    _water().to_parquet(tmp_path / "water.parquet")
    (tmp_path / "sites.parquet").write_bytes(b"PAR1 not a parquet file PAR1")
    layers = ["--layer", "mining_sites=sites.parquet", "--layer", "water_bodies=water.parquet"]
    ahead, in_turn = _cli(tmp_path, *layers), _cli(tmp_path, *layers, "--chunk-rows", "0")
    assert ahead.returncode == in_turn.returncode == 2
    assert ahead.stderr == in_turn.stderr
    assert ahead.stderr.startswith("hgwatch: sites.parquet: cannot read the file")
    assert "Traceback" not in ahead.stderr


@pytest.mark.parametrize(("where", "when"), [("pandas", "start-up"), ("layers.io.prefetch:take", "before"),
                                             ("layers.io.prefetch:take", "after")])
def test_ctrl_c_while_the_files_are_read_ahead_prints_one_line_and_writes_nothing(
        tmp_path: Path, where: str, when: str) -> None:
    """A real SIGINT as pandas starts to load (the files being read ahead), or as the reader takes the
    table read ahead: the one line, exit 130, no traceback, no output file, no wait on the side thread."""
    from tests.test_messages_interrupt import LINE, _interrupted

    _sites(4).to_parquet(tmp_path / "sites.parquet")
    _water().to_parquet(tmp_path / "water.parquet")
    out = tmp_path / "out" / "v.csv"
    code, err = _interrupted(tmp_path, where, when, "--workspace", str(tmp_path / "none.gpkg"), "check", "--only",
                             "HG-WATER-100", "--no-record", "--layer", f"mining_sites={tmp_path / 'sites.parquet'}",
                             "--layer", f"water_bodies={tmp_path / 'water.parquet'}", "--out", str(out))
    assert (code, err) == (130, [LINE])
    assert not out.exists() and not (out.parent.exists() and list(out.parent.iterdir()))
