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
- ``import osm_places_2019.geojson --set population=many`` printed 7,197 errors, one per row the value
  filled, each naming a row of the file although the value was the flag's: now one error names the
  flag, the value, the number of rows and the first (whole and chunked imports, validate).
"""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

import cli
from tests.conftest import SHARED

DATA = SHARED
DREDGE = DATA / "peru" / "dredge_mining_points.geojson"
RIVERBANK = DATA / "peru" / "riverbank_not_mining_points.geojson"
RIVERS = DATA / "peru" / "gshhg_rivers_madre_de_dios.geojson"
NOTE = ("read as layer water_bodies, the type its file name suggests; if the file holds another kind of feature, "
        "pass --layer with its type, one of: admin_areas, deposits, facilities, licences, mercury_trade, "
        "miners, mining_sites, receptors, residential_areas, samples, tailings, water_bodies, zones")


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
    assert out[0] == "241 errors:"
    assert out[-2:] == ["1 info:", f"  info: riverbank_not_mining_points.geojson: {NOTE}"]
    ws = tmp_path / "ws.gpkg"
    assert cli.main(["--workspace", str(ws), "import", str(RIVERBANK)]) == 2
    err = capsys.readouterr().err
    assert f"hgwatch: riverbank_not_mining_points.geojson: 241 problems; nothing was imported ({NOTE})\n" in err
    assert not ws.exists()
    assert cli.main(["validate", str(RIVERBANK), "--layer", "mining_sites"]) == 0  # what it holds: sites
    assert cli.main(["validate", str(DATA / "ghana" / "gshhg_lakes.geojson")]) == 0
    assert "info" not in capsys.readouterr().out


PLACES = DATA / "ghana" / "osm_places_2019.geojson"


def _lacking_population() -> tuple[int, int]:
    """Rows of the OSM places without a population, and the first of them (1-based), read with json."""
    features = json.loads(PLACES.read_text())["features"]
    rows = [i for i, f in enumerate(features, 1) if f["properties"].get("population") in (None, "")]
    return len(rows), rows[0]


def test_a_bad_set_value_is_one_error_naming_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    n, first = _lacking_population()
    assert n > 7000
    line = (f"  error: osm_places_2019.geojson, field 'population': value 'many': expected a whole number (the value"
            f" given with --set population=many, in the {n:,} rows that lack population, from row {first})")
    assert cli.main(["--workspace", str(tmp_path / "ws.gpkg"), "import", str(PLACES), "--set", "population=many"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert "hgwatch: osm_places_2019.geojson: 1 problem; nothing was imported" in err
    assert [e for e in err if e.startswith("  error:")] == [line]
    assert cli.main(["validate", str(PLACES), "--set", "population=many"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["1 error:", line] and not any("info" in e for e in out)


def test_a_bad_set_value_in_a_chunked_import_is_one_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "villages.parquet"
    gpd.GeoDataFrame({"area_id": ["a", "b", "c", "d", "e"], "population": [10, None, None, 40, None]},
                     geometry=[shapely.Point(-1.5, 6 + i / 10) for i in range(5)], crs=4326).to_parquet(file)
    assert cli.main(["--workspace", str(tmp_path / "ws.gpkg"), "import", str(file), "--layer", "residential_areas",
                     "--chunk-rows", "2", "--set", "population=many"]) == 2
    errors = [e for e in capsys.readouterr().err.splitlines() if e.startswith(("  error:", "hgwatch:"))]
    assert errors == ["hgwatch: villages.parquet: 1 problem; nothing was imported",
                      "  error: villages.parquet, field 'population': value 'many': expected a whole number (the value"
                      " given with --set population=many, in the 3 rows that lack population, from row 2)"]


@pytest.mark.parametrize("existing", [False, True])
def test_an_error_in_a_later_chunk_of_a_plain_geoparquet_is_a_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], existing: bool) -> None:
    """Found by the test above: text and numbers only, so the chunks go to GDAL as one Arrow stream,
    and the InputError the chunks raise after the last one came out as pyogrio's traceback
    "RuntimeError: Error while accessing batch from stream" (with or without --set)."""
    file = tmp_path / "villages.parquet"
    gpd.GeoDataFrame({"area_id": ["a", "b", "c", "d", "e"], "population": [10, 20, 30, 40, -5]},
                     geometry=[shapely.Point(-1.5, 6 + i / 10) for i in range(5)], crs=4326).to_parquet(file)
    ws = tmp_path / "ws.gpkg"
    if existing:
        assert cli.main(["--workspace", str(ws), "import", str(RIVERS), "--repair", "--set", "kind=river"]) == 0
    before = ws.read_bytes() if existing else None
    capsys.readouterr()
    assert cli.main(["--workspace", str(ws), "import", str(file), "--layer", "residential_areas",
                     "--chunk-rows", "2"]) == 2
    errors = [e for e in capsys.readouterr().err.splitlines() if e.startswith(("  error:", "hgwatch:"))]
    assert errors == ["hgwatch: villages.parquet: 1 problem; nothing was imported",
                      "  error: villages.parquet, row 5, id e, field 'population': value -5: impossible value:"
                      " expected at least 0"]
    assert (ws.read_bytes() if existing else ws.exists()) == (before if existing else False)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".ws")) == []  # no staging file left


def test_a_check_of_files_lacking_a_layer_says_the_workspace_is_not_read(
        workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``check --layer mining_sites=... --only HG-WATER-100`` on a workspace that holds rivers said
    only "rule HG-WATER-100 needs layer 'water_bodies', which was not given"."""
    assert cli.main(["--workspace", str(workspace), "check", "--only", "HG-WATER-100",
                     "--layer", f"mining_sites={DREDGE}", "--set", "mining_sites.uses_mercury=true"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "hgwatch: cannot run the rules: with --layer, every layer the rules read comes from a file, none from the"
        " workspace; expected --layer water_bodies=PATH too, or --only rules that read only mining_sites",
        "  error: layer water_bodies: rule HG-WATER-100 needs layer 'water_bodies', which was not given"]


def test_chunk_rows_on_a_csv_is_refused_before_it_says_it_reads(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It printed "[ 0.0 s] reading ... 5 records at a time" and then refused to read the file so (a GeoJSON
    then; since 38b6b61 a GeoJSON and a GeoPackage of one layer import in chunks, a CSV does not)."""
    csv = tmp_path / "places.csv"
    csv.write_text("area_id,lat,lon\nA,6.0,-1.5\n")
    assert cli.main(["--workspace", str(tmp_path / "ws.gpkg"), "import", str(csv), "--layer", "residential_areas",
                     "--chunk-rows", "5"]) == 2
    assert capsys.readouterr().err == (
        "hgwatch: places.csv: --chunk-rows imports GeoParquet, GeoJSON and GeoPackage in chunks; import this file"
        " whole (--chunk-rows 0), or convert it to GeoParquet\n")
