"""Issue 13: the rule engine's bookkeeping is made in bulk, and gives the frame it gave before.

``geo.rules.evaluate._rows`` builds the violation rows of one rule from the kernel's hits with
violation ids hashed in one tight pass and text columns made as pandas' text arrays directly.
The straightforward construction of commit b069e77 is kept here as the oracle; Hypothesis makes
the subjects (unicode, numeric and repeated-looking ids) and the hits (any mix of columns, text
with and without missing values, numbers, lines), and the frames must be equal in columns,
dtypes, array kinds, values and order. ``geo.sites.mercury_use`` (the derived field of the
mercury rules) is held to its straightforward definition the same way.
"""
from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.rules import LINE_COLUMN
from geo.rules.evaluate import _assemble, _rows
from geo.rules.model import LayerSchema, Rule
from geo.rules.violations import violation_id, violation_ids
from geo.sites import AMALGAMATION_WITH_MERCURY, BURNING_OF_AMALGAM, NONE, NOT_RECORDED, USES, mercury_use
from layers.catalogue import CATALOGUE
from settings import Settings

RULES = Settings.from_env().rules
NO_SURROGATES = st.text(max_size=12).filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t))


def _old_rows(rule: Rule, subj: gpd.GeoDataFrame, hits: pd.DataFrame,
              schemas: Mapping[str, LayerSchema]) -> pd.DataFrame:
    id_field = schemas[rule.subject.layer].id_field
    at = hits["subject"].to_numpy(dtype=int)
    sid = subj[id_field].iloc[at].astype(str).to_numpy(dtype=object) if len(at) else np.array([], object)
    out = pd.DataFrame({
        "violation_id": [violation_id(rule.id, rule.version, rule.subject.layer, s) for s in sid],
        "rule_id": rule.id, "rule_version": str(rule.version), "severity": rule.severity,
        "title": rule.title, "citation": rule.citation, "subject_layer": rule.subject.layer,
        "subject_id": sid, id_field: sid, "assumption": rule.assumption,
    }, index=range(len(at)))
    for col in ("distance_m", "threshold_m", "area_m2"):
        out[col] = pd.to_numeric(hits[col], errors="coerce").round(2).to_numpy() \
            if col in hits else np.nan
    for col in ("distance_basis", "nearest_layer", "nearest_id", "nearest_name", "nearest_source", LINE_COLUMN):
        out[col] = hits[col].astype(object).where(hits[col].notna(), None).to_numpy() \
            if col in hits else None
    out["geometry"] = subj.geometry.to_numpy()[at]
    return out


