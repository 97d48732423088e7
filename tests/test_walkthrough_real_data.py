"""A new agency's walk through the real open data in ../shared/data (Ghana, Peru, the Amazon):
import each file as the layer it fits, supply what it lacks, run the rules, export for a partner.
Each test pins a defect that walk found; every file is read from ../shared/data, never copied.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import cli
from layers.store.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
GHANA, PERU = DATA / "ghana", DATA / "peru"
needs_data = pytest.mark.skipif(not (GHANA.is_dir() and PERU.is_dir()),
                                reason="needs the real open data in ../shared/data (ghana, peru)")

# The 25 GSHHG river records of the Ghana file whose two points are the same (zero length)
ZERO_LENGTH = [1, 4, 10, 11, 15, 16, 22, 23, 26, 28, 32, 36, 37, 38, 39, 40, 41, 48, 49, 50, 55, 56, 59, 69, 74]


@needs_data
def test_zero_length_gshhg_rivers_are_named_and_left_out_under_repair(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """25 of the 76 Ghana GSHHG rivers are a 'line' of two equal points. make_valid makes each an
    EMPTY line: the import said 'repaired with make_valid into a LineString' and stored 25 records
    with no geometry. Now validation names each one (its WKT, not only GEOS's reason) and does not
    promise that --repair fixes it; under --repair the row is left out, said row by row."""
    rivers = GHANA / "gshhg_rivers.geojson"
    ws = tmp_path / "ws.gpkg"
    assert cli.main(["--workspace", str(ws), "validate", str(rivers), "--layer", "water_bodies",
                     "--set", "kind=river"]) == 1
    out = capsys.readouterr().out
    errors = [line for line in out.splitlines() if line.startswith("  error:")]
    assert [int(re.search(r"row (\d+),", e).group(1)) for e in errors] == ZERO_LENGTH  # type: ignore[union-attr]
    assert ("error: gshhg_rivers.geojson, row 1, id gshhg_rivers-1, field 'geometry': "
            "value 'LINESTRING (-4 7.95982299535, -4 7.95982299535)'") in out
    assert "make_valid leaves nothing of it" in out and "fix it with make_valid" not in out

    assert cli.main(["--workspace", str(ws), "import", str(rivers), "--layer", "water_bodies",
                     "--set", "kind=river", "--repair"]) == 0
    err = capsys.readouterr().err
    assert err.count("the row was left out") == 25 and "into a LineString" not in err
    stored = Workspace(ws).read("water_bodies")
    assert len(stored) == 51 and not stored.geometry.is_empty.any() and not stored.geometry.isna().any()
    kept = {f"gshhg_rivers-{r}" for r in range(1, 77) if r not in ZERO_LENGTH}
    assert set(stored["water_id"]) == kept


@needs_data
def test_zero_length_rivers_left_out_in_a_chunked_import_too(tmp_path: Path) -> None:
    """The same file as GeoParquet, read 20 records at a time: the same 51 rows are stored."""
    import geopandas as gpd

    parquet = tmp_path / "rivers.parquet"
    gpd.read_file(GHANA / "gshhg_rivers.geojson").to_parquet(parquet)
    ws = tmp_path / "ws.gpkg"
    assert cli.main(["--workspace", str(ws), "import", str(parquet), "--layer", "water_bodies",
                     "--set", "kind=river", "--repair", "--chunk-rows", "20"]) == 0
    stored = Workspace(ws).read("water_bodies")
    assert len(stored) == 51 and not stored.geometry.is_empty.any()
    assert set(stored["water_id"]) == {f"rivers-{r}" for r in range(1, 77) if r not in ZERO_LENGTH}
