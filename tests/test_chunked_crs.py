"""A file read in chunks has its CRS judged on the whole file, as a whole read judges it (issue 13:
"a chunked run equals a whole-file run"). A file with no CRS is taken as longitude/latitude only when
most of its coordinates fit; a file that claims longitude/latitude is refused when most are out of
range. The chunked read judged the first chunk alone: a file whose first rows fitted and whose rest
was in metres was read as degrees (each row then an out-of-range error), and a file whose first rows
were in metres was refused although most of it fitted."""
from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

import cli
from geo.errors import CRSError
from layers.catalogue import spec_for
from layers.io.chunked import read_chunks, validate_chunks
from layers.io.readers import read_raw
from layers.io.validate import in_file_order, validate

DEGREES = [shapely.Point(-1.5 + i / 100, 6.0 + i / 100) for i in range(8)]
METRES = [shapely.Point(500_000.0 + 10 * i, 700_000.0 + 10 * i) for i in range(8)]
# (first rows, the rest): the whole file's verdict differs from its first chunk's
LAYOUTS = {
    "degrees first, metres most": DEGREES[:2] + METRES[:4],
    "metres first, degrees most": METRES[:2] + [None] + DEGREES[:4],
    "metres first, degrees most but a half": METRES[:3] + DEGREES[:3],  # one half: kept (no majority out)
    "all in metres": METRES[:6],
}


def _write(tmp_path: Path, suffix: str, geoms: list[shapely.Point | None]) -> Path:
    """Sites in ``geoms`` in a file that declares no CRS (GeoParquet ``crs: null``, a GeoPackage with
    an undefined SRS) or, for GeoJSON, one that claims longitude/latitude (RFC 7946)."""
    gdf = gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(len(geoms))]}, geometry=geoms, crs=None)
    path = tmp_path / f"sites{suffix}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyogrio: "'crs' was not provided"
        if suffix == ".parquet":
            gdf.to_parquet(path)
        else:
            gdf.to_file(path, engine="pyogrio")
    return path


def _whole(path: Path) -> list[str] | str:
    try:
        gdf, notes = read_raw(path)
    except CRSError as exc:
        return str(exc)
    _, found = validate(gdf, spec_for("mining_sites"), source=path.name)
    return [repr(p) for p in in_file_order(notes + found, spec_for("mining_sites").field_names)]


def _chunked(path: Path, rows: int) -> list[str] | str:
    try:
        _, found = validate_chunks(read_chunks(path, rows), spec_for("mining_sites"), source=path.name)
    except CRSError as exc:
        return str(exc)
    return [repr(p) for p in found]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("suffix", [".parquet", ".gpkg", ".geojson"])
@pytest.mark.parametrize("rows", [1, 2, 4, 100])
def test_the_crs_is_judged_on_the_whole_file(tmp_path: Path, suffix: str, layout: str, rows: int) -> None:
    path = _write(tmp_path, suffix, LAYOUTS[layout])
    whole = _whole(path)
    assert _chunked(path, rows) == whole
    refused = layout in ("degrees first, metres most", "all in metres")
    assert isinstance(whole, str) == refused  # the whole read's verdict, as the policy says
    if refused:  # the message gives the whole file's bounds, not the first chunk's
        bounds = gpd.GeoSeries(LAYOUTS[layout]).total_bounds
        assert str(tuple(round(float(b), 3 if suffix != ".geojson" else 1) for b in bounds)) in whole
    else:
        assert any("out of range" in p or "range" in p for p in whole)  # the rows in metres: errors, named


def test_a_chunked_import_refused_at_the_end_stores_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The first chunks fit, so the file is refused only once its last chunk is tallied: the import
    says the whole-file message, exits 2, and the workspace holds what it held before."""
    ws = tmp_path / "ws.gpkg"
    good = gpd.GeoDataFrame({"site_id": ["K1"]}, geometry=[shapely.Point(-1.0, 6.0)], crs=4326)
    good.to_parquet(tmp_path / "good.parquet")
    assert cli.main(["--workspace", str(ws), "import", str(tmp_path / "good.parquet"), "--layer", "mining_sites"]) == 0
    with sqlite3.connect(ws) as con:
        before = con.execute("SELECT site_id FROM mining_sites").fetchall()
    path = _write(tmp_path, ".parquet", LAYOUTS["degrees first, metres most"])
    capsys.readouterr()
    code = cli.main(["--workspace", str(ws), "import", str(path), "--layer", "mining_sites", "--replace",
                     "--chunk-rows", "2"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines()[-1] == f"hgwatch: {_whole(path)}"  # after the progress lines
    assert "Traceback" not in err
    with sqlite3.connect(ws) as con:
        assert con.execute("SELECT site_id FROM mining_sites").fetchall() == before == [("K1",)]
