"""Issue 13: the rule engine's text columns and keys made in bulk equal their straightforward definitions.

``violation_id_array`` (the violation ids as one Arrow buffer), ``evaluate._choose`` (a text column of a
few constant texts) and ``evaluate._repeat`` are held to the Python construction they replace, and the
locality keys and the wrapped longitude differences to their definition with the modulo every
longitude goes through (both skip the modulo when it would change nothing). ``_assemble`` (one
rule's part without a concat, no copy into the GeoDataFrame) is held to its former construction.
"""
from __future__ import annotations

import hashlib

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.distance._locality import NORTH_CAP, SOUTH_CAP, locality_keys, wrap_lon
from geo.rules import LINE_COLUMN
from geo.rules.evaluate import BASIS_BANK, BASIS_EDGE, _assemble, _choose, _repeat, _rows
from geo.rules.model import Rule
from geo.rules.violations import empty_violations, violation_id, violation_id_array, violation_ids
from layers.catalogue import CATALOGUE
from tests.test_rules_rows import RULES, _same, cases

TEXT = st.text(max_size=12).filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t))


def test_a_known_violation_id() -> None:
    key = "HG-WATER-100\x1f1\x1fmining_sites\x1fS0000042"
    want = "HG-WATER-100/" + hashlib.sha256(key.encode()).hexdigest()[:16]
    got = pd.array(violation_id_array("HG-WATER-100", 1, "mining_sites", ["S0000042", "S0000043"]), dtype="str")
    assert got[0] == want == violation_id("HG-WATER-100", 1, "mining_sites", "S0000042")
    assert got[1] != want and len(got[1]) == len(want)


@settings(max_examples=300, deadline=None)
@given(rule_id=TEXT, version=st.one_of(st.integers(0, 10**6), TEXT), layer=TEXT, ids=st.lists(TEXT, max_size=20))
def test_the_id_array_is_the_list_of_ids(rule_id: str, version: int | str, layer: str, ids: list[str]) -> None:
    arr = violation_id_array(rule_id, version, layer, ids)
    assert arr.to_pylist() == violation_ids(rule_id, version, layer, ids)
    text = pd.array(arr, dtype=pd.Series(["x"]).dtype)
    assert text.dtype == pd.Series(violation_ids(rule_id, version, layer, ids) or ["x"]).dtype


def _same_text(new: object, texts: list[str]) -> None:
    old = pd.Series(np.array(texts, dtype=object))  # what the frame inferred from Python strings
    got = pd.Series(new)
    pd.testing.assert_series_equal(got, old, check_exact=True)
    assert type(got.array) is type(old.array)


def test_the_distance_bases() -> None:
    codes = np.array([0, 1, 1, 0, 1], dtype=np.intp)
    _same_text(_choose(codes, (BASIS_EDGE, BASIS_BANK)), [BASIS_EDGE, BASIS_BANK, BASIS_BANK, BASIS_EDGE, BASIS_BANK])
    # and as the kernel's hits had them: numpy strings set into a frame
    frame = pd.DataFrame(index=range(5))
    frame["a"] = np.where(codes > 0, BASIS_BANK, BASIS_EDGE)
    frame["b"] = _choose(codes, (BASIS_EDGE, BASIS_BANK))
    pd.testing.assert_series_equal(frame["a"], frame["b"], check_names=False, check_exact=True)


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(TEXT, min_size=1, max_size=4), picks=st.lists(st.integers(0, 3), min_size=1, max_size=40))
def test_chosen_texts_are_the_python_strings(texts: list[str], picks: list[int]) -> None:
    codes = np.array([p % len(texts) for p in picks], dtype=np.intp)
    _same_text(_choose(codes, tuple(texts)), [texts[c] for c in codes])


@settings(max_examples=100, deadline=None)
@given(text=TEXT, n=st.integers(1, 30))
def test_a_repeated_text_is_the_python_strings(text: str, n: int) -> None:
    _same_text(_repeat(text, n), [text] * n)


def test_locality_keys_wrap_every_longitude() -> None:
    lon = np.array([190.0, -190.0, 180.0, -180.0, 0.0, 3.0, 539.0, -725.0, 10.0, 10.0])
    lat = np.array([0.0, 0.0, 0.0, 0.0, -1.0, 9.0, 0.0, 0.0, 85.0, -81.0])
    # zone = floor((lon + 180) / 6) mod 60, band = floor((lat + 90) / 8)
    assert locality_keys(lon, lat).tolist() == [111, 5811, 11, 11, 3011, 3012, 5911, 2911, NORTH_CAP, SOUTH_CAP]
    inside = np.array([-179.5, 179.5, 6.5])
    assert locality_keys(inside, np.zeros(3)).tolist() == [11, 5911, 3111]


def _wrapped(d: np.ndarray) -> np.ndarray:
    return np.mod(d + 180.0, 360.0) - 180.0


