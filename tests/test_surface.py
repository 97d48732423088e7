"""Surfaces: IDW and kriging with known answers, the grid, the mask, LOO CV, and the COG."""
from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from geo.contamination import interpolate, make_grid, surface_inputs
from geo.contamination.surface import _kriging_model, idw, kriging_cross_validation
from geo.distance import local_tmerc
from geo.errors import InputError
from layers.io.raster import NODATA, surface_tags, to_web_mercator, write_cog

CRS_M = local_tmerc(-1.5, 6.0)
SQUARE = np.array([[0.0, 0.0], [1000.0, 0.0], [0.0, 1000.0], [1000.0, 1000.0]])


def test_idw_reproduces_the_sample_value_at_a_sample() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0])
    assert idw(SQUARE, values, SQUARE).tolist() == [1.0, 2.0, 3.0, 4.0]


def test_idw_at_the_centre_of_a_square_is_the_mean() -> None:
    values = np.array([1.0, 2.0, 3.0, 8.0])
    assert idw(SQUARE, values, np.array([[500.0, 500.0]]))[0] == pytest.approx(3.5)


def test_idw_known_weights_on_a_line() -> None:
    # distances 100 and 300 m, power 2: weights 1/100^2 and 1/300^2 -> (9*a + b) / 10
    xy = np.array([[0.0, 0.0], [400.0, 0.0]])
    est = idw(xy, np.array([10.0, 20.0]), np.array([[100.0, 0.0]]), power=2)
    assert est[0] == pytest.approx((9 * 10 + 20) / 10)


def test_grid_crs_and_transform() -> None:
    xy = np.array([[120.0, 40.0], [2950.0, 1930.0]])
    grid = make_grid(xy, crs=CRS_M, cell_m=100.0, max_distance_m=500.0)
    # x from floor((120-500)/100)*100 = -400 to ceil((2950+500)/100)*100 = 3500
    # y from floor((40-500)/100)*100 = -500 to ceil((1930+500)/100)*100 = 2500
    assert (grid.transform.a, grid.transform.e) == (100.0, -100.0)
    assert (grid.transform.c, grid.transform.f) == (-400.0, 2500.0)
    assert (grid.width, grid.height) == (39, 30)
    x, y = grid.centres()
    assert (x[0, 0], y[0, 0]) == (-350.0, 2450.0)
    assert grid.crs == CRS_M


def test_cells_outside_the_mask_are_nodata(tmp_path: Path) -> None:
    xy = np.array([[0.0, 0.0], [10_000.0, 0.0]])
    surf = interpolate(xy, np.array([1.0, 3.0]), crs=CRS_M, unit="ug/L", cell_m=100.0,
                       max_distance_m=1000.0)
    cx, cy = surf.grid.centres()
    near = np.minimum(np.hypot(cx, cy), np.hypot(cx - 10_000.0, cy))
    assert np.all(np.isnan(surf.values[near > 1000.0]))
    assert np.all(np.isfinite(surf.values[near <= 1000.0]))
    # the gap between the two samples (5 km from both) is never painted
    path = write_cog(surf, tmp_path / "s.tif", tags=surface_tags(surf, medium="water"))
    with rasterio.open(path) as src:
        band = src.read(1)
        row, col = src.index(5000.0, 0.0)
        assert band[row, col] == NODATA
        row, col = src.index(0.0, 0.0)
        assert band[row, col] == pytest.approx(1.0)


def test_cog_is_valid_with_crs_tags_and_overviews(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 30_000, (60, 2))
    surf = interpolate(xy, np.exp(rng.normal(0, 1, 60)), crs=CRS_M, unit="ug/L",
                       method="kriging", cell_m=100.0, max_distance_m=3000.0)
    path = write_cog(surf, tmp_path / "k.tif",
                     tags=surface_tags(surf, medium="water", guideline=6.0,
                                       guideline_citation="WHO GDWQ"))
    with rasterio.open(path) as src:
        assert src.driver == "GTiff"
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.profile["tiled"] and src.block_shapes[0] == (256, 256)
        assert src.overviews(1)
        assert src.count == 2 and src.nodata == NODATA
        assert src.crs.to_wkt() and "Transverse_Mercator" in src.crs.to_wkt()
        assert src.transform == surf.grid.transform
        tags = src.tags()
        assert tags["HGW_UNITS"] == "ug/L" and tags["HGW_METHOD"] == "kriging"
        assert tags["HGW_MEDIUM"] == "water" and tags["HGW_GUIDELINE"] == "6 ug/L"
        assert tags["HGW_LOO_CV"].startswith("n=60 rmse=")
        variance = src.read(2, masked=True)
        assert variance.min() >= 0


