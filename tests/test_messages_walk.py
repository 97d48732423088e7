"""Messages found vague by walking the command line with the real files of ../shared/data as a new
analyst would (2026-11-27):

- ``check --set mining_sites.uses_mercury=true`` on the workspace (no ``--layer``) used the value
  nowhere: the run flagged nothing and a note said no site had the field. ``--set`` fills fields of
  ``--layer`` files, so a value for a layer no file gives is refused, naming the flag, the value and
  what to do; given with the file it still fills it.
- Peru's ``riverbank_not_mining_points.geojson`` (points, named after a river bank) is read as
  ``water_bodies`` from its name, and its 241 errors said "geometry type LineString, ... for
  water_bodies" with no word of why water bodies; validate and import now say the type was read
  from the file name and to pass ``--layer``. A file given ``--layer``, or valid, gets no such note.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import cli

DATA = Path("/work/shared/data")
DREDGE = DATA / "peru" / "dredge_mining_points.geojson"
RIVERBANK = DATA / "peru" / "riverbank_not_mining_points.geojson"
RIVERS = DATA / "peru" / "gshhg_rivers_madre_de_dios.geojson"
NOTE = ("read as layer water_bodies, the type its file name suggests; if the file holds another kind of feature, "
        "pass --layer with its type, one of ['admin_areas', 'deposits', 'facilities', 'licences', 'mercury_trade', "
        "'miners', 'mining_sites', 'receptors', 'residential_areas', 'samples', 'tailings', 'water_bodies', 'zones']")


@pytest.fixture
def workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    ws = tmp_path / "peru.gpkg"
    assert cli.main(["--workspace", str(ws), "import", str(RIVERS), "--repair", "--set", "kind=river"]) == 0
    assert cli.main(["--workspace", str(ws), "import", str(DREDGE), "--layer", "mining_sites"]) == 0
    capsys.readouterr()
    return ws


def test_check_refuses_a_set_for_a_layer_no_file_gives(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = workspace.read_bytes()
    assert cli.main(["--workspace", str(workspace), "check", "--set", "mining_sites.uses_mercury=true"]) == 2
    assert capsys.readouterr().err == (
        "hgwatch: --set mining_sites.uses_mercury=true: fills field 'uses_mercury' of a mining_sites file given with"
        " --layer mining_sites=PATH, and no mining_sites file is given: the stored mining_sites would be checked"
        " without it; expected --layer mining_sites=PATH beside it, or the value stored with the layer"
        " (import FILE --set uses_mercury=true)\n")
    assert workspace.read_bytes() == before  # no run recorded
    assert cli.main(["--workspace", str(workspace), "check", "--no-record", "--layer", f"water_bodies={RIVERS}",
                     "--repair", "--set", "water_bodies.kind=river", "--set", "mining_sites.uses_mercury=true"]) == 2
    assert "--set mining_sites.uses_mercury=true: fills field" in capsys.readouterr().err


def test_check_fills_a_set_field_of_a_file_given(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--workspace", str(workspace), "check", "--no-record", "--only", "HG-WATER-100",
                     "--layer", f"mining_sites={DREDGE}", "--layer", f"water_bodies={RIVERS}", "--repair",
                     "--set", "water_bodies.kind=river", "--set", "mining_sites.uses_mercury=true"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("HG-WATER-100"))
    assert row.split()[2] == "41"  # every dredge point checked: the value reached the file's sites
    assert "has none of them" not in out


def test_a_file_read_as_the_layer_its_name_suggests_says_so_when_it_has_errors(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", str(RIVERBANK)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "241 error(s):"
    assert out[-2:] == ["1 info(s):", f"  info: riverbank_not_mining_points.geojson: {NOTE}"]
    ws = tmp_path / "ws.gpkg"
    assert cli.main(["--workspace", str(ws), "import", str(RIVERBANK)]) == 2
    err = capsys.readouterr().err
    assert f"hgwatch: riverbank_not_mining_points.geojson: 241 problem(s); nothing was imported ({NOTE})\n" in err
    assert not ws.exists()
    assert cli.main(["validate", str(RIVERBANK), "--layer", "mining_sites"]) == 0  # what it holds: sites
    assert cli.main(["validate", str(DATA / "ghana" / "gshhg_lakes.geojson")]) == 0
    assert "info" not in capsys.readouterr().out
