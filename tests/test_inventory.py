"""Mercury inventory: hand-computed single sites, roll-ups, Monte Carlo, targets, bad input."""
from __future__ import annotations

import re
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.errors import ConfigError, InputError
from geo.inventory import (
    ALL_SITES,
    FROM_DAYS,
    FROM_DEFAULT_DAYS,
    FROM_KG,
    MEASURED,
    MERCURY_FREE,
    NOT_ESTIMABLE,
    NOT_GIVEN,
    NOT_OPERATING,
    Range,
    estimate_sites,
    register_counts,
    rollup,
    sample_factors,
    target_status,
    trends,
)
from geo.sites import mercury_use
from settings.factors import DEFAULT_PATH, load_factors

FACTORS = load_factors()
KG = 0.005  # half a centigram... of a kilogram: 5 g, far below any factor's uncertainty


def site(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {"site_id": "s", "admin_area": "A", "amalgamation": "concentrate",
                               "burning": "open"}
    base.update(fields)
    return base


def one(**fields: object) -> pd.Series:
    return estimate_sites(pd.DataFrame([site(**fields)]), FACTORS).iloc[0]


# ----------------------------------------------------------------- the Kyrgyz worked example
def test_kyrgyz_example_open_burning() -> None:
    # 003 L62, L854-862: 1,124 kg gold x 0.5 g Hg/g Au = 562 kg used; per g Au 0.49 g to air,
    # 0.015 g to water, 0.005 g other, which add up to 0.51 g: scaled to the 0.5 g used.
    r = one(gold_kg_per_year=1124.0)
    assert r["basis"] == FROM_KG
    assert r["used_kg"] == pytest.approx(562.0, abs=KG)
    assert r["used_low"] == pytest.approx(224.8, abs=KG)   # min 0.2 g/g
    assert r["used_high"] == pytest.approx(1124.0, abs=KG)  # 1:1 before squeezing back
    assert r["air_kg"] == pytest.approx(562 * 0.49 / 0.51, abs=KG)   # 539.96
    assert r["water_kg"] == pytest.approx(562 * 0.015 / 0.51, abs=KG)  # 16.53
    assert r["land_kg"] == pytest.approx(562 * 0.005 / 0.51, abs=KG)  # 5.51
    assert r["released_kg"] == pytest.approx(562.0, abs=KG)
    assert r["recovered_kg"] == pytest.approx(0.0, abs=KG)


def test_kyrgyz_example_retort() -> None:
    # 003 L791-796: with a retort 0 % to air, 2-5 % to water (central 3 %), up to 1 % to land.
    r = one(gold_kg_per_year=1124.0, burning="retort")
    assert r["used_kg"] == pytest.approx(562.0, abs=KG)
    assert r["air_kg"] == 0.0
    assert r["water_kg"] == pytest.approx(16.86, abs=KG)
    assert r["land_kg"] == pytest.approx(5.62, abs=KG)
    assert r["released_kg"] == pytest.approx(22.48, abs=KG)
    assert r["recovered_kg"] == pytest.approx(539.52, abs=KG)
    assert r["water_low"] == pytest.approx(224.8 * 0.02, abs=KG)
    assert r["water_high"] == pytest.approx(1124 * 0.05, abs=KG)


def test_kyrgyz_example_nitric_acid() -> None:
    # 003 L895-899: 0.008 g air, 0.015 g water, 0.1 x 0.05 + 0.9 x 0.49 = 0.446 g waste per g Au
    r = one(gold_kg_per_year=1124.0, burning="none")
    assert r["air_kg"] == pytest.approx(1124 * 0.008, abs=KG)
    assert r["water_kg"] == pytest.approx(1124 * 0.015, abs=KG)
    assert r["land_kg"] == pytest.approx(1124 * 0.446, abs=KG)
    assert r["recovered_kg"] == pytest.approx(562 - 1124 * (0.008 + 0.015 + 0.446), abs=KG)


def test_grams_a_day_times_working_days() -> None:
    r = one(gold_g_per_day=10.0, working_days_per_year=225)  # 003 L868: N x 10 g x 225 days
    assert r["basis"] == FROM_DAYS
    assert r["gold_kg_per_year"] == pytest.approx(2.25)
    assert r["used_kg"] == pytest.approx(1.125)
    default = one(gold_g_per_day=10.0)  # days from the configured range 90 / 225 / 300
    assert default["basis"] == FROM_DEFAULT_DAYS
    assert default["gold_kg_per_year"] == pytest.approx(2.25)
    assert default["used_low"] == pytest.approx(0.9 * 0.2)
    assert default["used_high"] == pytest.approx(3.0 * 1.0)


def test_kg_a_year_wins_over_grams_a_day() -> None:
    r = one(gold_kg_per_year=4.0, gold_g_per_day=10.0, working_days_per_year=225)
    assert r["basis"] == FROM_KG and r["gold_kg_per_year"] == 4.0


def test_measured_mercury_wins_over_the_estimate() -> None:
    r = one(gold_kg_per_year=100.0, mercury_kg_per_year=3.0, amalgamation="whole_ore")
    assert r["basis"] == MEASURED
    assert (r["used_low"], r["used_kg"], r["used_high"]) == (3.0, 3.0, 3.0)
    assert r["released_kg"] == pytest.approx(3.0)


def test_whole_ore_uses_more_than_concentrate() -> None:
    assert one(gold_kg_per_year=1.0, amalgamation="whole_ore")["used_kg"] > one(
        gold_kg_per_year=1.0)["used_kg"]


def test_no_gold_figure_is_not_estimable_not_zero() -> None:
    est = estimate_sites(pd.DataFrame([site(site_id="a", gold_kg_per_year=10.0),
                                       site(site_id="b")]), FACTORS)
    assert list(est["basis"]) == [FROM_KG, NOT_ESTIMABLE]
    assert np.isnan(est.loc[1, "used_kg"]) and np.isnan(est.loc[1, "released_high"])
    total = rollup(est, FACTORS).iloc[0]
    assert total["n_sites"] == 2 and total["n_not_estimable"] == 1
    assert total["used_kg"] == pytest.approx(5.0)


def test_mercury_free_site_is_zero_and_counted() -> None:
    # mercury-free by the one definition (geo.sites): it says so or does not amalgamate, and
    # neither amalgamates nor burns amalgam
    est = estimate_sites(pd.DataFrame([
        site(uses_mercury=False, amalgamation="none", burning="none", gold_kg_per_year=9.0),
        site(amalgamation="none", burning="none"),
        site(uses_mercury=False, amalgamation=None, burning=None, gold_kg_per_year=9.0),
    ]), FACTORS)
    assert list(est["basis"]) == [MERCURY_FREE, MERCURY_FREE, MERCURY_FREE]
    assert list(est["used_high"]) == [0.0, 0.0, 0.0]


def test_mercury_use_has_one_definition_shared_with_geo_sites() -> None:
    # "uses_mercury = false" beside concentrate amalgamation or amalgam burning is a site that
    # uses mercury (geo.sites.mercury_use): the inventory estimates it, as the map and the rules do
    est = estimate_sites(pd.DataFrame([
        site(site_id="says-no-amalgamates", uses_mercury=False, gold_kg_per_year=10.0),
        site(site_id="burns-in-retort", amalgamation="none", burning="retort", gold_kg_per_year=10.0),
        site(site_id="said-no", uses_mercury=False, amalgamation="none", burning="none",
             gold_kg_per_year=10.0),
    ]), FACTORS)
    assert list(est["basis"]) == [FROM_KG, FROM_KG, MERCURY_FREE]
    assert est.loc[0, "used_kg"] == pytest.approx(10.0 * 0.5)  # concentrate, central 0.5 g/g
    assert list(mercury_use(est)) == ["uses mercury", "uses mercury", "no mercury"]


def test_abandoned_site_is_not_operating_and_adds_nothing() -> None:
    est = estimate_sites(pd.DataFrame([
        site(site_id="a", status="abandoned", gold_kg_per_year=50.0, mercury_kg_per_year=9.0),
        site(site_id="b", status="inactive", gold_kg_per_year=2.0),
        site(site_id="c", status=None, gold_kg_per_year=4.0)]), FACTORS)
    assert list(est["basis"]) == [NOT_OPERATING, FROM_KG, FROM_KG]
    assert est.loc[0, "used_high"] == 0.0
    total = rollup(est, FACTORS).iloc[0]
    assert (total["n_not_operating"], total["used_kg"]) == (1, pytest.approx(3.0))
    assert register_counts(est).iloc[0]["not_operating"] == 1


# ----------------------------------------------------------------- bad input
def test_bad_sites_are_all_named_at_once() -> None:
    frame = pd.DataFrame([site(site_id="neg", gold_kg_per_year=-5.0),
                          site(site_id="meth", gold_kg_per_year=1.0, amalgamation="whole-ore"),
                          site(site_id="txt", gold_g_per_day="lots"),
                          site(site_id="days", gold_g_per_day=1.0, working_days_per_year=400)])
    with pytest.raises(InputError) as err:
        estimate_sites(frame, FACTORS, source="sites.csv")
    problems = {(p.feature_id, p.field, p.row): p for p in err.value.problems}
    assert set(problems) == {("neg", "gold_kg_per_year", 1), ("meth", "amalgamation", 2),
                             ("txt", "gold_g_per_day", 3), ("days", "working_days_per_year", 4)}
    text = str(err.value)
    assert "sites.csv" in text and "-5.0" in text and "'whole-ore'" in text
    assert "one of: concentrate, none, partial, unknown, whole_ore" in text
    assert "zero or more" in text and "at most 366" in text


def _factor_file(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "my_factors.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("low = 0.2\ncentral = 0.5\nhigh = 1.0\n", "central = 0.5\nhigh = 1.0\n",
     "key 'hg_au_ratio.concentrate.low': missing"),
    ("[hg_au_ratio.none]", "[hg_au_ratio.nothing]", "key 'hg_au_ratio.none': missing"),
    ('unknown = "open_burning"', 'unknown = "smelting"', "key 'burning_route.unknown': one of"
     " the routes ['nitric_acid', 'open_burning', 'retort']; got 'smelting'"),
    ("high = 5.0\nsource = \"assumption: whole", "high = 0.5\nsource = \"assumption: whole",
     "key 'hg_au_ratio.whole_ore': low <= central <= high; got [1.0, 3.0, 0.5]"),
    ('distribution = "pert"', 'distribution = "normal"', "'pert' or 'triangular'"),
    ('metric = "share_gold_mercury_free"', 'metric = "gold"', "key 'targets[0].metric'"),
    ("[baseline]", "[baseline]\n[colour]", "key 'colour': unknown key"),
    ('counted_statuses = ["active"', 'counted_statuses = ["working"', "settings.counted_statuses"),
])
def test_bad_factor_file_names_file_key_and_value(tmp_path: Path, old: str, new: str,
                                                  expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_factors(_factor_file(tmp_path, old, new))
    assert "my_factors.toml" in str(err.value)
    assert expected in str(err.value)


_NUMBER = re.compile(r"(?<== )-?[0-9][0-9_.e]*")


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_broken_number_in_the_factor_file_is_a_config_error(data: st.DataObject) -> None:
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    spots = list(_NUMBER.finditer(text))
    spot = spots[data.draw(st.integers(0, len(spots) - 1))]
    token = data.draw(st.sampled_from(["-1", '"x"', "[]", "true", "inf", "nan", "1e400", "{}",
                                       "2.5", "0"]))
    path = Path(tempfile.mkdtemp()) / "fuzz.toml"
    path.write_text(text[:spot.start()] + token + text[spot.end():], encoding="utf-8")
    try:
        factors = load_factors(path)
    except ConfigError as err:
        assert "fuzz.toml" in str(err)
    else:  # accepted: then it is still a usable, ordered set of ranges
        for _, r in [(k, v) for k, v in factors.hg_au_ratio.items()]:
            assert 0 <= r.low <= r.central <= r.high < float("inf")


def test_factor_file_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[settings\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="broken.toml: not valid TOML"):
        load_factors(path)


def test_every_shipped_factor_is_a_sourced_range() -> None:
    for name, value, source in FACTORS.sources():
        assert source.strip(), name
        assert "(" in value  # central (low-high)
    for r in FACTORS.hg_au_ratio.values():
        assert r.low <= r.central <= r.high
    assert {p.central for p in FACTORS.published} == {404, 1182, 1300, 2500, 6000}


def test_published_estimate_units_are_converted(tmp_path: Path) -> None:
    path = _factor_file(tmp_path, 'central = 6000\nunit = "kg/year"',
                        'central = 6\nunit = "t/year"')
    assert {p.central for p in load_factors(path).published} == {404, 1182, 1300, 2500, 6000}


def test_factor_units_go_through_pint() -> None:
    # the same factors given in mg/g and in working days a month: the same estimate
    ratio, days = FACTORS.hg_au_ratio["concentrate"], FACTORS.working_days
    assert (ratio.unit, days.unit) == ("g/g", "day/year")
    other = replace(FACTORS, hg_au_ratio={**FACTORS.hg_au_ratio, "concentrate": Range(
        200.0, 500.0, 1000.0, ratio.source, "mg/g")}, working_days=Range(7.5, 18.75, 25.0, days.source,
                                                                          "day/month"))
    assert other.hg_au_ratio["concentrate"] == Range(0.2, 0.5, 1.0, ratio.source, "g/g")
    assert other.working_days.unit == "day/year"
    assert (other.working_days.low, other.working_days.central, other.working_days.high) == \
        pytest.approx((90.0, 225.0, 300.0), rel=1e-12)
    frame = pd.DataFrame([site(gold_g_per_day=100.0)])  # 100 g/day x 225 day/year = 22.5 kg/year
    mine, theirs = estimate_sites(frame, other).iloc[0], estimate_sites(frame, FACTORS).iloc[0]
    assert mine["used_kg"] == pytest.approx(22.5 * 0.5, rel=1e-12)
    assert (mine["used_low"], mine["used_high"]) == pytest.approx((9.0 * 0.2, 30.0 * 1.0), rel=1e-12)
    assert mine[["used_kg", "used_low", "used_high"]].tolist() == pytest.approx(
        theirs[["used_kg", "used_low", "used_high"]].tolist(), rel=1e-12)


def test_factor_file_units_are_converted_or_refused_by_kind(tmp_path: Path) -> None:
    ratio = 'unit = "g/g"\nlow = 0.2\ncentral = 0.5\nhigh = 1.0\n'
    path = _factor_file(tmp_path, ratio, 'unit = "kg/t"\nlow = 200\ncentral = 500\nhigh = 1000\n')
    r = load_factors(path).hg_au_ratio["concentrate"]
    assert (r.low, r.central, r.high, r.unit) == (pytest.approx(0.2), pytest.approx(0.5),
                                                  pytest.approx(1.0), "g/g")
    air = "air = { low = 0.96, central = 0.98, high = 0.98,"
    path = _factor_file(tmp_path, air, 'air = { unit = "percent", low = 96, central = 98, high = 98,')
    a = load_factors(path).routes["open_burning"].air
    assert (a.low, a.central, a.high) == pytest.approx((0.96, 0.98, 0.98))
    for old, new, message in [
        (ratio, 'unit = "m"\nlow = 0.2\ncentral = 0.5\nhigh = 1.0\n',
         "key 'hg_au_ratio.concentrate': 'unit' a mass ratio unit such as 'g/g', 'mg/g' or 'kg/t';"
         " got 'm'"),
        (air, 'air = { unit = "percent", low = 96, central = 98, high = 120,',
         "key 'route.open_burning.air': low <= central <= high <= 100; got [96.0, 98.0, 120.0]"),
        ('unit = "day/year"\nlow = 90', 'unit = "kg"\nlow = 90',
         "key 'settings.working_days': 'unit' a number of days per time such as 'day/year' or"
         " 'day/week'; got 'kg'"),
    ]:
        path = _factor_file(tmp_path, old, new)
        with pytest.raises(ConfigError) as err:
            load_factors(path)
        assert str(err.value) == f"{path}: {message}"


def test_every_table_labels_an_empty_group_the_same_way() -> None:
    est = estimate_sites(pd.DataFrame([site(site_id="1", admin_area="  ", gold_kg_per_year=1.0),
                                       site(site_id="2", admin_area=None, gold_kg_per_year=1.0)]),
                         FACTORS)
    assert register_counts(est)["admin_area"].tolist() == [NOT_GIVEN]
    assert rollup(est, FACTORS, by="admin_area")["admin_area"].tolist() == [NOT_GIVEN]
    assert trends(est, FACTORS)["admin_area"].tolist() == [NOT_GIVEN]
    assert register_counts(est, by=None)["group"].tolist() == [ALL_SITES]
    assert rollup(est, FACTORS)["group"].tolist() == [ALL_SITES]


# ----------------------------------------------------------------- roll-ups and Monte Carlo
def _sites() -> pd.DataFrame:
    return pd.DataFrame([
        site(site_id="a1", admin_area="North", gold_kg_per_year=10.0),
        site(site_id="a2", admin_area="North", gold_kg_per_year=30.0, burning="retort"),
        site(site_id="b1", admin_area="South", gold_kg_per_year=2.0, amalgamation="whole_ore"),
        site(site_id="b2", admin_area="South", mercury_kg_per_year=4.0),
        site(site_id="b3", admin_area=None, gold_g_per_day=10.0),
    ])


def test_rollup_by_area_hand_computed() -> None:
    est = estimate_sites(_sites(), FACTORS)
    r = rollup(est, FACTORS, by="admin_area").set_index("admin_area")
    assert list(r.index) == ["(not given)", "North", "South"]
    assert r.loc["North", "used_kg"] == pytest.approx(20.0)      # (10 + 30) x 0.5
    assert r.loc["North", "air_kg"] == pytest.approx(5 * 0.49 / 0.51)
    assert r.loc["North", "recovered_kg"] == pytest.approx(15 * 0.96)
    assert r.loc["South", "used_kg"] == pytest.approx(2 * 3.0 + 4.0)
    assert r.loc["South", "n_measured"] == 1 and r.loc["South", "gold_kg"] == 2.0
    by_method = rollup(est, FACTORS, by="amalgamation").set_index("amalgamation")
    assert by_method.loc["whole_ore", "used_kg"] == pytest.approx(6.0)
    total = rollup(est, FACTORS).iloc[0]
    assert total["used_kg"] == pytest.approx(20 + 10 + 1.125)


def test_monte_carlo_is_stable_under_the_seed() -> None:
    est = estimate_sites(_sites(), FACTORS)
    first = rollup(est, FACTORS, by="admin_area", draws=2000, seed=7)
    again = rollup(est, FACTORS, by="admin_area", draws=2000, seed=7)
    other = rollup(est, FACTORS, by="admin_area", draws=2000, seed=8)
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["used_low"], other["used_low"])
    for q in ("used", "released"):
        assert (first[f"{q}_low"] <= first[f"{q}_kg"] + 1e-9).all()
        assert (first[f"{q}_kg"] <= first[f"{q}_high"] + 1e-9).all()


