"""Benchmark: a within-distance rule of growing reach on the real Ghana data, peak memory and time.

The job: one ``within_distance`` rule, every mining footprint of 2024 (685 polygons, repaired as
``--repair`` does) against the GSHHG rivers of SW Ghana (``--set water_bodies.kind=river``), read
from ``../shared/data/ghana`` where they are (never copied), through the whole ``cli.py check``
process: ``cli.py check --rules RULES --layer mining_sites=... --layer water_bodies=... --repair
--out v.csv --no-record``, one fresh child per run. The rules file (one rule, ``distance_m`` = the
reach, with its two examples) is written to a temporary folder.

``--tree DIR`` also runs the ``cli.py`` of another checkout (e.g. the tree before the bounded
search, ``/tmp/before13``) with ``PYTHONPATH=DIR`` on the same rule, right after this tree's, for
the reaches up to ``--tree-max-reach`` (default 30 km: before the bound, 300 km ran over 5 minutes
and reached 11.5 GB), each killed after ``--tree-timeout`` seconds; it says whether both trees
wrote byte-identical violation files.

Figures: wall seconds from start to exit, CPU seconds and the child's peak resident memory
(``ru_maxrss`` from ``os.wait4``: the child alone), and the load average before and after.
This is a benchmark, not a test: it prints, never asserts.

Usage: ``python benchmarks/bench_reach.py [--reaches 3000,30000,300000] [--tree DIR]
[--tree-max-reach 30000] [--tree-timeout 300]``
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GHANA = ROOT.parent / "shared" / "data" / "ghana"
SITES = GHANA / "amw_mining_footprints_2024.geojson"
RIVERS = GHANA / "gshhg_rivers.geojson"

RULES = """format = 1
title = "bench_reach: one within-distance rule"

[[rules]]
id = "REACH"
version = 1
title = "Mining footprint within {reach} m of a river"
severity = "low"
citation = "benchmark only"
description = "benchmark only"
relation = "within_distance"
distance_m = {reach}

[rules.subject]
layer = "mining_sites"

[[rules.other]]
layer = "water_bodies"

[[rules.examples]]
expect = "flagged"
note = "55.66 m from a river"
subject = {{ wkt = "POINT (0.0005 0)" }}
other = {{ water_bodies = [ {{ wkt = "LINESTRING (0 -0.01, 0 0.01)", fields = {{ kind = "river" }} }} ] }}

[[rules.examples]]
expect = "clear"
note = "556 km from a river"
subject = {{ wkt = "POINT (5 0)" }}
other = {{ water_bodies = [ {{ wkt = "LINESTRING (0 -0.01, 0 0.01)", fields = {{ kind = "river" }} }} ] }}
"""


def run_child(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[float, float, float, str]:
    """Run ``cmd``; wall seconds, CPU seconds, the child's peak RSS in MB, and what went wrong (or '')."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        killed = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout and not killed:
                os.killpg(proc.pid, signal.SIGKILL)  # this child's own process group only
                killed = True
            time.sleep(0.05)
        wall = time.perf_counter() - start
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-2:]
    peak = usage.ru_maxrss / 1024.0
    cpu = usage.ru_utime + usage.ru_stime
    if killed:
        return wall, cpu, peak, f"killed after {timeout:.0f} s"
    code = os.waitstatus_to_exitcode(status)
    return wall, cpu, peak, "" if code == 0 else f"exit {code}: {' | '.join(tail)}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reaches", default="3000,30000,300000", help="reaches in metres, comma-separated")
    p.add_argument("--tree", help="also run the cli.py of this other HgWatch checkout (before/after)")
    p.add_argument("--tree-max-reach", type=float, default=30_000.0, help="run --tree only up to this reach")
    p.add_argument("--tree-timeout", type=float, default=300.0, help="kill a --tree run after this many seconds")
    a = p.parse_args()
    if not SITES.exists() or not RIVERS.exists():
        print(f"needs {SITES} and {RIVERS}")
        return
    env = dict(os.environ)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench_reach_") as tmp:
        folder = Path(tmp)
        for reach in (float(r) for r in a.reaches.split(",")):
            rules = folder / f"rules_{reach:.0f}.toml"
            rules.write_text(RULES.format(reach=f"{reach:g}"), encoding="utf-8")
            args = ["check", "--rules", rules.name, "--layer", f"mining_sites={SITES}",
                    "--layer", f"water_bodies={RIVERS}", "--set", "water_bodies.kind=river", "--repair",
                    "--no-record"]
            runs = [("hgwatch", ROOT, dict(env, PYTHONPATH=str(ROOT)), 3600.0)]
            if a.tree and reach <= a.tree_max_reach:
                tree = Path(a.tree).resolve()
                runs.append(("other tree", tree, dict(env, PYTHONPATH=str(tree)), a.tree_timeout))
            outputs: dict[str, bytes] = {}
            for name, tree_root, child_env, timeout in runs:
                out = folder / f"v_{name.replace(' ', '_')}_{reach:.0f}.csv"
                cmd = [sys.executable, str(tree_root / "cli.py"), *args, "--out", out.name]
                wall, cpu, peak, problem = run_child(cmd, folder, child_env, timeout)
                rows = sum(1 for _ in out.open("rb")) - 1 if out.exists() and not problem else -1
                if out.exists() and not problem:
                    outputs[name] = out.read_bytes()
                print(f"reach {reach / 1000:g} km, {name}: {wall:.2f} s wall, {cpu:.2f} s CPU, "
                      f"peak {peak:.0f} MB, {rows} violations" + (f" ({problem})" if problem else ""))
            if len(outputs) == 2:
                same = outputs["hgwatch"] == outputs["other tree"]
                print(f"reach {reach / 1000:g} km: violation files of both trees byte-identical: "
                      f"{'yes' if same else 'NO'}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
