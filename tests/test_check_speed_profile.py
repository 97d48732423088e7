"""``bench_check.py --profile`` writes its statistics, and its columnar floor runs.

It ran ``python -m cProfile cli.py check ...``; ``cli.py`` run as a program ends with ``os._exit``, so
cProfile's dump after the script never ran and no statistics file was written (found by the tenth day's
helper on ``check`` speed). The profiled child now profiles ``cli.main`` imported as a module.
"""
from __future__ import annotations

import pstats
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import bench_check

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the benchmark's inputs (2,000 sites, 300 segments) and ``cli.py``'s own ``a.csv``."""
    folder = tmp_path_factory.mktemp("bench")
    bench_check.write_inputs(folder, 2_000, 300)
    subprocess.run([sys.executable, str(ROOT / "cli.py"), *_args("a.csv")], cwd=folder, check=True,
                   capture_output=True, timeout=120)
    return folder


def _args(out: str) -> list[str]:
    return ["check", "--layer", "mining_sites=sites.parquet", "--layer", "water_bodies=water.parquet",
            "--only", bench_check.RULE, "--out", out, "--no-record"]


def test_the_profiled_check_writes_statistics_and_the_same_violations(checked: Path, tmp_path: Path) -> None:
    for name in ("sites.parquet", "water.parquet"):
        shutil.copy(checked / name, tmp_path / name)
    stats = tmp_path / "check.prof"
    done = subprocess.run([sys.executable, "-c", bench_check.PROFILE_JOB, str(ROOT), str(stats), *_args("b.csv")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout
    profiled = {f"{Path(path).name}:{name}" for path, _, name in pstats.Stats(str(stats)).stats}  # type: ignore[attr-defined]
    assert "cli.py:main" in profiled and "checks.py:check" in profiled
    written = (tmp_path / "b.csv").read_bytes()
    assert written == (checked / "a.csv").read_bytes() and written.count(b"\n") > 1  # some violations


def test_the_columnar_floor_runs_and_finds_the_checks_violations(checked: Path, tmp_path: Path) -> None:
    # it calls the kernel's private functions: it broke silently when point_group_start began to take a Limits
    for name in ("sites.parquet", "water.parquet"):
        shutil.copy(checked / name, tmp_path / name)
    done = subprocess.run([sys.executable, "-c", bench_check.COLUMNAR_JOB, "sites.parquet", "water.parquet",
                           str(ROOT), "2"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    check_ids = sorted(line.split(",")[0].strip('"') for line in (checked / "a.csv").read_text().splitlines()[1:])
    floor_ids = sorted(line.split(",")[0].strip('"') for line in (tmp_path / "columnar.csv").read_text().splitlines()[1:])
    assert floor_ids == check_ids and len(check_ids) > 0