def test_percentiles_collapse_when_factors_are_points(tmp_path: Path) -> None:
    path = _factor_file(tmp_path, "low = 0.2\ncentral = 0.5\nhigh = 1.0\n",
                        "low = 0.5\ncentral = 0.5\nhigh = 0.5\n")
    factors = load_factors(path)
    est = estimate_sites(pd.DataFrame([site(gold_kg_per_year=8.0, burning="retort")]), factors)
    r = rollup(est, factors).iloc[0]
    assert r["used_low"] == r["used_kg"] == r["used_high"] == 4.0
    assert r["air_high"] == 0.0
    assert 4.0 * 0.02 < r["water_low"] < r["water_kg"] < r["water_high"] < 4.0 * 0.05


def test_pert_draws_stay_in_range_and_centre_on_the_mode() -> None:
    draws = sample_factors(FACTORS, draws=20000, seed=1)
    ratio = draws["ratio"]["concentrate"]
    assert ratio.min() >= 0.2 and ratio.max() <= 1.0
    assert np.mean(ratio) == pytest.approx((0.2 + 4 * 0.5 + 1.0) / 6, abs=0.01)
    for route in FACTORS.routes:
        total = sum(draws[route][c] for c in ("air", "water", "land"))
        assert (total <= 1.0 + 1e-12).all()
        assert np.allclose(total, draws[route]["released"])


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1e4), st.sampled_from(["concentrate", "whole_ore",
                                                               "partial", "unknown", "none"]),
                          st.sampled_from(["open", "retort", "none", "unknown"])),
                min_size=1, max_size=8), st.randoms())
