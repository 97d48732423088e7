"""A violation's popup names the feature it flags (``render.map.popups.with_subject_names``), looked up in
the layer the map draws: known answers for ids given twice, missing, numeric or unknown, a layer without
names, and a restricted name never read."""
from __future__ import annotations

import numpy as np
import pandas as pd

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
