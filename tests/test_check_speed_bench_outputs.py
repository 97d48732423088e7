"""``bench_check.py`` times each run writing a new output file, not renaming one over the last run's.

Found by the thirteenth day's one-thread profile of ``check``: ``posix.replace`` took 70 ms. Every timed
check after the first renamed its 132 MB CSV over the one the previous run (or the other tree's) had left in
the benchmark's folder, and freeing that file is the kernel's work inside the renaming process (40-95 ms on
this machine, measured with ``os.replace`` over a 132 MB file), charged to the check's wall and system time.
``timed_run`` deletes each contender's own output first, untimed; a child here reports what it found.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from benchmarks import bench_check

SEEN = "import os; open('seen', 'w').write(repr(sorted(n for n in os.listdir('.') if n.endswith('.csv'))))"


def test_each_contender_starts_without_its_own_last_output(tmp_path: Path) -> None:
    for name in ("v.csv", "duck.csv", "contract.csv", "columnar.csv"):
        (tmp_path / name).write_text("left by the last run\n")
    env = dict(os.environ)
    cmd = [sys.executable, "-c", SEEN]
    expected = {"hgwatch check": ["columnar.csv", "contract.csv", "duck.csv"],
                "duckdb spatial": ["columnar.csv", "contract.csv", "v.csv"],
                "floor: contract": ["columnar.csv", "duck.csv", "v.csv"]}
    for name, seen in expected.items():
        wall, _, _, err = bench_check.timed_run(name, cmd, tmp_path, env)
        assert err == "" and wall > 0
        assert (tmp_path / "seen").read_text() == repr(seen)
        (tmp_path / bench_check.OUTPUTS[name]).write_text("left by the last run\n")
    bench_check.timed_run("floor: import", cmd, tmp_path, env)  # writes nothing: nothing deleted
    assert (tmp_path / "seen").read_text() == repr(["columnar.csv", "contract.csv", "duck.csv", "v.csv"])
    assert bench_check.OUTPUTS["other tree"] == bench_check.OUTPUTS["hgwatch check"] == "v.csv"
