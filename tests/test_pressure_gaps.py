"""Mercury pressure (kernel-spread estimated use) and monitoring gaps, with known answers."""
from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from geo.distance.localcrs import local_tmerc
from geo.exposure.gaps import monitoring_gaps
from geo.exposure.pressure import LABEL, pressure_surface
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

    from geo.exposure.gaps import reach_gaps

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
