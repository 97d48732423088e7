"""Samples and ids as they come from laboratories and real files (H2W's walk).

A laboratory's CSV with units that cannot be its medium's (``bananas``, ``mg/kg`` for water, ``%``
for water) used to be stored, and the overlays page then refused it row by row; '<0.1' with
below_detection false was silently read as below detection; 'ND' was told only "expected a number".
Peru's riverbank file has an ``id`` column null in all 241 rows: 241 "required value is missing".
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

import cli
from geo.errors import Problem
from layers.catalogue import spec_for
from layers.io.chunked import read_chunks, validate_chunks
from layers.io.readers import read_raw
from layers.io.validate import in_file_order, validate
from layers.store.workspace import Workspace

PERU = Path(__file__).resolve().parents[2] / "shared" / "data" / "peru"
needs_data = pytest.mark.skipif(not (PERU / "riverbank_not_mining_points.geojson").exists(),
                                reason="needs the real open data in ../shared/data/peru")

LAB = """sample_id,medium,hg,below_detection,unit,lon,lat
W1,water,0.4,,ug/L,-1.60,6.20
W2,water,0.5,,bananas,-1.61,6.21
W3,water,0.6,,mg/kg,-1.62,6.22
W4,water,2,,%,-1.63,6.23
S1,soil,1.2,,mg/kg,-1.64,6.24
S2,soil,<0.1,false,mg/kg,-1.65,6.25
S3,soil,ND,,mg/kg,-1.66,6.26
S4,soil,<0.2,true,ug/g,-1.67,6.27
"""


def _lab(tmp_path: Path) -> Path:
    path = tmp_path / "lab.csv"
    path.write_text(LAB, encoding="utf-8")
    return path


def test_a_unit_wrong_for_its_medium_a_contradicting_flag_and_nd_are_errors_naming_the_row(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lab, ws = _lab(tmp_path), tmp_path / "ws.gpkg"
    assert cli.main(["--workspace", str(ws), "validate", str(lab), "--layer", "samples"]) == 1
    out = capsys.readouterr().out
    errors = sorted(line.strip() for line in out.splitlines() if line.strip().startswith("error:"))
    assert errors == sorted([
        "error: lab.csv, row 2, id W2, field 'unit': value 'bananas': a known unit of mass per volume for "
        "a water sample (e.g. ug/L, ng/L, mg/L, ug/m^3, ng/m^3)",
        "error: lab.csv, row 3, id W3, field 'unit': value 'mg/kg': a unit of mass per volume for a water "
        "sample (e.g. ug/L, ng/L, mg/L, ug/m^3, ng/m^3), not mass per mass",
        "error: lab.csv, row 4, id W4, field 'unit': value '%': a unit of mass per volume for a water "
        "sample (e.g. ug/L, ng/L, mg/L, ug/m^3, ng/m^3), not mass per mass",
        "error: lab.csv, row 6, id S2, field 'below_detection': value 'false': true or blank: hg is "
        "written '<0.1', below the detection limit, so the two fields contradict; correct one of them",
        "error: lab.csv, row 7, id S3, field 'hg': value 'ND': expected a number such as 2.5 or 2,5, "
        "without thousands separators; a value below the detection limit (ND, n.d., BDL) is written "
        "'<limit', e.g. '<0.1'",
    ])
    # nothing is stored; the rows that can be used go in once the others are corrected
    assert cli.main(["--workspace", str(ws), "import", str(lab), "--layer", "samples"]) == 2
    capsys.readouterr()
    fixed = lab.read_text(encoding="utf-8").replace("bananas", "ug/L").replace("0.6,,mg/kg", "0.6,,mg/L") \
        .replace("2,,%", "2,,ng/L").replace("false", "true").replace("ND,", "<0.05,")
    lab.write_text(fixed, encoding="utf-8")
    assert cli.main(["--workspace", str(ws), "import", str(lab), "--layer", "samples"]) == 0
    stored = Workspace(ws).read("samples").set_index("sample_id")
    assert len(stored) == 8
    assert stored.loc["S2", "below_detection"] and stored.loc["S3", "below_detection"]
    assert stored.loc["S3", "hg"] == 0.05 and not stored["below_detection"].fillna(False)["S1"]


def _whole_and_chunked(gdf: gpd.GeoDataFrame, path: Path, layer: str) -> tuple[list[Problem], list[Problem]]:
    """The problems of ``gdf`` written as a GeoParquet at ``path``, validated whole and 3 records at a time."""
    gdf.to_parquet(path)
    spec = spec_for(layer)
    raw, notes = read_raw(path)
    _, found = validate(raw, spec, source=path.name)
    _, chunked = validate_chunks(read_chunks(path, 3), spec, source=path.name)
    return in_file_order(notes + found, spec.field_names), chunked  # as load_layer orders them


def test_the_unit_check_holds_in_a_chunked_run(tmp_path: Path) -> None:
    """The same problems, in the same order, when a GeoParquet is validated 3 records at a time."""
    import pandas as pd

    frame = pd.read_csv(_lab(tmp_path), dtype=str)
    gdf = gpd.GeoDataFrame(frame.drop(columns=["lon", "lat"]),
                           geometry=gpd.points_from_xy(frame["lon"].astype(float), frame["lat"].astype(float)),
                           crs=4326)
    whole, chunked = _whole_and_chunked(gdf, tmp_path / "lab.parquet", "samples")
    assert [repr(p) for p in chunked] == [repr(p) for p in whole]
    assert [(p.row, p.field, p.kind) for p in whole] == [
        (2, "unit", "unit"), (3, "unit", "unit"), (4, "unit", "unit"), (6, "below_detection", "contradiction"),
        (7, "hg", "type")]  # in file order (HR, session 19), as every command lists them


@needs_data
def test_peru_riverbank_file_with_every_id_null_gets_generated_ids(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Its 'id' column is null in all 241 rows: read as no id column (ids generated, one warning),
    not 241 "required value is missing"."""
    path, ws = PERU / "riverbank_not_mining_points.geojson", tmp_path / "ws.gpkg"
    assert cli.main(["--workspace", str(ws), "validate", str(path), "--layer", "mining_sites"]) == 0
    out = capsys.readouterr().out
    assert "required value is missing" not in out
    assert ("warning: riverbank_not_mining_points.geojson, field 'site_id': the 'site_id' column is empty "
            "in every row; ids were generated as 'riverbank_not_mining_points-<row>'") in out
    assert cli.main(["--workspace", str(ws), "import", str(path), "--layer", "mining_sites"]) == 0
    stored = Workspace(ws).read("mining_sites")
    assert sorted(stored["site_id"]) == sorted(f"riverbank_not_mining_points-{r}" for r in range(1, 242))