def test_estimates_are_bounded_and_order_free(rows: list[tuple[float, str, str]],
                                              rnd: object) -> None:
    frame = pd.DataFrame([site(site_id=str(i), gold_kg_per_year=g, amalgamation=a, burning=b)
                          for i, (g, a, b) in enumerate(rows)])
    est = estimate_sites(frame, FACTORS)
    assert (est["released_high"] <= est["used_high"] + 1e-6).all()
    assert (est[[c for c in est.columns if c.endswith(("_kg", "_low", "_high"))]] >= 0).all().all()
    assert (est["used_low"] <= est["used_kg"]).all() and (est["used_kg"] <= est["used_high"]).all()
    shuffled = frame.sample(frac=1.0, random_state=rnd.randint(0, 10**6))  # type: ignore[attr-defined]
    a = rollup(est, FACTORS, draws=200, seed=3).iloc[0]
    b = rollup(estimate_sites(shuffled, FACTORS), FACTORS, draws=200, seed=3).iloc[0]
    assert a["used_kg"] == pytest.approx(b["used_kg"])
    assert a["released_high"] == pytest.approx(b["released_high"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=5), st.floats(allow_nan=True),
                          st.integers(-10, 10), st.booleans()), min_size=1, max_size=5))
def test_garbage_gold_is_refused_or_estimated_never_crashes(values: list[object]) -> None:
    frame = pd.DataFrame({"site_id": [str(i) for i in range(len(values))],
                          "gold_kg_per_year": pd.Series(values, dtype=object)})
    try:
        est = estimate_sites(frame, FACTORS)
    except InputError as err:
        assert err.problems and all(p.field == "gold_kg_per_year" for p in err.problems)
    else:
        assert set(est["basis"]) <= {FROM_KG, NOT_ESTIMABLE}