def test_wrapped_longitudes_on_the_edges() -> None:
    d = np.array([-180.0, 180.0, -0.0, 0.0, 1e-20, -1e-20, 179.99999999999997, -180.00000000000003, 359.0, -540.0])
    assert wrap_lon(d).tobytes() == _wrapped(d).tobytes()
    assert wrap_lon(d[:4]).tolist() == [-180.0, -180.0, 0.0, 0.0]
    assert wrap_lon(np.array([1e-20]))[0] == 0.0  # (d + 180) - 180, as the modulo gives it, not d itself
    both = wrap_lon(np.array([np.nan, 10.0]))
    assert np.isnan(both[0]) and both[1] == 10.0


@settings(max_examples=300, deadline=None)
@given(d=st.lists(st.one_of(st.floats(-200.0, 200.0), st.floats(allow_nan=True, allow_infinity=True),
                            st.sampled_from([-180.0, 180.0, -0.0, 1e-300, -1e-300])), max_size=12))
def test_wrapped_longitudes_are_the_modulo(d: list[float]) -> None:
    arr = np.array(d, dtype=float)
    with np.errstate(invalid="ignore"):
        assert wrap_lon(arr).tobytes() == _wrapped(arr).tobytes()


def _old_assemble(parts: list[pd.DataFrame], id_columns: list[str]) -> gpd.GeoDataFrame:
    """``evaluate._assemble`` as it was (commit 4c8be7f): always a concat, a copying GeoDataFrame."""
    empty = empty_violations(id_columns)
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty
    frame = pd.concat(parts, ignore_index=True)
    frame = frame.reindex(columns=[c for c in empty.columns])
    frame[LINE_COLUMN] = gpd.GeoSeries(frame[LINE_COLUMN], crs="EPSG:4326")
    out = gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
    out["assumption"] = out["assumption"].astype(bool)
    return out


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(cases(), min_size=1, max_size=3))
def test_the_assembled_frame_is_the_concatenated_one(parts: list[tuple[Rule, gpd.GeoDataFrame, pd.DataFrame]]) -> None:
    rows = [_rows(rule, subj, hits, CATALOGUE) for rule, subj, hits in parts]
    id_columns = list(dict.fromkeys(CATALOGUE[r.subject.layer].id_field for r in RULES.rules))
    new, old = _assemble(rows, id_columns), _old_assemble([r.copy() for r in rows], id_columns)
    _same(new, old)
    assert type(new) is gpd.GeoDataFrame and new.crs == old.crs and new.geometry.name == old.geometry.name
    assert new[LINE_COLUMN].crs == old[LINE_COLUMN].crs
    for row in rows:  # the parts themselves are left as they were
        assert LINE_COLUMN not in row or not isinstance(row[LINE_COLUMN], gpd.GeoSeries)


class _Text(str):
    def __str__(self) -> str:  # a str subclass whose str() is its own text, as str() of any str is
        return str.__str__(self)


@pytest.mark.parametrize("ids", [[np.str_("S-1"), np.str_("S-\u00e92")], [_Text("S-1"), "S-2"], ["S-1", 2, 3.5],
                                 [1, 2], ["S-1", "S-2"]])
def test_violation_ids_of_object_ids_are_those_of_their_text(ids: list[object]) -> None:
    rule = RULES.rule("HG-WATER-100")
    id_field = CATALOGUE[rule.subject.layer].id_field
    subj = gpd.GeoDataFrame({id_field: pd.Series(ids, dtype=object)},
                            geometry=shapely.points(np.arange(len(ids), dtype=float), np.zeros(len(ids))), crs=4326)
    out = _rows(rule, subj, pd.DataFrame({"subject": np.arange(len(ids))[::-1]}), CATALOGUE)
    want = [violation_id(rule.id, rule.version, rule.subject.layer, str(i)) for i in ids[::-1]]
    assert out["violation_id"].tolist() == want
    assert out["subject_id"].tolist() == [str(i) for i in ids[::-1]]


def test_subjects_without_geometry_are_counted_and_not_compared() -> None:
    from shapely.geometry import LineString, Point

    from geo.rules import run_rules

    geoms = [Point(0.0, 0.0005), None, Point(), Point(0.0, 0.0002), shapely.from_wkt("POINT EMPTY"), Point(5.0, 5.0)]
    s = gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(6)], "uses_mercury": [True] * 5 + [False]},
                         geometry=geoms, crs="EPSG:4326")
    w = gpd.GeoDataFrame({"water_id": ["W0"]}, geometry=[LineString([(-0.01, 0.0), (0.01, 0.0)])], crs="EPSG:4326")
    result = run_rules(RULES, {"mining_sites": s, "water_bodies": w}, schemas=CATALOGUE, only=["HG-WATER-100"])
    assert result.violations["site_id"].tolist() == ["S0", "S3"]  # 55.3 m and 22.1 m north of the river
    (summary,) = result.summaries
    assert "3 subjects without geometry were not compared" in summary.notes  # S1, S2, S4 (S5 is no candidate)
