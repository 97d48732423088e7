"""An ``import --append`` refused because the layer already holds some of the file's ids names the
file, each id's row in it, the id field, the value and what was expected, and says what to do, on
GeoPackage and PostGIS, whole and in chunks. The real case: the Ghana and Amazon AMW footprint files
share a name (``amw_mining_footprints_2024.geojson``) and have no id column, so their generated ids
(``<file stem>-<row>``) are the same; a copy under a name of its own appends. Until 2026-11-27 the
refusal named "workspace" as the file and no row. Real files, real stores; nothing mocked."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

import cli
from tests.conftest import SHARED

DATA = SHARED
GHANA = DATA / "ghana" / "amw_mining_footprints_2024.geojson"
AMAZON = DATA / "amazon" / "amw_mining_footprints_2024.geojson"
ERROR = re.compile(r"^  error: (?P<file>[^,]+), row (?P<row>\d+), field 'site_id': value '(?P<value>[^']+)': "
                   r"a site_id that mining_sites does not already hold$")


def _cli(location: str, *args: str) -> int:
    where = ["--workspace", location] if not location.startswith("postgresql") else ["--database-url", location]
    return cli.main([*where, *args])


def _layers(location: str, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert _cli(location, "layers") == 0
    return capsys.readouterr().out


def _refusal(err: str) -> tuple[str, list[dict[str, str]]]:
    """The refusal's first line and its listed problems."""
    lines = err.splitlines()
    head = next(line for line in lines if line.startswith("hgwatch: "))
    return head, [m.groupdict() for m in map(ERROR.match, lines) if m]


def test_appending_a_second_file_of_the_same_name_says_why_its_ids_clash_and_what_to_do(
        location: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert _cli(location, "import", str(GHANA), "--repair") == 0
    before = _layers(location, capsys)
    assert "685" in before
    assert _cli(location, "import", str(AMAZON), "--repair", "--append") == 2
    err = capsys.readouterr().err
    head, problems = _refusal(err)
    assert "Traceback" not in err
    assert head.startswith("hgwatch: amw_mining_footprints_2024.geojson: cannot append to mining_sites: "
                           "685 ids are already stored; nothing was imported")
    assert "no 'site_id' column, so its ids were generated from its name as 'amw_mining_footprints_2024-<row>'" in head
    assert "give it a name of its own (e.g. <region>_amw_mining_footprints_2024.geojson)" in head
    # the first 50 clashing ids in file order, each on its row: Amazon's rows 1..50 (the Ghana layer holds 1..685)
    assert [(p["file"], int(p["row"]), p["value"]) for p in problems] == [
        ("amw_mining_footprints_2024.geojson", i, f"amw_mining_footprints_2024-{i}") for i in range(1, 51)]
    assert err.rstrip().endswith("(635 more not listed)")
    assert _layers(location, capsys) == before  # nothing changed
    renamed = tmp_path / "amazon_amw_mining_footprints_2024.geojson"
    shutil.copyfile(AMAZON, renamed)
    assert _cli(location, "import", str(renamed), "--repair", "--append") == 0
    assert " 5917 " in _layers(location, capsys)  # 685 + 5232


def _sites(path: Path, ids: list[str]) -> Path:
    frame = gpd.GeoDataFrame({"site_id": ids, "status": ["active"] * len(ids)},
                             geometry=[shapely.Point(-1.5 + i / 100, 6) for i in range(len(ids))], crs=4326)
    if path.suffix == ".csv":
        frame.assign(lon=frame.geometry.x, lat=frame.geometry.y).drop(columns="geometry").to_csv(path, index=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_file(path)
    return path


@pytest.mark.parametrize(("name", "chunks"), [("more_sites.csv", "0"), ("more_sites.geojson", "0"),
                                              ("more_sites.parquet", "0"), ("more_sites.parquet", "2")])
def test_an_id_column_clash_names_each_row_and_says_ids_must_be_unique(
        location: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, chunks: str) -> None:
    assert _cli(location, "import", str(_sites(tmp_path / "sites.geojson", ["A", "B", "C"]))) == 0
    more = _sites(tmp_path / name, ["N1", "C", "N2", "N3", "A"])  # rows 2 and 5 hold ids already stored
    before = _layers(location, capsys)
    extra = ["--chunk-rows", chunks] if name.endswith(".parquet") else []
    assert _cli(location, "import", str(more), "--layer", "mining_sites", "--append", *extra) == 2
    head, problems = _refusal(capsys.readouterr().err)
    assert head == (f"hgwatch: {name}: cannot append to mining_sites: 2 ids are already stored; nothing was "
                    f"imported (layer mining_sites of {_shown(location)} already holds these site_id values). "
                    "A site_id must be unique in its layer: give these rows ids of their own, or import without "
                    "--append to replace the layer")
    assert problems == [{"file": name, "row": "2", "value": "C"}, {"file": name, "row": "5", "value": "A"}]
    assert _layers(location, capsys) == before


def _shown(location: str) -> str:
    """How a refusal names the store: the GeoPackage's path, or the URL without its password."""
    if not location.startswith("postgresql"):
        return location
    from layers.store.pgschema import display_url
    return display_url(location)