def test_ids_empty_in_one_chunk_only_are_missing_as_in_a_whole_file_run(tmp_path: Path) -> None:
    """A chunk whose ids are all null, in a file that has ids: each of its rows is missing its id
    (not ids generated for that chunk), as a whole-file run says."""
    gdf = gpd.GeoDataFrame({"site_id": ["A", "B", "C", None, None, None, "G"], "status": ["active"] * 7},
                           geometry=[shapely.Point(-1.6 + k / 100, 6.2) for k in range(7)], crs=4326)
    whole, chunked = _whole_and_chunked(gdf, tmp_path / "sites.parquet", "mining_sites")
    assert [(p.row, p.feature_id, p.kind) for p in whole if p.field == "site_id"] == [
        (4, None, "missing"), (5, None, "missing"), (6, None, "missing")]
    assert [repr(p) for p in chunked] == [repr(p) for p in whole]


def test_a_surface_with_no_leave_one_out_estimate_says_so_in_its_tags(tmp_path: Path) -> None:
    """Two samples 10 km apart with a 2 km reach: neither can be predicted from the other. The GeoTIFF's
    HGW_LOO_CV tag said 'rmse=nan mae=nan'; it now says what the surface says."""
    import numpy as np
    import rasterio
    from pyproj import CRS

    from geo.contamination import Guideline, interpolate
    from services.contamination import write_surface

    surf = interpolate(np.array([[0.0, 0.0], [10_000.0, 0.0]]), np.array([0.3, 0.9]), crs=CRS.from_epsg(32630),
                       unit="ug/L", cell_m=500.0, max_distance_m=2000.0)
    assert surf.cross_validation.n == 0
    out = write_surface(surf, tmp_path / "s.tif", medium="water",
                        guidelines={"water": Guideline("water", 6.0, "ug/L", "total", "guideline", "WHO")})
    with rasterio.open(out) as src:
        tag = src.tags()["HGW_LOO_CV"]
    assert tag == ("n=0: leave-one-out error: cannot be estimated, no sample has another within 2000 m "
                   "to be predicted from")
    assert "nan" not in tag


