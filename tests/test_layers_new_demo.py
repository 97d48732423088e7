"""Issue 15: the demo workspace holds what the issue promises, labelled synthetic: an admin
hierarchy (country > regions > districts) containing every site and agreeing with the sites'
``admin_area``, a protected area that prohibits mining and cites 003 L972-988, licences valid,
expired and one ending within 90 days of the demo date, a school and a water intake, a facility,
trade records and miners (some without a location)."""
from __future__ import annotations

from datetime import date

import pytest

from geo.distance import PolygonSet, points_inside
from layers.store.workspace import DEFAULT_PATH, Workspace

DEMO_DATE = date(2026, 11, 26)  # scripts/build_demo.py DEMO_DATE
NEW = ("admin_areas", "zones", "licences", "receptors", "facilities", "mercury_trade", "miners")
pytestmark = pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (run `make demo`)")


def test_the_demo_holds_every_new_layer_labelled_synthetic() -> None:
    infos = {i.layer: i for i in Workspace(DEFAULT_PATH).layers()}
    for layer in NEW:
        assert infos[layer].synthetic and "synthetic" in infos[layer].source, layer
    assert "au_g_per_t" in Workspace(DEFAULT_PATH).read("tailings").columns


def test_the_demo_admin_hierarchy_contains_every_site_in_the_unit_its_admin_area_names() -> None:
    ws = Workspace(DEFAULT_PATH)
    areas, sites = ws.read("admin_areas"), ws.read("mining_sites")
    assert sorted(areas["level"].unique()) == ["country", "district", "region"]
    codes = set(areas["area_code"])
    assert all(p in codes for p in areas["parent_code"].dropna()) and areas["parent_code"].isna().sum() == 1
    points = sites.geometry.representative_point().to_numpy()
    for level, expected in (("country", 1), ("region", 1), ("district", 1)):
        units = areas[areas["level"] == level].reset_index(drop=True)
        hits = points_inside(points, PolygonSet.of(units.geometry.to_numpy()))
        assert (hits.groupby("point").size() == expected).all() and hits["point"].nunique() == len(sites), level
        if level == "region":
            named = units["name"].to_numpy()[hits.sort_values("point")["polygon"].to_numpy()]
            assert list(named) == list(sites["admin_area"])


def test_the_demo_zone_licences_and_receptors_are_as_promised() -> None:
    ws = Workspace(DEFAULT_PATH)
    zones = ws.read("zones")
    assert list(zones["zone_type"]) == ["protected_area"] and zones["prohibits_mining"].tolist() == [True]
    assert "003 L972-988" in zones["legal_source"].iloc[0] and "SYNTHETIC" in zones["legal_source"].iloc[0]
    lic = ws.read("licences")
    assert {"valid", "expired"} <= set(lic["status"])
    ends = lic.loc[lic["status"] == "valid", "valid_to"].dropna().dt.date
    assert [d for d in ends if 0 <= (d - DEMO_DATE).days <= 90] == [date(2027, 1, 10)]
    assert sorted(ws.read("receptors")["receptor_type"]) == ["school", "water_intake"]
    assert len(ws.read("facilities")) == 1 and len(ws.read("mercury_trade")) >= 3
    miners = ws.read("miners")
    assert miners.geometry.isna().any() and miners.geometry.notna().any()
