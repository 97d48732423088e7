"""Ctrl-C at any moment of a command ends it with one line, ``hgwatch: interrupted; the workspace is
unchanged``, and exit code 130: no traceback, the workspace (GeoPackage and PostGIS) as it was, and
no file left beside it or beside an output. Until 2026-11-27 a Ctrl-C while cli.py loaded its
modules printed a KeyboardInterrupt traceback.

Each case runs ``cli.py`` as a program in a real process and sends that process a real SIGINT at a
chosen moment, so the test does not depend on time: a small driver (written below) has the process
send the signal to itself when a named module starts loading (start-up), or when a named function
of HgWatch is called (reading a file, writing the output, writing the workspace inside its
transaction), then runs ``cli.py`` as ``__main__`` with the command's arguments. The function
itself is the real one and runs (or is about to run) for real.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cli
from tests.conftest import SHARED

ROOT = Path(__file__).resolve().parents[1]
GHANA = SHARED / "ghana" / "amw_mining_footprints_2024.geojson"
RIVERS = SHARED / "ghana" / "gshhg_rivers.geojson"
LINE = "hgwatch: interrupted; the workspace is unchanged"

DRIVER = '''
import importlib, os, runpy, signal, sys

where, when = sys.argv[1], sys.argv[2]  # "module" (start-up) or "module:function"; "before"/"after" the call


def interrupt():
    os.kill(os.getpid(), signal.SIGINT)


if ":" not in where:  # start-up: the signal arrives as cli.py starts to load ``where``
    class Finder:
        def find_spec(self, name, path=None, target=None):
            if name == where:
                sys.meta_path.remove(self)
                interrupt()
            return None
    sys.meta_path.insert(0, Finder())
else:
    module_name, function = where.split(":")
    module = importlib.import_module(module_name)
    real = getattr(module, function)

    def wrapped(*args, **kwargs):
        if when == "before":
            interrupt()
        out = real(*args, **kwargs)
        interrupt()
        return out
    setattr(module, function, wrapped)
sys.argv = [sys.argv[3], *sys.argv[4:]]
sys.path.insert(0, os.path.dirname(sys.argv[0]))
runpy.run_path(sys.argv[0], run_name="__main__")
'''


def _interrupted(tmp_path: Path, where: str, when: str, *args: str) -> tuple[int, list[str]]:
    """Run ``cli.py ARGS`` with a SIGINT at ``where``; the exit code and stderr without progress lines."""
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("HGWATCH_DATABASE_URL", None)
    done = subprocess.run([sys.executable, str(driver), where, when, str(ROOT / "cli.py"), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr, done.stderr
    shown = done.stderr.splitlines()
    return done.returncode, [line for line in shown
                             if not line.startswith(("[", "  ")) and not line.endswith((" warning:", " warnings:"))]


def _state(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with the Ghana rivers and AMW footprints, made once."""
    ws = tmp_path_factory.mktemp("made") / "ws.gpkg"
    assert cli.main(["--workspace", str(ws), "import", str(RIVERS), "--repair", "--set", "kind=river"]) == 0
    assert cli.main(["--workspace", str(ws), "import", str(GHANA), "--repair"]) == 0
    return ws


@pytest.fixture
def workspace(made: Path, tmp_path: Path) -> Path:
    """A copy of ``made``, alone in a folder of its own."""
    folder = tmp_path / "store"
    folder.mkdir()
    shutil.copyfile(made, folder / made.name)
    return folder / made.name


@pytest.mark.parametrize(("where", "when"), [
    ("geopandas", "start-up"),  # while cli.py loads its modules
    ("services.imports", "start-up"),
    ("layers.io.readers:read_raw", "after"),  # the file read, not yet validated
    ("layers.store.staging:replace", "after"),  # the rows moved in, inside the transaction, before its commit
], ids=["start-geopandas", "start-services", "reading", "writing-workspace"])
def test_ctrl_c_during_an_import_prints_one_line_and_changes_nothing(
        workspace: Path, tmp_path: Path, where: str, when: str) -> None:
    before = _state(workspace.parent)
    file = tmp_path / "new_mining_sites.geojson"
    shutil.copyfile(GHANA, file)
    code, err = _interrupted(tmp_path, where, when, "--workspace", str(workspace), "import", str(file),
                             "--repair", "--replace-all")
    assert (code, err) == (130, [LINE])
    after = _state(workspace.parent)
    after.pop("ws.gpkg.lock", None)
    assert after == before  # the workspace's bytes, and no staging file beside it


@pytest.mark.parametrize(("where", "when"), [
    ("layers.store.gpkg:read_only", "before"),  # about to read the layer
    ("os:replace", "before"),  # the output written in full beside its name, not yet renamed
])
@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_ctrl_c_during_an_export_leaves_no_output_and_no_temporary_file(
        workspace: Path, tmp_path: Path, where: str, when: str, suffix: str) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, err = _interrupted(tmp_path, where, when, "--workspace", str(workspace), "export", "mining_sites",
                             "--out", str(out_dir / f"sites{suffix}"), "--profile", "internal")
    assert (code, err) == (130, [LINE])
    assert list(out_dir.iterdir()) == []


def test_ctrl_c_during_a_check_records_no_run(workspace: Path, tmp_path: Path) -> None:
    before = _state(workspace.parent)
    code, err = _interrupted(tmp_path, "services.checks:run_rules", "after", "--workspace", str(workspace), "check")
    assert (code, err) == (130, [LINE])
    after = _state(workspace.parent)
    after.pop("ws.gpkg.lock", None)
    assert after == before


def test_ctrl_c_during_a_postgis_import_rolls_it_back(pg_url: str, tmp_path: Path) -> None:
    assert cli.main(["--database-url", pg_url, "import", str(GHANA), "--repair"]) == 0
    listed = ["--database-url", pg_url, "layers"]
    first = subprocess.run([sys.executable, str(ROOT / "cli.py"), *listed], capture_output=True, text=True,
                           cwd=ROOT, check=True).stdout
    code, err = _interrupted(tmp_path, "layers.store.postgis:copy_rows", "after", "--database-url", pg_url,
                             "import", str(GHANA), "--repair", "--replace-all", "--source", "second")
    assert (code, err) == (130, [LINE])
    again = subprocess.run([sys.executable, str(ROOT / "cli.py"), *listed], capture_output=True, text=True,
                           cwd=ROOT, check=True).stdout
    assert again == first and "685" in first