# ----------------------------------------------------------------- register, trends, targets
def test_register_counts() -> None:
    frame = pd.DataFrame([
        site(site_id="1", size_class="small", miners=2, registered=True, burning="retort",
             gold_kg_per_year=1.0),
        site(site_id="2", size_class="large", miners=8, women_miners=1, registered=False),
        site(site_id="3", size_class=None, uses_mercury=False, amalgamation="none", burning="none"),
        site(site_id="4", status="abandoned", burning="retort", gold_kg_per_year=1.0),
    ])
    r = register_counts(estimate_sites(frame, FACTORS)).iloc[0]
    assert (r["sites"], r["size_small"], r["size_large"], r["size_unknown"]) == (4, 1, 1, 2)
    assert (r["miners"], r["women_miners"], r["sites_without_miner_count"]) == (10, 1, 2)
    assert (r["registered"], r["unregistered"], r["registration_unknown"]) == (1, 1, 2)
    # the abandoned site's retort is not in use
    assert (r["retorts_in_use"], r["mercury_free"], r["not_operating"], r["not_estimable"]) == (1, 1, 1, 1)


def test_trend_against_targets() -> None:
    frame = pd.DataFrame([
        site(site_id="1", survey_round="2021", gold_kg_per_year=10.0, survey_date="2021-06-01"),
        site(site_id="2", survey_round="2021", gold_kg_per_year=30.0, survey_date="2021-06-02"),
        site(site_id="1", survey_round="2024", gold_kg_per_year=10.0, burning="retort",
             survey_date="2024-06-01"),
        site(site_id="2", survey_round="2024", gold_kg_per_year=30.0, uses_mercury=False,
             amalgamation="none", burning="none", survey_date="2024-06-01"),
    ])
    t = trends(estimate_sites(frame, FACTORS), FACTORS)
    assert list(t["survey_round"]) == ["2021", "2024"]
    assert list(t["share_gold_mercury_free"]) == [0.0, 0.75]
    assert list(t["share_sites_retort"]) == [0.0, 1.0]
    assert t.loc[1, "released_reduction_vs_baseline"] == pytest.approx(1 - 5 * 0.04 / 20)
    status = target_status(t, FACTORS, today=date(2026, 1, 1)).set_index("target")
    assert status.loc["mercury_free_gold", "status"] == "not met, deadline passed"
    assert status.loc["exposure_reduction", "status"] == "met"
    early = target_status(t, FACTORS, today=date(2024, 12, 1)).set_index("target")
    assert early.loc["mercury_free_gold", "status"] == "not met"


def test_every_problem_of_a_factor_file_is_reported_at_once(tmp_path: Path) -> None:
    path = _factor_file(tmp_path, 'metric = "share_gold_mercury_free"', 'metric = "gold"')
    path.write_text(path.read_text().replace('"pert"', '"normal"\ncolour = 1', 1))
    with pytest.raises(ConfigError) as err:
        load_factors(path)
    keys = ("settings.distribution", "settings.colour", "targets[0].metric")
    assert [ln.split("': ")[0] for ln in str(err.value).splitlines()] == [
        f"{path}: key '{k}" for k in keys]
    assert "; got 'normal'" in str(err.value) and str(err.value).endswith("; got 'gold'")
