"""A reader that goes away (``cli.py check --out v.csv | head``) loses only the text: the command
finishes its work (its output file, its recorded run) and ends with its own exit code, quietly. Until
2026-11-27 the first line printed after the reader had gone ended the command there with "hgwatch:
Broken pipe" and exit code 2: a recorded check then had recorded its run but never wrote its --out file.

Each case runs ``cli.py`` as a program in a real process whose standard output (or error) is a pipe
whose read end is already closed, so the first write fails however fast the process is: the test does
not depend on time.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

DEMO = ROOT / "data" / "demo_workspace.gpkg"
pytestmark = pytest.mark.skipif(not DEMO.exists(), reason="demo workspace missing (make install builds it)")


def _run(workspace: Path, *args: str, gone: str = "stdout") -> subprocess.CompletedProcess[str]:
    """``cli.py --workspace WORKSPACE ARGS`` with ``gone`` (stdout or stderr) a pipe nobody reads."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    streams = {"stdout": write_end, "stderr": subprocess.PIPE} if gone == "stdout" else \
        {"stdout": subprocess.PIPE, "stderr": write_end}
    try:
        return subprocess.run([sys.executable, str(ROOT / "cli.py"), "--workspace", str(workspace), *args],
                              cwd=ROOT, text=True, timeout=300, check=False, **streams)  # type: ignore[call-overload]
    finally:
        os.close(write_end)


def _runs(workspace: Path) -> int:
    with sqlite3.connect(workspace) as con:
        return int(con.execute("SELECT count(*) FROM hgw_runs").fetchone()[0])


def test_a_check_whose_reader_went_away_still_writes_its_file_and_records_its_run(tmp_path: Path) -> None:
    ws = tmp_path / "ws.gpkg"
    shutil.copy(DEMO, ws)
    out = tmp_path / "v.geojson"
    done = _run(ws, "check", "--out", str(out))
    assert (done.returncode, done.stderr) == (0, "")
    assert _runs(ws) == 1
    reference = subprocess.run([sys.executable, str(ROOT / "cli.py"), "--workspace", str(ws), "check", "--no-record",
                                "--out", str(tmp_path / "w.geojson")], cwd=ROOT, capture_output=True, text=True,
                               timeout=300, check=True)
    assert " violations to " in reference.stdout
    ids = [{f["properties"]["violation_id"] for f in json.loads(p.read_text())["features"]}
           for p in (out, tmp_path / "w.geojson")]
    assert ids[0] == ids[1] and len(ids[0]) > 100


def test_a_refusal_whose_reader_went_away_keeps_its_exit_code(tmp_path: Path) -> None:
    ws = tmp_path / "ws.gpkg"
    shutil.copy(DEMO, ws)
    done = _run(ws, "export", "no_such_layer", "--out", str(tmp_path / "x.geojson"), gone="stderr")
    assert (done.returncode, done.stdout) == (2, "")  # no traceback went anywhere: stdout holds nothing either
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ws.gpkg"]


def test_a_listing_whose_reader_went_away_ends_quietly(tmp_path: Path) -> None:
    ws = tmp_path / "ws.gpkg"
    shutil.copy(DEMO, ws)
    done = _run(ws, "layers")
    assert (done.returncode, done.stderr) == (0, "")
    kept = subprocess.run([sys.executable, str(ROOT / "cli.py"), "--workspace", str(ws), "layers"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert kept.returncode == 0 and "mining_sites" in kept.stdout and kept.stderr == ""
