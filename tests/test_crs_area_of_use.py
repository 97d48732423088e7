"""A file whose coordinates cannot be in the projected CRS it declares is refused (``layers.io.crs_area``).

Found in the last session's walk: a GeoJSON, GeoPackage or CSV declaring EPSG:32630 (UTM 30N, metres)
but holding longitude/latitude (-1.6, 6.7 for a site in Ghana) validated clean, and every site was
stored about 1,000 km away, in the sea off the equator. Now such a file is refused by ``validate``,
``import`` and ``check --layer``, whole and in chunks, naming the file, the rows, the values, the CRS and
what was expected; so is a layer that lies nowhere near its CRS's area of use (the wrong hemisphere's
zone). Layers that spread beyond their zone (Ghana in 30N to 1.2°E, Peru in 18S, Norway in EPSG:25833),
tiny projects just outside a zone, polar CRSs and the real data of /work/shared/data in their own and
in reprojected CRSs are still read.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from pyproj import CRS

import cli
from geo.errors import CRSError
from layers.catalogue import spec_for
from layers.io.chunked import read_chunks, validate_chunks
from layers.io.readers import read_raw
from layers.io.validate import validate

DATA = Path("/work/shared/data")
GHANA = [(-1.6, 6.7), (-1.55, 6.75), (-1.5, 6.8), (-1.45, 6.85), (-1.4, 6.9)]  # sites near Obuasi, degrees


def _sites(points: Sequence[tuple[float, float] | None], crs: str | None) -> gpd.GeoDataFrame:
    geoms = [None if p is None else shapely.Point(p) for p in points]
    return gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(len(points))], "status": "active"},
                            geometry=geoms, crs=crs)


def _write(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if path.suffix == ".parquet":
            gdf.to_parquet(path)
        else:
            gdf.to_file(path, engine="pyogrio")
    return path


def _projected(points: list[tuple[float, float]], crs: str) -> list[tuple[float, float]]:
    """``points`` (lon/lat) as coordinates of ``crs``."""
    out = gpd.GeoSeries([shapely.Point(p) for p in points], crs="EPSG:4326").to_crs(crs)
    return [(g.x, g.y) for g in out]


def _refusal(path: Path, crs: str | None = None) -> str | None:
    try:
        read_raw(path, crs=crs)
    except CRSError as exc:
        return str(exc)
    return None


def _chunked_refusal(path: Path, rows: int, crs: str | None = None) -> str | None:
    try:
        validate_chunks(read_chunks(path, rows, crs), spec_for("mining_sites"), source=path.name)
    except CRSError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".parquet"])
def test_degrees_in_a_utm_file_are_refused_whole_and_in_chunks(tmp_path: Path, suffix: str) -> None:
    path = _write(_sites([*GHANA[:2], None, *GHANA[2:]], "EPSG:32630"), tmp_path / f"sites{suffix}")
    whole = _refusal(path)
    assert whole is not None
    assert whole.startswith(f"{path.name}: the file declares its CRS as EPSG:32630 (WGS 84 / UTM zone 30N, in metres)")
    # the first rows (record numbers: row 3 has no geometry) with their values, and how many
    assert "rows 1 (-1.6, 6.7), 2 (-1.55, 6.75), 4 (-1.5, 6.8) and 2 more (5 of 5 geometries)" in whole
    assert "the values look like degrees, not metres" in whole
    assert "row 1 would lie at longitude -7.4888, latitude 0.0001" in whole  # where UTM 30N puts (-1.6 m, 6.7 m)
    assert "outside the CRS's area of use (longitude -6 to 0, latitude 0 to 84)" in whole
    assert whole.endswith("save the file as EPSG:4326 (longitude/latitude), or reproject it to EPSG:32630")
    for rows in (1, 2, 4, 100):
        assert _chunked_refusal(path, rows) == whole


def test_one_row_in_degrees_among_metres_is_refused_with_its_row(tmp_path: Path) -> None:
    """In UTM no coordinate can be within 180 m of the origin: a row left at (0, 0) or typed in degrees
    would be stored ~1,000 km away. The file is refused naming that row, whole and in chunks."""
    metres = _projected(GHANA, "EPSG:32630")
    path = _write(_sites([*metres[:3], (0.0, 0.0), *metres[3:]], "EPSG:32630"), tmp_path / "sites.gpkg")
    whole = _refusal(path)
    assert whole is not None and "row 4 (0, 0) (1 of 6 geometries) are within longitude/latitude range" in whole
    for rows in (1, 3, 100):
        assert _chunked_refusal(path, rows) == whole


def test_a_csv_given_a_projected_crs_for_its_degrees_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    pd.DataFrame({"site_id": ["A", "B"], "lon": [-1.6, -1.5], "lat": [6.7, 6.8]}).to_csv(path, index=False)
    message = _refusal(path, crs="EPSG:32630")
    assert message is not None
    assert message.startswith("sites.csv: --crs 'EPSG:32630' says its CRS is EPSG:32630")
    assert "rows 1 (-1.6, 6.7), 2 (-1.5, 6.8) (2 of 2 geometries)" in message
    assert message.endswith("drop --crs if the values are longitude/latitude")
    assert _refusal(path) is None  # without --crs: longitude/latitude, as the file is


@pytest.mark.parametrize("given", ["+proj=utm +zone=30 +datum=WGS84 +units=m +no_defs",
                                   CRS.from_epsg(32630).to_wkt(version="WKT1_ESRI")])
def test_a_crs_without_an_area_of_its_own_is_judged_by_the_epsg_crs_it_is(tmp_path: Path, given: str) -> None:
    """A PROJ string or ESRI WKT (a Shapefile's .prj) carries no area of use: that of EPSG:32630 is used."""
    path = tmp_path / "sites.csv"
    pd.DataFrame({"site_id": ["A", "B"], "lon": [-1.6, -1.5], "lat": [6.7, 6.8]}).to_csv(path, index=False)
    message = _refusal(path, crs=given)
    assert message is not None and "the values look like degrees, not metres" in message
    metres = tmp_path / "metres.csv"
    xy = _projected([(-1.6, 6.7), (-1.5, 6.8)], "EPSG:32630")
    pd.DataFrame({"site_id": ["A", "B"], "x": [p[0] for p in xy], "y": [p[1] for p in xy]}).to_csv(metres, index=False)
    assert _refusal(metres, crs=given) is None


def test_the_wrong_hemisphere_is_refused_as_far_outside_the_area_of_use(tmp_path: Path) -> None:
    """Coordinates made in UTM 30S (false northing 10,000 km) declared as 30N: the layer would lie near
    the North Pole, nowhere near zone 30N's area."""
    path = _write(_sites(_projected(GHANA, "EPSG:32730"), "EPSG:32630"), tmp_path / "sites.gpkg")
    message = _refusal(path)
    assert message is not None
    assert "every coordinate lies far outside the CRS's area of use (longitude -6 to 0, latitude 0 to 84)" in message
    assert "rows 1 (" in message and "(5 of 5 geometries)" in message
    assert _chunked_refusal(path, 2) == message


def test_the_commands_refuse_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(_sites(GHANA, "EPSG:32630"), tmp_path / "sites.gpkg")
    ws = ["--workspace", str(tmp_path / "ws.gpkg")]
    assert cli.main(["validate", str(path), "--layer", "mining_sites"]) == 1
    assert "the values look like degrees, not metres" in capsys.readouterr().out
    for chunk in ([], ["--chunk-rows", "2"]):
        assert cli.main([*ws, "import", str(path), "--layer", "mining_sites", *chunk]) == 2
        assert "the values look like degrees, not metres" in capsys.readouterr().err
        assert cli.main([*ws, "check", "--only", "WORST-PRACTICE-WHOLE-ORE", "--layer", f"mining_sites={path}",
                         "--no-record", *chunk]) == 2
        assert "the values look like degrees, not metres" in capsys.readouterr().err
    assert not (tmp_path / "ws.gpkg").exists() or "mining_sites" not in str(gpd.list_layers(tmp_path / "ws.gpkg"))


@pytest.mark.parametrize(("crs", "points"), [
    ("EPSG:32630", [(-1.6, 6.7), (1.2, 6.1), (0.9, 10.9)]),  # Ghana in 30N reaching its east border
    ("EPSG:32630", [(0.5, 6.0), (0.6, 6.1)]),  # a tiny project wholly in the next zone east
    ("EPSG:32718", [(-81.3, -5.0), (-68.7, -12.5), (-75.0, -18.3)]),  # Peru in 18S, from coast to border
    ("EPSG:32718", [(-80.5, -5.1)]),  # one site in Piura, 2.5° west of zone 18S (negative easting)
    ("EPSG:25833", [(4.6, 61.0), (31.0, 70.3)]),  # Norway in ETRS89 / UTM 33N, as Norway maps it
    ("EPSG:3031", [(60.0, -70.0), (-120.0, -85.0)]),  # Antarctic polar stereographic
    ("EPSG:3413", [(-45.0, 75.0), (10.0, 89.9)]),  # Arctic polar stereographic
    ("EPSG:3857", [(0.0005, 0.0005), (-1.6, 6.7)]),  # one site within 180 m of Web Mercator's origin
    ("EPSG:2136", [(-1.6, 6.7), (-0.2, 5.6)]),  # Accra / Ghana National Grid, in Gold Coast feet
])
def test_real_layouts_are_read(tmp_path: Path, crs: str, points: list[tuple[float, float]]) -> None:
    path = _write(_sites(_projected(points, crs), crs), tmp_path / "sites.gpkg")
    gdf, _ = read_raw(path)
    back = np.array([(g.x, g.y) for g in gdf.geometry])
    assert np.allclose(back, np.array(points), atol=1e-6)
    assert _chunked_refusal(path, 1) is None


def test_degrees_in_web_mercator_are_refused_only_when_every_coordinate_is(tmp_path: Path) -> None:
    """Web Mercator's origin is in its area of use (the sea at 0°, 0°), so one value near it may be
    real; a whole layer within 180 m of it is degrees."""
    path = _write(_sites(GHANA, "EPSG:3857"), tmp_path / "sites.gpkg")
    message = _refusal(path)
    assert message is not None and "within 180 metres of the CRS's origin" in message


def _real_files() -> list[Path]:
    return sorted(DATA.glob("*/*.geojson"))


def _utm(lon: float, lat: float, shift: int = 0) -> str:
    zone = (int((lon + 180) // 6) + shift) % 60 + 1
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


@pytest.mark.skipif(not DATA.exists(), reason="the shared real data are not on this machine")
@pytest.mark.parametrize("source", _real_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_real_data_are_read_in_their_own_and_reprojected_crss(tmp_path: Path, source: Path) -> None:
    original = gpd.read_file(source, engine="pyogrio")
    assert _refusal(source) is None
    lon, lat = (float(v) for v in original.union_all().centroid.coords[0])
    national = {"ghana": ["EPSG:2136", "EPSG:25000"], "peru": ["EPSG:24892"], "amazon": ["EPSG:5880"]}
    for crs in [_utm(lon, lat), _utm(lon, lat, -1), _utm(lon, lat, 1), "EPSG:3857", *national[source.parent.name]]:
        path = _write(original.to_crs(crs), tmp_path / f"{source.stem}-{crs.replace(':', '')}.gpkg")
        assert _refusal(path) is None, crs
    assert _chunked_refusal(_write(original.to_crs(_utm(lon, lat)), tmp_path / "utm.geojson"), 500) is None


@given(lon=st.floats(-8.9, 5.9), lat=st.floats(-9.0, 83.0), n=st.integers(1, 5))
def test_sites_within_a_zone_and_its_neighbours_are_read_and_their_degrees_are_refused(
        lon: float, lat: float, n: int) -> None:
    """Any layer within one zone either side of UTM 30N is read, and the same layer in degrees declared
    as 30N is refused (in place, without a file: ``place_crs`` is what every reader calls)."""
    from layers.io.crs import place_crs

    points = [(lon + i * 0.01, lat + i * 0.01) for i in range(n)]
    metres = _sites(_projected(points, "EPSG:32630"), "EPSG:32630")
    placed, _ = place_crs(metres, Path("sites.gpkg"), None)
    assert np.allclose([(g.x, g.y) for g in placed.geometry], points, atol=1e-6)
    with pytest.raises(CRSError, match="the values look like degrees, not metres"):
        place_crs(_sites(points, "EPSG:32630"), Path("sites.gpkg"), None)


def test_a_layer_validates_as_it_did_when_its_crs_fits(tmp_path: Path) -> None:
    """The check adds nothing to a file that fits: the same problems as the file in degrees."""
    metres = _write(_sites(_projected(GHANA, "EPSG:32630"), "EPSG:32630"), tmp_path / "m.gpkg")
    degrees = _write(_sites(GHANA, "EPSG:4326"), tmp_path / "d.gpkg")
    spec = spec_for("mining_sites")
    found = [[(p.row, p.field, p.kind) for p in validate(read_raw(f)[0], spec, source="x")[1]] for f in (metres, degrees)]
    assert found[0] == found[1]
