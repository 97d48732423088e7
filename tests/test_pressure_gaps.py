"""Mercury pressure (kernel-spread estimated use) and monitoring gaps, with known answers."""
from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from geo.distance import local_tmerc
from geo.exposure import monitoring_gaps, pressure_surface
from geo.exposure.gaps import COLUMNS, REACH_COLUMNS
from geo.exposure.pressure import LABEL
from settings.exposure import load_exposure

CRS_M = local_tmerc(0.0, 0.0)
DEG = 6378137.0 * math.pi / 180.0


def test_kernel_keeps_mass_and_peaks_at_the_gaussian_maximum() -> None:
    xy = np.array([[50.0, 50.0]])  # a cell centre on a 100 m grid
    p = pressure_surface(xy, np.array([5.0]), np.array([10.0]), np.array([20.0]), crs=CRS_M,
                         kernel_width_m=500.0, cell_m=100.0)
    cell_km2 = 0.01
    assert p.central.sum() * cell_km2 == pytest.approx(10.0, rel=1e-12)
    assert p.low.sum() * cell_km2 == pytest.approx(5.0, rel=1e-12)
    assert p.high.sum() * cell_km2 == pytest.approx(20.0, rel=1e-12)
    # continuous peak w / (2 pi sigma^2) = 10 / (2 pi 0.25 km^2); the discrete one within 0.1 %
    assert p.central.max() == pytest.approx(10.0 / (2 * math.pi * 0.25), rel=1e-3)
    row, col = np.unravel_index(np.argmax(p.central), p.central.shape)
    x, y = p.grid.centres()
    assert (x[row, col], y[row, col]) == (50.0, 50.0)
    assert p.label == LABEL and "not a measurement" in LABEL


def test_not_estimable_is_counted_not_zero_and_mercury_free_adds_nothing() -> None:
    xy = np.array([[0.0, 0.0], [5000.0, 0.0], [10_000.0, 0.0]])
    used = np.array([4.0, np.nan, 0.0])
    p = pressure_surface(xy, used, used, used, crs=CRS_M, kernel_width_m=300.0, cell_m=100.0)
    assert (p.n_sites, p.n_not_estimable) == (1, 1)
    assert p.central.sum() * 0.01 == pytest.approx(4.0)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.floats(-5000, 5000), st.floats(-5000, 5000), st.floats(0, 50)),
                min_size=1, max_size=8))
def test_pressure_total_equals_total_use(sites: list[tuple[float, float, float]]) -> None:
    arr = np.array(sites)
    p = pressure_surface(arr[:, :2], arr[:, 2], arr[:, 2], arr[:, 2], crs=CRS_M,
                         kernel_width_m=400.0, cell_m=200.0)
    assert p.central.sum() * 0.04 == pytest.approx(arr[:, 2].sum(), rel=1e-9, abs=1e-9)


def _sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "site_id": ["big", "small", "covered", "free", "old"],
        "name": ["Big", "Small", "Covered", "Free", "Old"],
        "used_kg": [50.0, 5.0, 80.0, 0.0, 20.0],
        "used_low": [20.0, 2.0, 30.0, 0.0, 8.0], "used_high": [100.0, 10.0, 160.0, 0.0, 40.0],
    }, geometry=[Point(0.0, 0.0), Point(0.2, 0.0), Point(0.4, 0.0), Point(0.6, 0.0),
                 Point(0.8, 0.0)], crs=4326)


def _samples() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "sample_id": ["near_covered", "old_one", "hair_only", "too_far"],
        "medium": ["water", "sediment", "hair", "water"],
        "sampled_on": pd.to_datetime(["2025-06-01", "2019-01-01", "2025-06-01", "2025-06-01"]),
    }, geometry=[Point(0.4 + 4000 / DEG, 0.0), Point(0.8, 0.01), Point(0.0, 0.0),
                 Point(0.2 + 5100 / DEG, 0.0)], crs=4326)