def test_loo_cross_validation_reported_per_method() -> None:
    rng = np.random.default_rng(2)
    xy = rng.uniform(0, 10_000, (40, 2))
    values = np.exp(rng.normal(0, 0.5, 40))
    cvs = {m: interpolate(xy, values, crs=CRS_M, unit="ug/L", method=m, cell_m=500.0,
                          max_distance_m=20_000.0).cross_validation for m in ("idw", "kriging")}
    assert cvs["idw"].method == "idw" and cvs["kriging"].method == "kriging"
    assert all(cv.n == 40 and cv.rmse > 0 and cv.mae <= cv.rmse for cv in cvs.values())
    assert cvs["kriging"].rmse_log is not None


def test_idw_loo_known_answer() -> None:
    # three collinear samples 100 m apart: leaving out the middle one gives the mean of the ends
    xy = np.array([[0.0, 0.0], [100.0, 0.0], [200.0, 0.0]])
    surf = interpolate(xy, np.array([1.0, 5.0, 3.0]), crs=CRS_M, unit="ug/L", cell_m=50.0,
                       max_distance_m=150.0)
    # LOO within 150 m: each end sees only the middle (errors |5-1|=4, |5-3|=2);
    # the middle sees both ends at 100 m: (1+3)/2 = 2, error 3
    assert surf.cross_validation.n == 3
    assert surf.cross_validation.mae == pytest.approx((4 + 3 + 2) / 3)


@pytest.mark.parametrize("neighbours", [8, 24])  # a moving neighbourhood, and all others
def test_kriging_loo_matches_refitting_without_each_sample(neighbours: int) -> None:
    from pykrige.ok import OrdinaryKriging

    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 5000, (25, 2))
    values = np.exp(rng.normal(0, 1, 25))
    model = _kriging_model(xy, np.log(values), "exponential")
    cv = kriging_cross_validation(model, xy, values, neighbours=neighbours)
    preds = []
    for i in range(len(xy)):
        keep = np.arange(len(xy)) != i
        ok = OrdinaryKriging(xy[keep, 0], xy[keep, 1], np.log(values[keep]),
                             variogram_model="exponential",
                             variogram_parameters=list(model.variogram_model_parameters))
        z, _ = ok.execute("points", xy[i:i + 1, 0], xy[i:i + 1, 1], backend="C",
                          n_closest_points=neighbours)
        preds.append(float(z[0]))
    rmse_log = math.sqrt(np.mean((np.log(values) - np.array(preds)) ** 2))
    assert cv.rmse_log == pytest.approx(rmse_log, rel=1e-8)
    assert cv.n == 25


def test_kriging_reproduces_samples_and_has_zero_variance_there() -> None:
    rng = np.random.default_rng(6)
    xy = np.round(rng.uniform(0, 4000, (30, 2)) / 100) * 100 + 50  # on cell centres
    values = np.exp(rng.normal(0, 1, 30))
    surf = interpolate(xy, values, crs=CRS_M, unit="ug/L", method="kriging", cell_m=100.0,
                       max_distance_m=1000.0)
    rows = ((surf.grid.transform.f - xy[:, 1]) // 100).astype(int)
    cols = ((xy[:, 0] - surf.grid.transform.c) // 100).astype(int)
    merged = {(r, c): v for r, c, v in zip(rows, cols, values)}
    for (r, c), v in merged.items():
        assert surf.values[r, c] == pytest.approx(v, rel=1e-9)
        assert surf.variance[r, c] == pytest.approx(0.0, abs=1e-9)


def test_kriging_needs_enough_positive_samples() -> None:
    with pytest.raises(InputError, match="too few"):
        interpolate(SQUARE, np.ones(4), crs=CRS_M, unit="ug/L", method="kriging")
    xy = np.random.default_rng(4).uniform(0, 1000, (30, 2))
    with pytest.raises(InputError, match="ln"):
        interpolate(xy, np.r_[0.0, np.ones(29)], crs=CRS_M, unit="ug/L", method="kriging")


def test_surface_inputs_substitute_below_detection_and_filter_medium() -> None:
    gdf = gpd.GeoDataFrame({
        "medium": ["water", "water", "fish"], "hg_value": [0.2, 4.0, 1.0],
        "below_detection": pd.array([True, False, False], dtype="boolean"),
    }, geometry=[Point(-1.5, 6.0), Point(-1.49, 6.0), Point(-1.5, 6.01)], crs=4326)
    xy, values, n_bd = surface_inputs(gdf, medium="water", crs=CRS_M,
                                      below_detection_fraction=0.5)
    assert values.tolist() == [0.1, 4.0] and n_bd == 1
    assert xy[0] == pytest.approx([0.0, 0.0], abs=1e-6)
    assert xy[1, 0] == pytest.approx(1107.1, abs=1.0)  # 0.01 deg of longitude at 6 N


def test_web_mercator_display_keeps_the_data_footprint() -> None:
    xy = np.array([[0.0, 0.0], [2000.0, 2000.0]])
    surf = interpolate(xy, np.array([1.0, 2.0]), crs=CRS_M, unit="ug/L", cell_m=100.0,
                       max_distance_m=500.0)
    warped, ((south, west), (north, east)) = to_web_mercator(surf.values, surf.grid)
    assert south < 6.0 < north and west < -1.5 < east
    assert np.nanmin(warped) >= 1.0 and np.nanmax(warped) <= 2.0
    assert np.isnan(warped).any()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 5000), st.floats(0, 5000), st.floats(0.01, 100)),
                min_size=1, max_size=12))