def _same(new: pd.DataFrame, old: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(new, old, check_exact=True)
    assert list(new.columns) == list(old.columns)
    assert [str(t) for t in new.dtypes] == [str(t) for t in old.dtypes]
    assert [type(new[c].array) for c in new.columns] == [type(old[c].array) for c in old.columns]


@settings(max_examples=300, deadline=None)
@given(rule_id=NO_SURROGATES, version=st.one_of(st.integers(0, 10**6), NO_SURROGATES), layer=NO_SURROGATES,
       ids=st.lists(st.one_of(NO_SURROGATES, st.integers(), st.floats(allow_nan=False)), max_size=20))
def test_violation_ids_are_the_scalar_ids(rule_id: str, version: int | str, layer: str, ids: list[object]) -> None:
    text = [str(i) for i in ids]
    assert violation_ids(rule_id, version, layer, text) == [violation_id(rule_id, version, layer, i) for i in ids]


TEXT_OR_NONE = st.one_of(NO_SURROGATES, st.none())


@st.composite
def cases(draw: st.DrawFn) -> tuple[Rule, gpd.GeoDataFrame, pd.DataFrame]:
    rule = RULES.rule(draw(st.sampled_from([r.id for r in RULES.rules])))
    id_field = CATALOGUE[rule.subject.layer].id_field
    n = draw(st.integers(1, 8))
    ids = draw(st.one_of(st.lists(NO_SURROGATES, min_size=n, max_size=n, unique=True),
                         st.lists(st.integers(-10**12, 10**12), min_size=n, max_size=n, unique=True)))
    dtype = draw(st.sampled_from([None, object]))
    subj = gpd.GeoDataFrame({id_field: pd.Series(ids, dtype=dtype)},
                            geometry=shapely.points(np.arange(n, dtype=float), np.zeros(n)), crs=4326)
    at = draw(st.lists(st.integers(0, n - 1), max_size=n, unique=True))
    k = len(at)
    hits: dict[str, object] = {"subject": np.array(at, dtype=int)}
    for col in ("distance_m", "threshold_m", "area_m2"):
        if draw(st.booleans()):
            hits[col] = draw(st.lists(st.one_of(st.floats(-1e9, 1e9), st.just(float("nan"))), min_size=k, max_size=k))
    for col in ("distance_basis", "nearest_layer", "nearest_id", "nearest_name", "nearest_source"):
        if draw(st.booleans()):
            hits[col] = draw(st.lists(draw(st.sampled_from([NO_SURROGATES, TEXT_OR_NONE, st.none(),
                                                              st.one_of(st.integers(), NO_SURROGATES)])),
                                      min_size=k, max_size=k))
    if draw(st.booleans()):
        hits[LINE_COLUMN] = [shapely.linestrings([[0, i], [1, i]]) if draw(st.booleans()) else None for i in range(k)]
    return rule, subj, pd.DataFrame(hits)


@settings(max_examples=300, deadline=None)
@given(case=cases())
def test_the_rows_are_the_straightforward_rows(case: tuple[Rule, gpd.GeoDataFrame, pd.DataFrame]) -> None:
    rule, subj, hits = case
    new, old = _rows(rule, subj, hits, CATALOGUE), _old_rows(rule, subj, hits, CATALOGUE)
    _same(new, old)
    id_columns = list(dict.fromkeys(CATALOGUE[r.subject.layer].id_field for r in RULES.rules))
    _same(_assemble([new], id_columns), _assemble([old], id_columns))


@pytest.mark.parametrize("rule_id", [r.id for r in RULES.rules])
def test_the_rows_of_many_hits_are_the_straightforward_rows(rule_id: str) -> None:
    """The text arrays really are built in bulk (Arrow-backed, like the inferred ones) at size."""
    rule = RULES.rule(rule_id)
    id_field = CATALOGUE[rule.subject.layer].id_field
    n = 5000
    subj = gpd.GeoDataFrame({id_field: [f"S-\u00e9{i}" for i in range(n)]},
                            geometry=shapely.points(np.arange(n, dtype=float), np.zeros(n)), crs=4326)
    hits = pd.DataFrame({"subject": np.arange(0, n, 3), "distance_m": 1.234, "distance_basis": "edge",
                         "nearest_id": [f"W{i}" for i in range(0, n, 3)], "nearest_name": None})
    new = _rows(rule, subj, hits, CATALOGUE)
    _same(new, _old_rows(rule, subj, hits, CATALOGUE))
    assert len(new) == len(hits) and new["violation_id"].str.startswith(f"{rule.id}/").all()


def _old_mercury_use(sites: pd.DataFrame) -> pd.Series:
    from geo.sites import _column, _flag

    amal = _column(sites, "amalgamation").astype(object).where(lambda s: s.notna(), "").astype(str)
    burn = _column(sites, "burning").astype(object).where(lambda s: s.notna(), "").astype(str)
    said = _column(sites, "uses_mercury")
    yes = (_flag(said, True) | amal.isin(AMALGAMATION_WITH_MERCURY).to_numpy() | burn.isin(BURNING_OF_AMALGAM).to_numpy())
    no = ~yes & (_flag(said, False) | (amal == "none").to_numpy())
    out = np.full(len(sites), NOT_RECORDED, dtype=object)
    out[no] = NONE
    out[yes] = USES
    return pd.Series(out, index=sites.index, dtype=object)


WORDS = st.one_of(st.sampled_from([*AMALGAMATION_WITH_MERCURY, *BURNING_OF_AMALGAM, "none", "None", "", "unknown"]),
                  st.none(), st.just(np.nan), st.integers(-1, 1), NO_SURROGATES)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), n=st.integers(0, 8))
def test_mercury_use_skips_absent_columns_and_says_the_same(data: st.DataObject, n: int) -> None:
    """``geo.sites.mercury_use`` makes no text for an absent amalgamation or burning column (1e6
    empty strings before), with the same answer as the straightforward definition."""
    columns = {name: data.draw(st.lists(values, min_size=n, max_size=n))
               for name, values in (("uses_mercury", st.one_of(st.booleans(), st.none(), st.integers(0, 2))),
                                    ("amalgamation", WORDS), ("burning", WORDS)) if data.draw(st.booleans())}
    sites = pd.DataFrame(columns, index=pd.RangeIndex(n) + 7)
    new, old = mercury_use(sites), _old_mercury_use(sites)
    pd.testing.assert_series_equal(new, old, check_exact=True)