def test_gaps_ranked_by_estimated_use_with_reasons() -> None:
    gaps = monitoring_gaps(_sites(), _samples(), max_distance_m=5000.0, max_age_years=3.0,
                           today=date(2026, 1, 1), media=["water", "sediment"])
    # 'covered' has a water sample 4 km away from 2025; 'free' uses no mercury; the hair sample
    # at 'big' does not count as monitoring of water or sediment
    assert gaps["site_id"].tolist() == ["big", "old", "small"]
    assert gaps["rank"].tolist() == [1, 2, 3]
    assert gaps.loc[0, "reason"] == "no sample within 5 km"
    assert gaps.loc[1, "reason"] == ("newest sample within 5 km is from 2019-01-01, older than "
                                     "3 years")
    # the water sample 5.1 km from 'small' (on the equator, so exactly 5100 m)
    assert gaps.loc[2, "nearest_sample_m"] == pytest.approx(5100.0, abs=0.01)
    assert gaps.loc[2, "nearest_sample_id"] == "too_far"


def test_gap_threshold_is_inclusive_and_exact() -> None:
    samples = _samples()
    gaps = monitoring_gaps(_sites(), samples, max_distance_m=5100.0, max_age_years=3.0,
                           today=date(2026, 1, 1), media=["water", "sediment"])
    assert "small" not in gaps["site_id"].tolist()


def test_people_downstream_break_ties() -> None:
    sites = _sites()
    sites["used_kg"], sites["used_high"] = 10.0, 10.0
    gaps = monitoring_gaps(sites, _samples().iloc[:0], max_distance_m=1000.0, max_age_years=3.0,
                           today=date(2026, 1, 1), media=["water"],
                           people=pd.Series({"small": 900, "old": 50}))
    assert gaps["site_id"].tolist()[:2] == ["small", "old"]
    assert gaps.loc[0, "people_downstream"] == 900


def test_shipped_exposure_settings() -> None:
    cfg = load_exposure()
    assert cfg.downstream["reach_m"] == 20_000.0
    assert cfg.downstream["settlement_buffer_m"] == 1000.0
    assert cfg.downstream["entry_distance_m"] == 100.0
    assert cfg.gaps["max_distance_m"] > 0 and cfg.pressure["kernel_width_m"] > 0


@pytest.mark.parametrize("text", ["[downstream]\nreach_km = 20\n", "[nope]\n",
                                  "[gaps]\nmax_distance_m = -1\n"])
def test_bad_exposure_files_are_refused(tmp_path: Path, text: str) -> None:
    from geo.errors import ConfigError

    path = tmp_path / "e.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=str(path)):
        load_exposure(path)


def test_reach_gaps_measure_to_the_whole_reach() -> None:
    from shapely.geometry import LineString

    from geo.exposure import reach_gaps

    reaches = gpd.GeoDataFrame({
        "source_id": ["watched", "blind", "old"], "people_downstream": [10, 500, 900],
        "reach_km": [20.0, 20.0, 5.0],
    }, geometry=[LineString([(0, 0), (0.18, 0)]), LineString([(0, 1), (0.18, 1)]),
                 LineString([(0, 2), (0.05, 2)])], crs=4326)
    samples = gpd.GeoDataFrame({
        "sample_id": ["at_the_end", "old_one"], "medium": ["water", "water"],
        "sampled_on": pd.to_datetime(["2025-01-01", "2015-01-01"]),
    }, geometry=[Point(0.18 + 4000 / DEG, 0), Point(0.05, 2)], crs=4326)
    gaps = reach_gaps(reaches, samples, max_distance_m=5000.0, max_age_years=3.0,
                      today=date(2026, 1, 1), media=["water"])
    # 'watched' has a recent sample 4 km beyond its far end; ranked by people downstream
    assert gaps["source_id"].tolist() == ["old", "blind"]
    assert gaps.loc[0, "nearest_sample_m"] == pytest.approx(0.0, abs=0.01)


# ----------------------------------------------------------------- pressure: more known answers
def test_kernel_is_cut_at_four_sigma_and_spread_exactly_over_the_cells_inside() -> None:
    # one site at a cell centre, sigma 200 m on 100 m cells: the cells whose centre lies within
    # 800 m hold all the mass, in proportion to exp(-r^2 / 2 sigma^2); every other cell is 0
    p = pressure_surface(np.array([[50.0, 50.0]]), np.array([1.0]), np.array([2.0]),
                         np.array([4.0]), crs=CRS_M, kernel_width_m=200.0, cell_m=100.0)
    x, y = p.grid.centres()
    r = np.hypot(x - 50.0, y - 50.0)
    inside = r <= 800.0
    assert inside.sum() == 197  # lattice points of a radius-8 disc (cells of 100 m)
    assert (p.central[~inside] == 0).all() and (p.central[inside] > 0).all()
    weights = np.exp(-r**2 / (2 * 200.0**2)) * inside
    expected = 2.0 * weights / weights.sum() / 0.01  # kg/year per km^2 (cells of 0.01 km^2)
    np.testing.assert_allclose(p.central, expected, rtol=1e-12)
    np.testing.assert_allclose(p.low, expected / 2, rtol=1e-12)
    np.testing.assert_allclose(p.high, expected * 2, rtol=1e-12)
    assert p.kernel_width_m == 200.0 and p.grid.cell_m == 100.0