def test_idw_stays_within_sample_range(points: list[tuple[float, float, float]]) -> None:
    arr = np.array(points)
    surf = interpolate(arr[:, :2], arr[:, 2], crs=CRS_M, unit="ug/L", cell_m=250.0,
                       max_distance_m=1000.0)
    finite = surf.values[np.isfinite(surf.values)]
    assert finite.size > 0
    assert finite.min() >= arr[:, 2].min() - 1e-9 and finite.max() <= arr[:, 2].max() + 1e-9


def _samples_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("sample_id,medium,hg,below_detection,unit,lon,lat\n" + "\n".join(rows) + "\n")
    return path


def test_cli_surface_writes_a_cog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cli

    rng = np.random.default_rng(5)
    rows = [f"S{i},water,{rng.uniform(0.5, 20):.3f},false,ug/L,{-1.6 + rng.uniform(0, 0.1):.5f},"
            f"{6.0 + rng.uniform(0, 0.1):.5f}" for i in range(30)]
    rows.append("S99,water,0.2,true,mg/L,-1.55,6.05")  # 200 ug/L detection limit, converted
    src = _samples_csv(tmp_path / "samples.csv", rows)
    out = tmp_path / "w.tif"
    code = cli.main(["surface", "--medium", "water", "--out", str(out), "--layer",
                     f"samples={src}", "--method", "kriging", "--cell-m", "200",
                     "--max-distance-m", "2000"])
    assert code == 0
    assert "leave-one-out error (31 samples)" in capsys.readouterr().out
    with rasterio.open(out) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert ds.res == (200.0, 200.0) and ds.tags()["HGW_UNITS"] == "ug/L"
        assert "WHO" in ds.tags()["HGW_GUIDELINE_CITATION"]
        assert "below-detection" in ds.tags()["HGW_NOTES"]


def test_cli_surface_refuses_a_soil_unit_in_water(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import cli

    src = _samples_csv(tmp_path / "samples.csv", ["A,water,1.0,false,ug/L,-1.6,6.0",
                                                   "B,soil,2.0,false,ug/L,-1.61,6.0"])
    code = cli.main(["surface", "--medium", "water", "--out", str(tmp_path / "x.tif"),
                     "--layer", f"samples={src}"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "samples.csv, row 2, id B, field 'unit': value 'ug/L'" in err
    assert not (tmp_path / "x.tif").exists()


@pytest.mark.skipif(not Path(__file__).resolve().parent.parent.joinpath(
    "data", "demo_workspace.gpkg").exists(), reason="demo workspace missing")
def test_cli_surface_on_the_workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cli
    from layers.store.workspace import DEFAULT_PATH

    out = tmp_path / "sediment.tif"
    code = cli.main(["--workspace", str(DEFAULT_PATH), "surface", "--medium", "sediment",
                     "--out", str(out), "--cell-m", "250"])
    assert code == 0, capsys.readouterr().err
    with rasterio.open(out) as ds:
        assert ds.tags()["HGW_MEDIUM"] == "sediment" and ds.tags()["HGW_UNITS"] == "mg/kg"
        assert "HGW_GUIDELINE" not in ds.tags()  # sediment ships no guideline value
        assert ds.res == (250.0, 250.0)


def test_samples_at_one_place_are_averaged_not_duplicated() -> None:
    xy = np.array([[0.0, 0.0], [0.0, 0.0], [1000.0, 0.0]])
    surf = interpolate(xy, np.array([2.0, 4.0, 10.0]), crs=CRS_M, unit="ug/L", cell_m=100.0,
                       max_distance_m=200.0)
    assert surf.n_samples == 2
    assert idw(np.array([[0.0, 0.0]]), np.array([3.0]), np.array([[0.0, 0.0]]))[0] == 3.0
    cx, cy = surf.grid.centres()
    near = np.hypot(cx, cy) < 100
    assert np.allclose(surf.values[near], 3.0)
