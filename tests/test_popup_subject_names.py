"""A violation's popup names the feature it flags (``render.map.popups.with_subject_names``), looked up in
the layer the map draws: known answers for ids given twice, missing, numeric or unknown, a layer without
names, and a restricted name never read."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from render.map.popups import with_subject_names


def test_each_violation_takes_the_name_of_the_first_record_of_its_id() -> None:
    sites = pd.DataFrame({"site_id": ["S1", "S2", "S2", None, "7"], "name": ["One", "Two", "Two again", "Nobody", None]})
    water = pd.DataFrame({"water_id": [1, 2], "name": ["Ofin", "Pra"]})
    violations = pd.DataFrame({"subject_layer": ["mining_sites", "mining_sites", "mining_sites", "mining_sites",
                                                 "water_bodies", "tailings"],
                               "subject_id": ["S2", "S1", "S9", "7", "2", "T1"]})
    out = with_subject_names(violations, {"mining_sites": sites, "water_bodies": water})
    assert [None if pd.isna(v) else v for v in out["subject_name"]] == ["Two", "One", None, None, "Pra", None]
    assert "subject_name" not in violations  # a copy


def test_no_name_to_show_leaves_the_violations_as_they_are() -> None:
    violations = pd.DataFrame({"subject_layer": ["mining_sites"], "subject_id": ["S1"]})
    assert with_subject_names(violations, {"mining_sites": pd.DataFrame({"site_id": ["S1"]})}) is violations
    assert with_subject_names(violations, {"mining_sites": pd.DataFrame({"site_id": ["S2"], "name": ["x"]})}) \
        is violations
    empty = pd.DataFrame({"subject_layer": pd.Series([], dtype=object), "subject_id": pd.Series([], dtype=object)})
    assert with_subject_names(empty, {"mining_sites": pd.DataFrame({"site_id": [], "name": []})}) is empty
    many = pd.DataFrame({"site_id": [f"S{i}" for i in range(1000)], "name": [f"n{i}" for i in range(1000)]})
    asked = pd.DataFrame({"subject_layer": ["mining_sites"] * 3, "subject_id": ["S999", "S0", "S500"]})
    assert list(with_subject_names(asked, {"mining_sites": many})["subject_name"]) == ["n999", "n0", "n500"]
    assert np.asarray(with_subject_names(asked, {"mining_sites": many})["subject_name"]).dtype == object


def _by_numpy(violations: pd.DataFrame, sites: pd.DataFrame) -> list[object]:
    """The lookup as it was made until 2026-11-28 (ids and names to numpy, de-duplicated, mapped as
    text): the oracle of the Arrow lookup, for one layer of sites. It de-duplicates the ids as text: the
    old lookup raised pandas' InvalidIndexError on ids 7 and '7' in one object column."""
    known = sites[sites["site_id"].notna()]
    known = known.assign(site_id=known["site_id"].astype(str)).drop_duplicates("site_id")  # 7 and '7': one id
    lookup = pd.Series(known["name"].to_numpy(dtype=object), index=known["site_id"].to_numpy())
    got = violations["subject_id"].astype(str).map(lookup).to_numpy(dtype=object)
    return [None if pd.isna(v) else v for v in got]


ASKED = st.one_of(st.sampled_from(["S1", "S2", "7", "10", "é", ""]), st.integers(0, 12))
IDS = st.one_of(st.none(), ASKED)


@settings(max_examples=150, deadline=None)
@given(ids=st.lists(IDS, max_size=12), names=st.data(), asked=st.lists(ASKED, min_size=1, max_size=8),
       dtype=st.sampled_from(["object", "str", "arrow"]))
def test_the_arrow_lookup_gives_the_answers_of_the_numpy_one(ids: list[object], names: st.DataObject,
                                                              asked: list[object], dtype: str) -> None:
    """Ids of any mix (text, whole numbers, missing, given twice; text columns as numpy objects, pandas'
    str and Arrow strings) and names of any kind give the names the numpy lookup gave."""
    given_names = names.draw(st.lists(st.one_of(st.none(), st.text(max_size=3)), min_size=len(ids), max_size=len(ids)))
    site_ids = pd.Series(ids, dtype=object)
    if dtype != "object" and all(isinstance(v, str) or v is None for v in ids):
        site_ids = site_ids.astype("str" if dtype == "str" else pd.ArrowDtype(pa.string()))
    sites = pd.DataFrame({"site_id": site_ids, "name": pd.Series(given_names, dtype=object)})
    violations = pd.DataFrame({"subject_layer": ["mining_sites"] * len(asked),
                               "subject_id": pd.Series([str(a) for a in asked], dtype="str")})
    out = with_subject_names(violations, {"mining_sites": sites})
    got = [None] * len(asked) if "subject_name" not in out else [None if pd.isna(v) else v for v in out["subject_name"]]
    assert got == _by_numpy(violations, sites)


def test_missing_and_numeric_ids_as_text() -> None:
    """A missing subject id never takes the name of a record without id; numbers compare as their text."""
    sites = pd.DataFrame({"site_id": pd.Series([None, "S1"], dtype="str"), "name": ["No id", "One"]})
    violations = pd.DataFrame({"subject_layer": ["mining_sites"] * 2, "subject_id": pd.Series([None, "S1"], dtype="str")})
    assert [None if pd.isna(v) else v for v in with_subject_names(violations, {"mining_sites": sites})["subject_name"]] \
        == [None, "One"]
    water = pd.DataFrame({"water_id": [1.0, 2.5], "name": ["Ofin", "Pra"]})
    asked = pd.DataFrame({"subject_layer": ["water_bodies"] * 3, "subject_id": ["2.5", "1.0", "1"]})
    assert [None if pd.isna(v) else v for v in with_subject_names(asked, {"water_bodies": water})["subject_name"]] \
        == ["Pra", "Ofin", None]
    mixed = pd.DataFrame({"site_id": pd.Series(["7", 7], dtype=object), "name": ["Seven as text", "Seven"]})
    asked = pd.DataFrame({"subject_layer": ["mining_sites"], "subject_id": ["7"]})
    assert list(with_subject_names(asked, {"mining_sites": mixed})["subject_name"]) == ["Seven as text"]  # raised before
