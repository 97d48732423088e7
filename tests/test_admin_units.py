"""Admin units by containment (geo.admin_units, services.areas): every level, the boundary and a hole,
the free-text fallback, the import's warning naming both units, and the report's region/district
roll-up."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon

import cli
from geo.admin_units import attribute_conflicts, report_levels, units_of
from layers.catalogue import ADMIN_LEVELS
from layers.store.workspace import Workspace
from render.report.document import report_html, unit_tables
from render.report.tables import inventory_tables
from services.areas import unit_warnings, with_units
from services.imports import load_upload
from settings.factors import load_factors


def box(x0: float, y0: float, x1: float, y1: float, hole: list | None = None) -> Polygon:
    return Polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], holes=[hole] if hole else None)


# Chui (R1) holds Alamudun (D11, with an enclave D13 cut out of it) and Sokuluk (D12), Naryn (R2) holds At-Bashy
ENCLAVE = [(0.2, 0.2), (0.3, 0.2), (0.3, 0.3), (0.2, 0.3)]
AREAS = gpd.GeoDataFrame({
    "area_code": ["KG", "R1", "R2", "D11", "D12", "D13", "D21"],
    "name": ["Kyrgyzstan", "Chui", "Naryn", "Alamudun", "Sokuluk", "Enclave", "At-Bashy"],
    "level": ["country", "region", "region", "district", "district", "district", "district"],
    "parent_code": [None, "KG", "KG", "R1", "R1", "R1", "R2"],
}, geometry=[box(0, 0, 2, 1), box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 0, 0.5, 1, ENCLAVE),
             box(0.5, 0, 1, 1), Polygon(ENCLAVE), box(1, 0, 2, 1)], crs=4326)


def sites(**over: list) -> gpd.GeoDataFrame:
    base = {"site_id": ["a", "b", "c", "d", "e", "f"],
            "admin_area": ["Chui", "naryn", " Sokuluk ", None, "Alamudun", "At-Bashy"]}
    geoms = [Point(0.1, 0.5), Point(0.75, 0.5), None, Point(0.5, 0.5), Point(5, 5), Point(0.25, 0.25)]
    return gpd.GeoDataFrame({**base, **over}, geometry=geoms, crs=4326)


def test_every_level_by_containment_boundary_hole_and_fallback() -> None:
    u = units_of(sites(), AREAS, ADMIN_LEVELS)
    assert u["admin_country"].tolist() == ["KG", "KG", "KG", "KG", "KG", "KG"]
    assert u["admin_region"].tolist() == ["R1", "R1", "R1", "R1", "R1", "R1"]
    # d lies exactly on the Alamudun/Sokuluk boundary: the smaller code; f lies in the enclave (a hole of D11)
    assert u["admin_district"].tolist() == ["D11", "D12", "D12", "D11", "D11", "D13"]
    assert u["admin_district_name"].tolist()[:2] == ["Alamudun", "Sokuluk"]
    # c has no geometry and e lies outside every unit: their admin_area names the unit, parents filled in
    assert u["admin_basis"].tolist() == ["containment", "containment", "attribute", "containment", "attribute",
                                         "containment"]
    assert u["admin_province"].isna().all()


def test_polygons_are_placed_by_a_point_on_their_surface() -> None:
    u_shape = Polygon([(0.6, 0.1), (0.9, 0.1), (0.9, 0.9), (0.6, 0.9), (0.6, 0.8), (0.8, 0.8), (0.8, 0.2),
                       (0.6, 0.2)])  # a U: placed by a point inside it
    tail = gpd.GeoDataFrame({"tailings_id": ["t"]}, geometry=[u_shape], crs=4326)
    assert units_of(tail, AREAS, ADMIN_LEVELS)["admin_district"].tolist() == ["D12"]


def test_a_disagreeing_attribute_is_named_with_the_containing_unit() -> None:
    frame = sites()
    u = units_of(frame, AREAS, ADMIN_LEVELS)
    bad = attribute_conflicts(frame["admin_area"], u, ADMIN_LEVELS)
    assert bad["row"].tolist() == [1, 5]
    assert bad["contained"].tolist() == ["Kyrgyzstan (KG) / Chui (R1) / Sokuluk (D12)",
                                         "Kyrgyzstan (KG) / Chui (R1) / Enclave (D13)"]
    warnings = unit_warnings(frame, "mining_sites", AREAS, "sites.geojson")
    text = [str(w) for w in warnings]
    assert text[0].startswith("warning: sites.geojson, row 2, id b, field 'admin_area': value 'naryn': ")
    assert "lies in Kyrgyzstan (KG) / Chui (R1) / Sokuluk (D12)" in text[0]
    assert unit_warnings(frame, "water_bodies", AREAS, "x") == [] and unit_warnings(frame, "mining_sites",
                                                                                     None, "x") == []


def test_import_warns_and_still_stores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = Workspace(tmp_path / "ws.gpkg")
    ws.write_layer("admin_areas", AREAS, source="test units")
    path = tmp_path / "mining_sites.geojson"
    sites().iloc[[0, 1]].to_file(path, driver="GeoJSON")
    assert cli.main(["--workspace", str(ws.path), "import", str(path)]) == 0
    err = capsys.readouterr().err
    assert "row 2, id b, field 'admin_area': value 'naryn'" in err and "Sokuluk (D12)" in err
    assert "row 1, id a" not in err and "Traceback" not in err
    assert sorted(ws.read("mining_sites")["site_id"]) == ["a", "b"]


def report_sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "site_id": ["s1", "s2", "s3", "s4"], "admin_area": ["Chui", "Chui", "Naryn", None],
        "amalgamation": ["concentrate"] * 4, "burning": ["open"] * 4, "status": ["active"] * 4,
        "gold_kg_per_year": [10.0, 20.0, 30.0, 40.0], "survey_date": ["2026-01-01"] * 4,
    }, geometry=[Point(0.1, 0.5), Point(0.7, 0.5), Point(1.5, 0.5), Point(0.2, 0.9)], crs=4326)


def test_report_rolls_up_by_region_and_district() -> None:
    located = with_units(report_sites(), AREAS)
    assert report_levels(located) == ("region", "district")
    inv = inventory_tables(located, load_factors(), today=date(2026, 6, 1))
    table = inv.tables["by_unit"]
    assert list(table[["region", "district", "n_sites"]].itertuples(index=False, name=None)) == [
        ("Chui", "(all)", 3), ("Chui", "Alamudun", 2), ("Chui", "Sokuluk", 1),
        ("Naryn", "(all)", 1), ("Naryn", "At-Bashy", 1)]
    chui = table[(table["region"] == "Chui")]
    assert chui["used_kg"].iloc[0] == pytest.approx(chui["used_kg"].iloc[1:].sum())
    titles = [t for t, _ in unit_tables(inv)]
    assert titles == ["Region Chui: kg of mercury a year, by district",
                      "Region Naryn: kg of mercury a year, by district"]
    page = report_html(inv, "<svg></svg>", "2026-06-01")
    assert "Region Chui: kg of mercury a year, by district" in page and "At-Bashy" in page


def test_without_admin_areas_nothing_changes() -> None:
    plain = report_sites()
    assert with_units(plain, None) is plain
    inv = inventory_tables(plain, load_factors(), today=date(2026, 6, 1))
    assert inv.tables["by_unit"].empty and unit_tables(inv) == []
    assert isinstance(inv.tables["by_unit"], pd.DataFrame)


def test_an_upload_is_checked_against_the_workspace_units() -> None:
    data = sites().iloc[[0, 1]].to_json().encode()
    loaded = load_upload("mining_sites.geojson", data, admin_areas=AREAS)
    assert [(w.row, w.feature_id, w.value) for w in loaded.warnings if w.kind == "admin_area"] == [(2, "b", "naryn")]
    assert not [w for w in load_upload("mining_sites.geojson", data).warnings if w.kind == "admin_area"]