def test_two_sites_add_up_where_their_kernels_overlap() -> None:
    one = np.array([[50.0, 50.0]])
    two = np.array([[50.0, 50.0], [350.0, 50.0]])
    kw: dict[str, Any] = {"crs": CRS_M, "kernel_width_m": 100.0, "cell_m": 50.0}
    a = pressure_surface(one, np.array([3.0]), np.array([3.0]), np.array([3.0]), **kw)
    ab = pressure_surface(two, np.array([3.0, 5.0]), np.array([3.0, 5.0]), np.array([3.0, 5.0]), **kw)
    assert ab.n_sites == 2
    # the peak of the first site gains the second site's kernel at 300 m (3 sigma)
    x, y = ab.grid.centres()
    at_first = (x == 75.0) & (y == 75.0)  # the cell holding (50, 50) on the 50 m grid
    b_share = np.exp(-np.hypot(x - 350.0, y - 50.0) ** 2 / (2 * 100.0**2))
    b_share[np.hypot(x - 350.0, y - 50.0) > 400.0] = 0.0
    ax, ay = a.grid.centres()
    a_at = a.central[(ax == 75.0) & (ay == 75.0)][0]
    b_at = 5.0 * b_share[at_first][0] / b_share.sum() / (0.05**2)
    assert ab.central[at_first][0] == pytest.approx(a_at + b_at, rel=1e-12)
    assert ab.central.sum() * 0.05**2 == pytest.approx(8.0, rel=1e-12)


def test_a_site_missing_any_bound_is_not_estimable_and_no_sites_give_an_empty_grid() -> None:
    xy = np.array([[0.0, 0.0], [1000.0, 0.0]])
    p = pressure_surface(xy, np.array([np.nan, 1.0]), np.array([2.0, 2.0]), np.array([3.0, 3.0]),
                         crs=CRS_M, kernel_width_m=100.0, cell_m=50.0)
    assert (p.n_sites, p.n_not_estimable) == (1, 1)
    assert p.central.sum() * 0.05**2 == pytest.approx(2.0, rel=1e-12)  # only the second site
    none = pressure_surface(np.zeros((0, 2)), np.zeros(0), np.zeros(0), np.zeros(0), crs=CRS_M,
                            kernel_width_m=100.0, cell_m=50.0)
    assert (none.n_sites, none.n_not_estimable) == (0, 0)
    assert none.central.size > 0 and not none.central.any() and not none.high.any()


# ----------------------------------------------------------------- gaps: more known answers
def _one_site(used: float = 5.0, site_id: str = "s") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"site_id": [site_id], "name": [site_id.upper()], "used_kg": [used],
                             "used_low": [used / 2], "used_high": [used * 2]},
                            geometry=[Point(0.0, 0.0)], crs=4326)


def _water(ids: list[str], metres: list[float], dates: list[str | None]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"sample_id": ids, "medium": ["water"] * len(ids),
                             "sampled_on": pd.to_datetime(dates)},
                            geometry=[Point(m / DEG, 0.0) for m in metres], crs=4326)


def _gaps(sites: gpd.GeoDataFrame, samples: gpd.GeoDataFrame, **kw: object) -> pd.DataFrame:
    args: dict = {"max_distance_m": 5000.0, "max_age_years": 3.0, "today": date(2026, 1, 1),
                  "media": ["water"], **kw}
    return monitoring_gaps(sites, samples, **args)


def test_a_sample_is_recent_from_exactly_max_age_years_of_365_25_days() -> None:
    # 3 x 365.25 days before 2026-01-01 00:00 is 2023-01-01 06:00
    assert _gaps(_one_site(), _water(["w"], [1000.0], ["2023-01-01 06:00"])).empty
    late = _gaps(_one_site(), _water(["w"], [1000.0], ["2023-01-01 05:59"]))
    assert late["reason"].tolist() == ["newest sample within 5 km is from 2023-01-01, older than 3 years"]