def test_a_sample_just_across_the_admin_boundary_covers_a_site(tmp_path: Path) -> None:
    """Site S1 (area A) has a recent water sample 221 m away, in area B. With the area filter on A the
    gap list ignored it (the samples were filtered by area too) and listed S1 as unmonitored. Now S1 is
    covered; S2, 10 km from any sample, is still listed, with its nearest sample at the exact
    geodesic distance."""
    from datetime import date

    from pyproj import Geod

    from services.hgwatch import HgWatch
    from services.view import Filters
    from settings import Settings

    sites = tmp_path / "sites.csv"
    sites.write_text("site_id,name,status,uses_mercury,mercury_kg_per_year,admin_area,lon,lat\n"
                     "S1,One,active,yes,10,A,-1.600,6.200\nS2,Two,active,yes,10,A,-1.700,6.300\n", encoding="utf-8")
    samples = tmp_path / "samples.csv"
    samples.write_text("sample_id,medium,hg,unit,sampled_on,admin_area,lon,lat\n"
                       "W1,water,0.4,ug/L,2026-01-10,B,-1.598,6.200\n", encoding="utf-8")
    ws = tmp_path / "ws.gpkg"
    assert cli.main(["--workspace", str(ws), "import", str(sites), "--layer", "mining_sites"]) == 0
    assert cli.main(["--workspace", str(ws), "import", str(samples), "--layer", "samples"]) == 0
    svc = HgWatch(Settings.from_env({}, workspace=ws))
    by_site, _ = svc.gaps(Filters(admin_areas=("A",)), date(2026, 11, 27))
    assert by_site is not None
    assert list(by_site["site_id"]) == ["S2"]
    _, _, metres = Geod(ellps="WGS84").inv(-1.700, 6.300, -1.598, 6.200)
    assert abs(float(by_site["nearest_sample_m"].iloc[0]) - metres) < 0.01


def _stored_with_a_bad_soil_unit(tmp_path: Path) -> Path:
    """A workspace whose samples hold one soil row in ug/L (stored before imports checked units)
    beside three good water samples, each with an undeclared column 'phone' a partner may not see."""
    samples = tmp_path / "samples.csv"
    samples.write_text("sample_id,medium,hg,unit,sampled_on,phone,lon,lat\n"
                       "W1,water,0.4,ug/L,2026-01-10,555-1,-1.600,6.200\n"
                       "W2,water,8,ug/L,2026-01-10,555-2,-1.605,6.205\n"
                       "W3,water,2,ug/L,2026-01-10,555-3,-1.610,6.200\n"
                       "S1,soil,1.5,mg/kg,2026-01-10,555-4,-1.602,6.203\n", encoding="utf-8")
    ws = tmp_path / "ws.gpkg"
    assert cli.main(["--workspace", str(ws), "import", str(samples), "--layer", "samples"]) == 0
    store = Workspace(ws)
    stored = store.read("samples")
    stored.loc[stored["sample_id"] == "S1", "unit"] = "ug/L"
    store.write_layer("samples", stored, source="samples.csv, S1's unit later edited to ug/L")
    return ws


