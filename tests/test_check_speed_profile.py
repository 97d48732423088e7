"""``bench_check.py --profile`` writes its statistics.

It ran ``python -m cProfile cli.py check ...``; ``cli.py`` run as a program ends with ``os._exit``, so
cProfile's dump after the script never ran and no statistics file was written (found by the tenth day's
helper on ``check`` speed). The profiled child now profiles ``cli.main`` imported as a module.
"""
from __future__ import annotations

import pstats
import subprocess
import sys
from pathlib import Path

from benchmarks import bench_check

ROOT = Path(__file__).resolve().parents[1]


def test_the_profiled_check_writes_statistics_and_the_violations(tmp_path: Path) -> None:
    sites, water = bench_check.write_inputs(tmp_path, 2_000, 300)
    stats = tmp_path / "check.prof"
    args = ["check", "--layer", f"mining_sites={sites.name}", "--layer", f"water_bodies={water.name}",
            "--only", bench_check.RULE, "--out", "v.csv", "--no-record"]
    done = subprocess.run([sys.executable, "-c", bench_check.PROFILE_JOB, str(ROOT), str(stats), *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and (tmp_path / "v.csv").exists()
    profiled = {f"{Path(path).name}:{name}" for path, _, name in pstats.Stats(str(stats)).stats}  # type: ignore[attr-defined]
    assert "cli.py:main" in profiled and "checks.py:check" in profiled


def test_the_same_violations_as_cli_run_as_a_program(tmp_path: Path) -> None:
    sites, water = bench_check.write_inputs(tmp_path, 2_000, 300)
    args = ["check", "--layer", f"mining_sites={sites.name}", "--layer", f"water_bodies={water.name}",
            "--only", bench_check.RULE, "--no-record"]
    subprocess.run([sys.executable, str(ROOT / "cli.py"), *args, "--out", "a.csv"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=120)
    subprocess.run([sys.executable, "-c", bench_check.PROFILE_JOB, str(ROOT), str(tmp_path / "p.prof"), *args,
                    "--out", "b.csv"], cwd=tmp_path, check=True, capture_output=True, timeout=120)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert len((tmp_path / "a.csv").read_text().splitlines()) > 1  # some violations, not two empty files


def test_the_columnar_floor_runs_and_finds_the_checks_violations(tmp_path: Path) -> None:
    # it calls the kernel's private functions: it broke silently when point_group_start began to take a Limits
    sites, water = bench_check.write_inputs(tmp_path, 2_000, 300)
    args = ["check", "--layer", f"mining_sites={sites.name}", "--layer", f"water_bodies={water.name}",
            "--only", bench_check.RULE, "--out", "v.csv", "--no-record"]
    subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], cwd=tmp_path, check=True, capture_output=True,
                   timeout=120)
    done = subprocess.run([sys.executable, "-c", bench_check.COLUMNAR_JOB, sites.name, water.name, str(ROOT), "2"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    check_ids = sorted(line.split(",")[0] for line in (tmp_path / "v.csv").read_text().splitlines()[1:])
    floor_ids = sorted(line.split(",")[0].strip('"') for line in (tmp_path / "columnar.csv").read_text().splitlines()[1:])
    assert floor_ids == [i.strip('"') for i in check_ids] and len(check_ids) > 0