def test_the_newest_old_sample_within_reach_is_named_and_the_nearest_of_any_age_measured() -> None:
    samples = _water(["near_old", "mid_older", "far_new"], [1000.0, 3000.0, 8000.0],
                     ["2020-05-01", "2018-01-01", "2025-06-01"])
    row = _gaps(_one_site(), samples).iloc[0]
    assert row["latest_nearby"] == "2020-05-01"  # far_new is recent but 8 km away
    assert row["nearest_sample_id"] == "near_old"
    assert row["nearest_sample_m"] == pytest.approx(1000.0, abs=0.01)


def test_an_undated_sample_never_counts_and_the_reason_says_so() -> None:
    row = _gaps(_one_site(), _water(["undated"], [1000.0], [None])).iloc[0]
    assert row["reason"] == "no dated sample within 5 km"
    assert row["latest_nearby"] is None and row["nearest_sample_id"] == "undated"
    no_dates = _water(["w"], [1000.0], ["2025-01-01"]).drop(columns="sampled_on")
    assert _gaps(_one_site(), no_dates)["reason"].tolist() == ["no dated sample within 5 km"]


def test_nothing_within_ten_times_the_distance_is_nan_and_non_estimable_sites_are_left_out() -> None:
    sites = pd.concat([_one_site(5.0, "s"), _one_site(np.nan, "unknown")], ignore_index=True)
    gaps = _gaps(gpd.GeoDataFrame(sites, crs=4326), _water(["w"], [50_001.0], ["2025-01-01"]),
                 people=pd.Series({"unknown": 40}))
    assert gaps["site_id"].tolist() == ["s"]  # no positive central use: not listed
    assert np.isnan(gaps.loc[0, "nearest_sample_m"]) and gaps.loc[0, "nearest_sample_id"] is None
    assert gaps.loc[0, "people_downstream"] == 0  # not in the people series: 0
    assert gaps.columns.tolist() == COLUMNS


def test_no_gap_gives_the_columns_and_a_projected_layer_gives_the_same_answer() -> None:
    covered = _gaps(_one_site(), _water(["w"], [4999.0], ["2025-01-01"]))
    assert covered.empty and covered.columns.tolist() == COLUMNS
    utm = _gaps(_one_site().to_crs(32631), _water(["w"], [5001.0], ["2025-01-01"]).to_crs(32631))
    assert utm["nearest_sample_m"].tolist() == [pytest.approx(5001.0, abs=0.01)]


def test_reach_gaps_tie_on_people_by_length_and_count_only_the_media_given() -> None:
    from shapely.geometry import LineString

    from geo.exposure import reach_gaps

    reaches = gpd.GeoDataFrame({
        "source_id": ["short", "long", "fished"], "people_downstream": [100, 100, 5],
        "reach_km": [2.0, 9.0, 20.0],
    }, geometry=[LineString([(0, 0), (0.02, 0)]), LineString([(0, 1), (0.08, 1)]),
                 LineString([(0, 2), (0.18, 2)])], crs=4326)
    fish = gpd.GeoDataFrame({"sample_id": ["f"], "medium": ["fish"],
                             "sampled_on": pd.to_datetime(["2025-01-01"])},
                            geometry=[Point(0.1, 2)], crs=4326)
    gaps = reach_gaps(reaches, fish, max_distance_m=1000.0, max_age_years=3.0,
                      today=date(2026, 1, 1), media=["water"])
    assert gaps["source_id"].tolist() == ["long", "short", "fished"]
    assert gaps["rank"].tolist() == [1, 2, 3]
    assert set(gaps["reason"]) == {"no sample within 1 km of the reach taken in the last 3 years"}
    assert gaps["nearest_sample_m"].isna().all()
    counted = reach_gaps(reaches, fish, max_distance_m=1000.0, max_age_years=3.0,
                         today=date(2026, 1, 1), media=["water", "fish"])
    assert counted["source_id"].tolist() == ["long", "short"]
    empty = reach_gaps(reaches.iloc[2:], fish, max_distance_m=1000.0, max_age_years=3.0,
                       today=date(2026, 1, 1), media=["fish"])
    assert empty.empty and empty.columns.tolist() == REACH_COLUMNS
