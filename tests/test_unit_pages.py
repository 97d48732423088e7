"""Issue 15, the choropleth by admin unit on the case workbench and the registers page.

Hand-made admin areas with known answers: open cases placed by the unit that contains the case's
subject (a tailings deposit with no admin_area text is still placed), the sites flagged per unit,
the registers' sites without a valid licence and licences per unit by containment (the free-text
area as the fallback, saying so), the choropleth's values per unit and the escaping of a unit
name with markup."""
from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, Polygon

from geo.inventory import Range
from services.rollups import CASE_TOOLTIP, unit_map, unit_rollup
from settings.factors import load_factors

TODAY = date(2026, 11, 26)
FACTORS = load_factors()
POINT = replace(FACTORS, hg_au_ratio={k: Range(r.central, r.central, r.central, r.source, r.unit)
                                      for k, r in FACTORS.hg_au_ratio.items()})
MARKUP = "<img src=x onerror=alert(1)>"


def box(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    return Polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])


# region R1 holds districts D11 (west half) and D12 (east half, named with markup); R2 holds D21
AREAS = gpd.GeoDataFrame({
    "area_code": ["R1", "R2", "D11", "D12", "D21"],
    "name": ["Chui", "Naryn", "Alamudun", MARKUP, "At-Bashy"],
    "level": ["region", "region", "district", "district", "district"],
    "parent_code": [None, None, "R1", "R1", "R2"],
}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 0, 0.5, 1), box(0.5, 0, 1, 1), box(1, 0, 2, 1)], crs=4326)


def sites() -> gpd.GeoDataFrame:
    """a, b in Alamudun; c in D12; d in At-Bashy. Their admin_area text is wrong on purpose (Nowhere)."""
    return gpd.GeoDataFrame({
        "site_id": ["a", "b", "c", "d"], "name": ["A", "B", "C", "D"], "status": ["active"] * 4,
        "uses_mercury": [True] * 4, "amalgamation": ["concentrate"] * 4, "burning": ["open"] * 4,
        "mercury_kg_per_year": [1.0, 2.0, 3.0, 4.0], "admin_area": ["Nowhere"] * 4,
        "survey_date": ["2025-06-01"] * 4,
    }, geometry=[Point(0.25, 0.5), Point(0.3, 0.5), Point(0.75, 0.5), Point(1.5, 0.5)], crs=4326)


def tailings() -> gpd.GeoDataFrame:
    """T1 lies in D12 (no admin_area text), T2 in At-Bashy, T3 in no unit."""
    return gpd.GeoDataFrame({"tailings_id": ["T1", "T2", "T3"], "site_id": [None, None, None]},
                            geometry=[box(0.7, 0.1, 0.8, 0.2), Point(1.2, 0.2), Point(9, 9)], crs=4326)


def frames() -> dict[str, gpd.GeoDataFrame]:
    return {"mining_sites": sites(), "tailings": tailings(), "admin_areas": AREAS}


CASES = pd.DataFrame({
    "subject_layer": ["mining_sites", "mining_sites", "mining_sites", "tailings", "tailings", "tailings", "tailings"],
    "site_id": ["a", "b", "c", "T1", "T1", "T2", "T3"],
    "status": ["new", "closed", "visited", "new", "assigned", "resolved", "new"],
    "flagged": [True, True, False, True, True, True, True],
    "cases": [2, 1, 1, 1, 1, 4, 1]})


def by_unit(table: pd.DataFrame, column: str) -> dict[str, object]:
    return dict(zip(table["unit"], table[column], strict=True))


def test_cases_are_placed_by_the_unit_that_contains_their_subject() -> None:
    r = unit_rollup(frames(), POINT, today=TODAY, level="district", cases=CASES)
    # a: 2 open; b: closed; c: 1 open (no longer flagged); T1: 2 open; T2: resolved (settled); T3: in no unit
    assert by_unit(r.table, "open_cases") == {"Alamudun": 2, MARKUP: 3, "At-Bashy": 0}
    assert by_unit(r.table, "flagged_sites") == {"Alamudun": 1, MARKUP: 1, "At-Bashy": 0}
    assert any(n.startswith("1 open case(s) belong to sites not in view") for n in r.notes)
    region = unit_rollup(frames(), POINT, today=TODAY, level="region", cases=CASES)
    assert by_unit(region.table, "open_cases") == {"Chui": 5, "Naryn": 0}
    assert by_unit(region.table, "flagged_sites") == {"Chui": 2, "Naryn": 0}


def test_counts_by_site_alone_are_still_read_as_mining_sites() -> None:
    plain = CASES.drop(columns=["subject_layer", "flagged"]).iloc[:3]
    r = unit_rollup(frames(), POINT, today=TODAY, level="district", cases=plain)
    assert by_unit(r.table, "open_cases") == {"Alamudun": 2, MARKUP: 1, "At-Bashy": 0}
    assert by_unit(r.table, "flagged_sites") == {"Alamudun": 1, MARKUP: 1, "At-Bashy": 0}


def _rows(html: str) -> dict[str, list[object]]:
    """The choropleth's rows by unit name: [class, value, further tooltip values...]."""
    found = re.search(r"var rows = (\[.*?\]);\n", html, re.S)
    assert found is not None
    return {str(r[2]): [r[0], *r[3:]] for r in json.loads(found.group(1))}


def test_the_case_choropleth_carries_each_units_values_and_escapes_markup() -> None:
    r = unit_rollup(frames(), POINT, today=TODAY, level="district", cases=CASES)
    fmap = unit_map(r, "open_cases", tooltip=CASE_TOOLTIP)
    assert fmap is not None
    html = fmap.get_root().render()
    got = _rows(html)
    assert {u: v[1] for u, v in got.items()} == {"Alamudun": 2, MARKUP: 3, "At-Bashy": 0}
    assert {u: v[-1] for u, v in got.items()} == {"Alamudun": 1, MARKUP: 1, "At-Bashy": 0}  # sites flagged
    assert got["At-Bashy"][0] == "zero"
    assert "<img src=x" not in html and "\\u003cimg src=x onerror=alert(1)\\u003e" in html
    flagged = _rows(unit_map(r, "flagged_sites", tooltip=CASE_TOOLTIP).get_root().render())  # type: ignore[union-attr]
    assert {u: v[1] for u, v in flagged.items()} == {"Alamudun": 1, MARKUP: 1, "At-Bashy": 0}
