"""How ``cli.py`` run as a program ends (issue 13): as soon as the command is done, its output flushed
and the ``atexit`` handlers run, without freeing what it made object by object or tearing the modules
down; the same output, files and exit codes as a run inside a process that goes on (``cli.main``).
A ``check`` of files loads none of the case work (cases, their photos and EXIF reader), which only a
recorded run uses (the recorded runs' cases are tested in ``tests/test_cases*.py``)."""
from __future__ import annotations

import gc
import json
import subprocess
import sys
import threading
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point

import cli
from layers.io.readers import frozen_after_load, load_layer
from tests.conftest import ROOT

CASE_WORK = ("services.cases", "layers.io.photos", "exifread", "layers.store.cases", "settings.cases")

# Runs cli.py as ``__main__``; the check's outcome carries a sentinel that says when it is freed, and an
# atexit handler says that it ran.
PROGRAM = """
import atexit, os, runpy, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))  # as ``python cli.py`` has it
from services import checks
class Sentinel:
    def __del__(self, write=os.write):  # os.write itself: sys.stderr may be gone by then
        write(2, b"freed\\n")
def check(*args, _check=checks.check, **kwargs):
    outcome = _check(*args, **kwargs)
    object.__setattr__(outcome, "sentinel", Sentinel())
    return outcome
checks.check = check
atexit.register(lambda: sys.stderr.write("atexit ran\\n"))
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _inputs(folder: Path) -> tuple[Path, Path]:
    """Three sites 0, 22 and 222 m east of a meridian river on the equator (two within 100 m)."""
    sites = gpd.GeoDataFrame({"site_id": ["A", "B", "C"], "uses_mercury": [True, True, True]},
                             geometry=[Point(0.0, 0.0), Point(0.0002, 0.0), Point(0.002, 0.0)], crs="EPSG:4326")
    water = gpd.GeoDataFrame({"water_id": ["W"], "kind": ["river"]},
                             geometry=[LineString([(0.0, -0.01), (0.0, 0.01)])], crs="EPSG:4326")
    paths = folder / "sites.geojson", folder / "water.geojson"
    sites.to_file(paths[0])
    water.to_file(paths[1])
    return paths


def _argv(folder: Path, out: Path) -> list[str]:
    sites, water = _inputs(folder)
    return ["--workspace", str(folder / "none.gpkg"), "check", "--layer", f"mining_sites={sites}",
            "--layer", f"water_bodies={water}", "--only", "HG-WATER-100", "--out", str(out), "--no-record"]


def _program(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PROGRAM, str(ROOT / "cli.py"), *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_check_as_a_program_ends_without_tearing_down_and_writes_what_an_in_process_run_writes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    proc = _program(_argv(tmp_path, tmp_path / "program.csv"), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "atexit ran" in proc.stderr
    assert "freed" not in proc.stderr  # the process ended holding the check's outcome
    assert "Traceback" not in proc.stderr
    assert cli.main(_argv(tmp_path, tmp_path / "main.csv")) == 0
    out, _ = capsys.readouterr()
    assert proc.stdout == out.replace("main.csv", "program.csv")  # every line, through a pipe
    assert "2 violations in 1 rule run" in proc.stdout
    assert (tmp_path / "program.csv").read_bytes() == (tmp_path / "main.csv").read_bytes()


def test_a_refusal_as_a_program_keeps_its_message_and_exit_code(tmp_path: Path) -> None:
    proc = _program(["--workspace", str(tmp_path / "none.gpkg"), "check", "--layer",
                     f"mining_sites={tmp_path / 'absent.geojson'}", "--only", "HG-WATER-100", "--no-record"], tmp_path)
    assert proc.returncode == 2
    assert "absent.geojson" in proc.stderr and "Traceback" not in proc.stderr


def test_the_process_is_not_ended_while_another_thread_runs(capsys: pytest.CaptureFixture[str]) -> None:
    release = threading.Event()
    worker = threading.Thread(target=release.wait)
    worker.start()
    try:
        cli._end_now(0)  # returns: ending now would cut the worker off
    finally:
        release.set()
        worker.join()
    print("still here")
    assert capsys.readouterr().out == "still here\n"


def test_a_layer_loaded_for_a_process_that_ends_is_out_of_the_collectors_reach(tmp_path: Path) -> None:
    sites, _ = _inputs(tmp_path)
    try:
        with frozen_after_load():
            kept = load_layer(sites, "mining_sites").gdf.geometry.to_numpy()
        after = load_layer(sites, "mining_sites").gdf.geometry.to_numpy()  # outside: as any other process
        walked = {id(o) for o in gc.get_objects()}  # what the collector's passes walk (frozen objects are not)
        assert all(gc.is_tracked(g) for g in kept)
        assert not any(id(g) in walked for g in kept)
        assert all(id(g) in walked for g in after)
    finally:
        gc.unfreeze()


# Runs cli.py as ``__main__`` in a fresh interpreter, noting each collection made while it imports the project's
# modules (from ``commands`` to its last import, ``services.arguments``), and whether the collector is on at the end.
IMPORTS = """
import atexit, gc, os, runpy, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))
early = []
gc.callbacks.append(lambda phase, info: early.append(1) if phase == "start" and "commands" in sys.modules
                    and "services.arguments" not in sys.modules else None)
atexit.register(lambda: sys.stderr.write(f"collections during the imports: {len(early)}; on: {gc.isenabled()}"))
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_as_a_program_the_imports_run_no_collection_and_the_command_runs_with_the_collector_on(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", IMPORTS, str(ROOT / "cli.py"), "check", "--help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "LAYER=PATH" in proc.stdout
    assert "collections during the imports: 0; on: True" in proc.stderr


def _loaded_after_main(argv: list[str], cwd: Path) -> tuple[int, set[str]]:
    code = ("import json, sys, cli\ncode = cli.main(json.loads(sys.argv[1]))\n"
            "print(json.dumps([code, sorted(sys.modules)]))")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(argv)], cwd=cwd, capture_output=True, text=True,
                         check=True, timeout=300)
    got, loaded = json.loads(out.stdout.splitlines()[-1])
    return got, set(loaded)


def test_a_check_of_files_loads_no_case_work(tmp_path: Path) -> None:
    sites, water = _inputs(tmp_path)
    code, loaded = _loaded_after_main(["--workspace", str(tmp_path / "none.gpkg"), "check", "--layer",
                                       f"mining_sites={sites}", "--layer", f"water_bodies={water}", "--only",
                                       "HG-WATER-100", "--no-record"], ROOT)
    assert code == 0
    assert "services.checks" in loaded  # the check ran
    assert sorted(m for m in CASE_WORK if m in loaded) == []
