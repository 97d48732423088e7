"""Issue 13: ``cli.py check`` of files, not recorded, loads no module it does not use.

The check is run as a program (``cli.py`` as ``__main__``: its start-up prefetch, its quick exit),
in a fresh interpreter, and the modules loaded by its end are listed from an exit handler (the
quick exit runs those). A module listed in ``UNUSED`` is one such a check never calls: the writer
lock (filelock: nothing is written to the workspace), password hashing (argon2: the run acts as
the command line's analyst, no one signs in), the "did you mean" suggestions (difflib: for a file
with an unknown value only), the API, dashboard, ODK, field pack and dossier modules, and the other
subcommands' modules (``cli.COMMANDS``). The check's answer is asserted too, so that the test
cannot pass on a check that failed early.
"""
from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

import cli

ROOT = Path(__file__).resolve().parents[1]
UNUSED = ("filelock", "argon2", "difflib",
          "streamlit", "api", "app", "pygeoapi", "services.odk", "services.fieldpack", "services.dossier",
          "render.dossier", "render.report", "render.map", "services.tiles",
          *(m for m in cli.COMMANDS if m != "commands.rules"))  # the other subcommands' modules
LISTED = """
import atexit, json, runpy, sys
listed = sys.argv[1]
atexit.register(lambda: open(listed, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_a_check_of_files_loads_no_writer_lock_account_suggestion_or_page_module(tmp_path: Path) -> None:
    sites = gpd.GeoDataFrame({"site_id": ["S1", "S2"], "uses_mercury": [True, True]},
                             geometry=[Point(-1.0, 6.0), Point(-1.0, 6.5)], crs="EPSG:4326")
    water = gpd.GeoDataFrame({"water_id": ["W1"], "kind": ["river"]},
                             geometry=[LineString([(-1.0005, 5.9), (-1.0005, 6.1)])], crs="EPSG:4326")
    sites.to_parquet(tmp_path / "sites.parquet")
    water.to_parquet(tmp_path / "water.parquet")
    listed = tmp_path / "modules.json"
    out = subprocess.run(
        [sys.executable, "-c", LISTED, str(listed), str(ROOT / "cli.py"), "--workspace", str(tmp_path / "ws.gpkg"),
         "check", "--layer", "mining_sites=sites.parquet", "--layer", "water_bodies=water.parquet",
         "--only", "HG-WATER-100", "--out", "v.csv", "--no-record"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "1 violation in 1 rule run" in out.stdout  # S1 is ~55 m from the river, S2 ~11 km
    assert pd.read_csv(tmp_path / "v.csv")["subject_id"].tolist() == ["S1"]
    loaded = set(json.loads(listed.read_text()))
    assert "services.hgwatch" in loaded and "geo.rules.evaluate" in loaded  # the check itself ran here
    assert sorted(m for m in loaded if any(m == u or m.startswith(f"{u}.") for u in UNUSED)) == []
    assert not (tmp_path / "ws.gpkg").exists()  # nothing was written to the workspace


def test_each_command_module_adds_the_subcommands_cli_names_it_with() -> None:
    """``cli.COMMANDS`` names each module's subcommands: what picks the module a run loads."""
    for name, subcommands in cli.COMMANDS.items():
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(name).register(sub)
        assert tuple(sub.choices) == subcommands, name
    every = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert list(every.choices or ()) == [c for subcommands in cli.COMMANDS.values() for c in subcommands]


@pytest.mark.parametrize(("argv", "modules"), [
    (["check", "--layer", "mining_sites=s.parquet"], ["commands.rules"]),
    (["--workspace", "users", "import", "f.geojson"], ["commands.files"]),  # a workspace named users
    (["--work", "check", "--as=ana", "--database-url=x", "users", "list"], ["commands.users"]),  # --work: a prefix
    (["--as", "ana", "-h", "submissions", "import", "f.zip"], ["commands.submissions"]),
    (["--help"], list(cli.COMMANDS)), ([], list(cli.COMMANDS)), (["chekc"], list(cli.COMMANDS)),
    (["--", "check"], list(cli.COMMANDS)),  # argparse takes "--" for the subcommand, and refuses it
])
def test_a_run_loads_its_subcommands_module_and_help_loads_them_all(argv: list[str], modules: list[str]) -> None:
    assert [m.__name__ for m in cli.command_modules(argv)] == modules


@pytest.mark.parametrize("argv", [["check"], ["--as", "ana", "users", "list"], ["tiles"]])
def test_the_usage_line_of_a_run_names_every_subcommand(argv: list[str]) -> None:
    """What an error of a run prints first (``check --bogus``): the whole parser's usage line."""
    assert cli.build_parser(argv).format_usage() == cli.build_parser().format_usage()


COUNT_FRAMES = """
import geopandas as gpd
made = []
init = gpd.GeoDataFrame.__init__
def counting(self, *args, **kwargs):
    made.append(type(self).__name__)
    init(self, *args, **kwargs)
gpd.GeoDataFrame.__init__ = counting
import cli
cli.build_parser()
print(len(made))
"""


def test_loading_the_command_line_builds_no_layer() -> None:
    """No module builds a GeoDataFrame at import (services.hgwatch built two empty ones, ~3-8 ms of
    every command's start-up): each is made when first needed."""
    out = subprocess.run([sys.executable, "-c", COUNT_FRAMES], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.split() == ["0"]


def test_the_empty_answers_are_the_layers_they_were() -> None:
    from services import hgwatch

    violations, sites = hgwatch._empty("severity"), hgwatch._empty()
    assert list(violations.columns) == ["severity", "geometry"] and len(violations) == 0
    assert list(sites.columns) == ["geometry"] and violations.crs == sites.crs == "EPSG:4326"
    assert hgwatch._empty("severity") is violations  # one object, as the constants were