def test_a_bad_soil_unit_no_longer_refuses_the_water_surface(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """'surface --medium water' was refused because of a soil row's unit (every row was classed, and
    one bad unit refused them all); the water surface is now written and the soil row named as left out."""
    import rasterio

    ws = _stored_with_a_bad_soil_unit(tmp_path)
    out = tmp_path / "water.tif"
    assert cli.main(["--workspace", str(ws), "surface", "--medium", "water", "--out", str(out),
                     "--cell-m", "100", "--max-distance-m", "2000"]) == 0
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert ("id S1, field 'unit': value 'ug/L': a unit of mass per mass for a soil sample (e.g. mg/kg, ug/g, "
            "ng/g, ug/kg, ppm, ppb), not mass per volume; the sample was left out") in printed
    assert "warning: " in printed
    assert "surface of 3 water sample positions" in printed
    with rasterio.open(out) as src:
        assert src.tags()["HGW_SAMPLES"] == "3"


def test_the_api_classes_the_usable_samples_when_one_unit_is_bad(tmp_path: Path) -> None:
    """The partner API served every sample unclassed when any unit was bad; now the three water
    samples carry their classes against WHO's 6 ug/L and the soil row is served with no class.
    The partner's columns stay the profile's: the undeclared 'phone' column is not served."""
    from services import auth
    from services.features import _collections
    from services.hgwatch import HgWatch
    from settings import Settings

    ws = _stored_with_a_bad_soil_unit(tmp_path)
    served = _collections(HgWatch(Settings.from_env({}, workspace=ws), auth.Identity("pat", "partner")),
                          "partner")["samples"]
    classes = dict(zip(served.ids, served.frame["hg_class"].astype(object).where(served.frame["hg_class"].notna(), None)))
    assert classes == {"W1": "below", "W2": "above", "W3": "below", "S1": None}
    assert "phone" not in served.frame.columns and "_row" not in served.frame.columns


def test_a_partners_surface_reads_only_the_sample_columns_a_partner_may_see(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HgWatch.write_surface read the whole samples layer (restricted collector names included) for
    any account; it now reads it as services.auth.read_layer gives it to the account. The real store
    runs; its reads are only recorded. The surface is the same."""
    from services import auth
    from services.hgwatch import HgWatch
    from settings import Settings

    samples = tmp_path / "samples.csv"
    samples.write_text("sample_id,medium,hg,unit,collector_name,lon,lat\n"
                       "W1,water,0.4,ug/L,Ama Mensah,-1.600,6.200\nW2,water,8,ug/L,Kofi Boateng,-1.605,6.205\n",
                       encoding="utf-8")
    ws = tmp_path / "ws.gpkg"
    assert cli.main(["--workspace", str(ws), "import", str(samples), "--layer", "samples"]) == 0
    reads: list[tuple[str, tuple[str, ...] | None]] = []
    shared: list[bool] = []
    real = Workspace.read

    def recorded(self: Workspace, layer: str, columns: object = None, *, shared_only: bool = False) -> gpd.GeoDataFrame:
        reads.append((layer, None if columns is None else tuple(columns)))  # type: ignore[arg-type]
        shared.append(shared_only)
        return real(self, layer, columns, shared_only=shared_only)  # type: ignore[arg-type]

    monkeypatch.setattr(Workspace, "read", recorded)
    svc = HgWatch(Settings.from_env({}, workspace=ws), auth.Identity("pat", "partner"))
    surface, _, _ = svc.write_surface(tmp_path / "p.tif", medium="water", cell_m=100.0, max_distance_m=1000.0)
    assert surface.n_samples == 2
    assert [layer for layer, _ in reads] == ["samples"] and shared == [True]  # no hair sample read either
    columns = reads[0][1]
    assert columns is not None and "collector_name" not in columns and {"medium", "hg", "unit"} <= set(columns)
