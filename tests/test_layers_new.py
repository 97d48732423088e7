"""Issue 15: the seven new layer types are read, validated, stored and exported by the generic
code, with no special case per layer.

Each type has one hand-made file of three records with every declared field; the tests read it
from GeoJSON and CSV and compare every value, break one value per row and read the message
(file, row, field, value, what was expected), round-trip it through every export format, and
store it on both back ends. ``miners`` may have no geometry at all (a register from a CSV
without coordinates); ``mercury_trade`` is wholly restricted and never leaves below internal.
"""
from __future__ import annotations

import csv
import json
import math
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import mapping

from geo.errors import InputError, Problem
from layers.catalogue import CATALOGUE, LayerSpec, spec_for
from layers.io import export
from layers.io.readers import load_layer
from layers.store.open import open_store
from render.map.mapview import DRAW_ORDER, build_map

NEW = ("admin_areas", "zones", "receptors", "licences", "facilities", "mercury_trade", "miners")
SQUARE = shapely.Polygon([(30.0, 41.0), (30.01, 41.0), (30.01, 41.01), (30.0, 41.01)])
HOLED = shapely.Polygon(SQUARE.exterior.coords, [[(30.004, 41.004), (30.006, 41.004), (30.006, 41.006)]])
TWO = shapely.MultiPolygon([shapely.box(30.02, 41.0, 30.03, 41.01), shapely.box(30.04, 41.0, 30.05, 41.01)])
P1, P2, P3 = shapely.Point(30.001, 41.002), shapely.Point(30.5, 41.25), shapely.Point(-0.125, 5.5)
ROUTE = shapely.LineString([(30.0, 41.0), (30.2, 41.1), (30.4, 41.05)])

# layer -> (records as a user's file holds them, geometries, the values they read as)
RECORDS: dict[str, tuple[list[dict[str, object]], list[shapely.Geometry | None], dict[str, list[object]]]] = {
    "admin_areas": (
        [{"area_code": "KG", "name": "Kyrgyz Republic", "level": "country", "parent_code": None},
         {"area_code": "KG-J", "name": "Jalal-Abad", "level": "Region", "parent_code": "KG"},
         {"area_code": "KG-J-1", "name": "Chatkal", "level": "district", "parent_code": "KG-J"}],
        [TWO, SQUARE, HOLED],
        {"level": ["country", "region", "district"]}),
    "zones": (
        [{"zone_id": "Z1", "name": "Sary-Chelek reserve", "zone_type": "protected_area", "prohibits_mining": "yes",
          "legal_source": "003 L972-988"},
         {"zone_id": "Z2", "name": "Intake zone", "zone_type": "water protection", "prohibits_mining": "false",
          "legal_source": None},
         {"zone_id": "Z3", "name": None, "zone_type": "asm_zone", "prohibits_mining": None, "legal_source": "decree 5"}],
        [SQUARE, TWO, HOLED],
        {"prohibits_mining": [True, False, None], "zone_type": ["protected_area", "water_protection", "asm_zone"]}),
    "receptors": (
        [{"receptor_id": "R1", "name": "School No. 3", "receptor_type": "school", "population": "412",
          "admin_area": "Chatkal"},
         {"receptor_id": "R2", "name": "Intake", "receptor_type": "water_intake", "population": None, "admin_area": None},
         {"receptor_id": "R3", "name": "Fishers", "receptor_type": "fishing_community", "population": 90,
          "admin_area": "Chatkal"}],
        [P1, SQUARE, TWO],
        {"population": [412, None, 90]}),
    "licences": (
        [{"licence_id": "L1", "holder": "SECRET-holder-Asel", "holder_type": "individual", "licence_type": "mining",
          "valid_from": "2024-01-01", "valid_to": "2026-12-31", "status": "valid", "authority": "SCIESU"},
         {"licence_id": "L2", "holder": "SECRET-holder-Ltd", "holder_type": "company", "licence_type": "trading",
          "valid_from": None, "valid_to": "2023-05-31", "status": "expired", "authority": None},
         {"licence_id": "L3", "holder": None, "holder_type": "cooperative", "licence_type": "processing",
          "valid_from": "2025-02-01", "valid_to": None, "status": "suspended", "authority": "SCIESU"}],
        [SQUARE, TWO, HOLED],
        {"valid_from": [date(2024, 1, 1), None, date(2025, 2, 1)],
         "valid_to": [date(2026, 12, 31), date(2023, 5, 31), None]}),
    "facilities": (
        [{"facility_id": "F1", "name": "CAF Chatkal", "facility_type": "centralized_amalgamation", "licence_id": "L3",
          "capacity": "12.5", "storage_kg": 40, "operator": "Coop", "status": "operating", "admin_area": "Chatkal"},
         {"facility_id": "F2", "name": "Store", "facility_type": "hg_storage", "licence_id": None, "capacity": None,
          "storage_kg": "1500", "operator": None, "status": "planned", "admin_area": None},
         {"facility_id": "F3", "name": "Buyer", "facility_type": "gold_buyer", "licence_id": "L2", "capacity": 0,
          "storage_kg": None, "operator": "Kyrgyzaltyn", "status": "unknown", "admin_area": "Chatkal"}],
        [P1, P2, P3],
        {"capacity": [12.5, None, 0.0], "storage_kg": [40.0, 1500.0, None]}),
    "mercury_trade": (
        [{"record_id": "T1", "record_type": "seizure", "kg": "40", "date": "2025-03-14", "seller": "SECRET-seller-Bek",
          "buyer": None, "place": "SECRET-place-road check"},
         {"record_id": "T2", "record_type": "transaction", "kg": 0.15, "date": "2025-04-01",
          "seller": "SECRET-seller-Aida", "buyer": "SECRET-buyer-Nur", "place": "SECRET-place-market"},
         {"record_id": "T3", "record_type": "route", "kg": None, "date": None, "seller": None, "buyer": None,
          "place": "SECRET-place-border to market"}],
        [P1, P2, ROUTE],
        {"kg": [40.0, 0.15, None], "date": [date(2025, 3, 14), date(2025, 4, 1), None]}),
    "miners": (
        [{"miner_id": "M1", "site_id": "S1", "certificate_no": "SECRET-cert-001", "registered_on": "2024-03-01",
          "sex": "female", "age_band": "25_49", "activity": "digging"},
         {"miner_id": "M2", "site_id": "S1", "certificate_no": "SECRET-cert-002", "registered_on": None,
          "sex": "male", "age_band": "15_17", "activity": "amalgamation"},
         {"miner_id": "M3", "site_id": None, "certificate_no": None, "registered_on": "2024-05-02", "sex": None,
          "age_band": None, "activity": None}],
        [P1, None, P3],
        {"registered_on": [date(2024, 3, 1), None, date(2024, 5, 2)]}),
}
# layer -> (row 2's field, a bad value, what the message must say was expected)
BAD: dict[str, tuple[str, object, str]] = {
    "admin_areas": ("level", "state", "expected one of: commune, country, district, province, region"),
    "zones": ("zone_type", "national park", "expected one of: asm_zone, border, competitive_auction,"),
    "receptors": ("population", -5, "impossible value: expected at least 0"),
    "licences": ("status", "active", "expected one of: expired, revoked, suspended, valid"),
    "facilities": ("capacity", -1.5, "impossible value: expected at least 0 t/day"),
    "mercury_trade": ("kg", "a lot", "expected a number"),
    "miners": ("age_band", "adult", "expected one of: 15_17, 18_24, 25_49, 50_plus, under_15, unknown"),
}


@pytest.fixture(params=["geopackage", "postgis"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(tmp_path / "ws.gpkg") if request.param == "geopackage" else str(request.getfixturevalue("pg_url"))


def _expected(layer: str, field: str) -> list[object]:
    records, _, parsed = RECORDS[layer]
    return parsed.get(field, [r.get(field) for r in records])


def _write_geojson(path: Path, records: list[dict[str, object]], geoms: list[shapely.Geometry | None]) -> Path:
    features = [{"type": "Feature", "properties": r, "geometry": None if g is None else mapping(g)}
                for r, g in zip(records, geoms)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def _write_csv(path: Path, records: list[dict[str, object]], geoms: list[shapely.Geometry | None] | None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        names = list(records[0]) + ([] if geoms is None else ["geometry"])
        writer = csv.DictWriter(f, fieldnames=names)
        writer.writeheader()
        for i, r in enumerate(records):
            row = {k: "" if v is None else v for k, v in r.items()}
            if geoms is not None:
                row["geometry"] = "" if geoms[i] is None else geoms[i].wkt
            writer.writerow(row)
    return path


def _value(v: object) -> object:
    """A read value made comparable: missing -> None, timestamps -> days, numpy -> Python."""
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    return v.item() if hasattr(v, "item") else v


def _assert_reads_as(gdf: gpd.GeoDataFrame, layer: str, fields: tuple[str, ...] | None = None) -> None:
    spec = spec_for(layer)
    assert gdf.crs is not None and gdf.crs.to_epsg() == 4326
    assert len(gdf) == 3
    for name in fields or tuple(RECORDS[layer][0][0]):
        assert [_value(v) for v in gdf[name]] == _expected(layer, name), (layer, name)
    for got, want in zip(gdf.geometry, RECORDS[layer][1]):
        if want is None:
            assert got is None or got.is_empty, layer
        else:
            # a writer may promote a Polygon to a one-part MultiPolygon in a layer that mixes them
            assert got.geom_type.removeprefix("Multi") == want.geom_type.removeprefix("Multi"), (layer, got.wkt)
            assert shapely.hausdorff_distance(got, want) < 1e-7, (layer, got.wkt, want.wkt)
    assert set(spec.field_names) >= set(RECORDS[layer][0][0])  # the file holds declared fields only


def test_every_new_type_is_in_the_catalogue_with_units_in_pint_notation() -> None:
    from geo.quantities import factor
    assert set(NEW) <= set(CATALOGUE) and set(DRAW_ORDER) == set(CATALOGUE)
    for layer in NEW:
        spec = spec_for(layer)
        assert set(RECORDS[layer][0][0]) == set(spec.field_names), layer  # the hand-made file holds every field
        for f in spec.fields:
            if f.unit:
                assert factor(f.unit, f.unit) == 1.0
    assert spec_for("facilities").field("capacity").unit == "t/day"
    assert factor(spec_for("tailings").field("au_g_per_t").unit, "mg/kg") == pytest.approx(1.0)
    assert [n for n, s in CATALOGUE.items() if s.restricted] == ["mercury_trade"]
    assert set(spec_for("miners").restricted_fields) >= {"certificate_no", "sex", "age_band"}
    assert spec_for("licences").restricted_fields == ("holder",)
    assert [n for n, s in CATALOGUE.items() if s.geometry_optional] == ["miners"]


@pytest.mark.parametrize("layer", NEW)
def test_a_new_type_reads_from_geojson(layer: str, tmp_path: Path) -> None:
    records, geoms, _ = RECORDS[layer]
    loaded = load_layer(_write_geojson(tmp_path / "in.geojson", records, geoms), layer)
    _assert_reads_as(loaded.gdf, layer)
    assert not [p for p in loaded.warnings if p.severity == "error"]


@pytest.mark.parametrize("layer", NEW)
def test_a_new_type_reads_from_csv_with_wkt(layer: str, tmp_path: Path) -> None:
    records, geoms, _ = RECORDS[layer]
    _assert_reads_as(load_layer(_write_csv(tmp_path / "in.csv", records, geoms), layer).gdf, layer)


def test_a_register_without_coordinates_reads_from_xlsx_and_is_stored_on_both_back_ends(location: str,
                                                                                     tmp_path: Path) -> None:
    path = tmp_path / "register.xlsx"
    pd.DataFrame(RECORDS["miners"][0]).to_excel(path, index=False)
    loaded = load_layer(path, "miners")
    assert loaded.gdf.geometry.isna().all() and list(loaded.gdf["miner_id"]) == ["M1", "M2", "M3"]
    store = open_store(location)
    store.write_layer("miners", loaded.gdf, source="register.xlsx")
    back = store.read("miners")
    assert back.geometry.isna().all() and list(back["certificate_no"]) == ["SECRET-cert-001", "SECRET-cert-002", None]
    assert [_value(v) for v in back["registered_on"]] == _expected("miners", "registered_on")


def test_a_register_without_coordinates_reads_from_csv_with_no_geometry(tmp_path: Path) -> None:
    records = RECORDS["miners"][0]
    loaded = load_layer(_write_csv(tmp_path / "register.csv", records, None), "miners")
    assert loaded.gdf.geometry.isna().all() and len(loaded.gdf) == 3
    assert [_value(v) for v in loaded.gdf["certificate_no"]] == ["SECRET-cert-001", "SECRET-cert-002", None]
    assert any(p.expected == "no coordinate columns: the records have no location" for p in loaded.warnings)
    # a layer that needs geometry still refuses such a file, naming what it looked for
    with pytest.raises(InputError, match="no coordinate columns found"):
        load_layer(_write_csv(tmp_path / "zones.csv", RECORDS["zones"][0], None), "zones")


@pytest.mark.parametrize("layer", NEW)
def test_validation_names_file_row_field_value_and_what_was_expected(layer: str, tmp_path: Path) -> None:
    records, geoms, _ = RECORDS[layer]
    field, bad, expected = BAD[layer]
    records = [dict(r) for r in records]
    records[1][field] = bad
    spec = spec_for(layer)
    wrong = next(g for g in (shapely.Point(30.0, 41.0), SQUARE, shapely.LineString([(30, 41), (30.1, 41)]))
                 if g.geom_type not in spec.geometry_types)
    geoms = [wrong, *geoms[1:]]
    with pytest.raises(InputError) as caught:
        load_layer(_write_geojson(tmp_path / "bad.geojson", records, geoms), layer)
    problems = caught.value.problems
    assert Problem("bad.geojson", 2, field, bad, expected, "error", records[1][spec.id_field], problems[0].kind) in [
        Problem(p.file, p.row, p.field, p.value, p.expected[:len(expected)], p.severity, p.feature_id, problems[0].kind)
        for p in problems]
    kinds = ", ".join(spec.geometry_types)
    assert [(p.row, p.field, p.value, p.expected) for p in problems if p.field == "geometry"] == [
        (1, "geometry", wrong.geom_type, f"geometry type {kinds} for {layer}")]
    assert "Traceback" not in str(caught.value)


@pytest.mark.parametrize("layer", [n for n in NEW if not spec_for(n).geometry_optional])
def test_a_record_without_geometry_is_refused_where_the_layer_needs_one(layer: str, tmp_path: Path) -> None:
    records, geoms, _ = RECORDS[layer]
    with pytest.raises(InputError) as caught:
        load_layer(_write_geojson(tmp_path / "nogeom.geojson", records, [geoms[0], None, geoms[2]]), layer)
    assert [(p.row, p.field, p.kind) for p in caught.value.problems] == [(2, "geometry", "geometry")]


@pytest.mark.parametrize("layer", NEW)
@pytest.mark.parametrize("fmt", sorted(set(export.FORMATS.values())))
def test_a_new_type_round_trips_through_every_export_format(layer: str, fmt: str, tmp_path: Path) -> None:
    records, geoms, _ = RECORDS[layer]
    spec = spec_for(layer)
    loaded = load_layer(_write_geojson(tmp_path / "in.geojson", records, geoms), layer).gdf
    suffix = {v: k for k, v in export.FORMATS.items()}[fmt]
    out = tmp_path / f"out{suffix}"
    out.write_bytes(export.to_bytes(loaded, fmt, spec=spec, profile="internal"))
    _assert_reads_as(load_layer(out, layer).gdf, layer)
    for profile in ("partner", "public"):
        if spec.restricted:
            with pytest.raises(InputError, match="wholly restricted: it is exported only under the internal"):
                export.to_bytes(loaded, fmt, spec=spec, profile=profile)
            continue
        shared = tmp_path / f"{profile}{suffix}"
        shared.write_bytes(export.to_bytes(loaded, fmt, spec=spec, profile=profile))
        back = load_layer(shared, layer).gdf
        assert not set(spec.restricted_fields) & set(back.columns), (layer, profile)
        assert b"SECRET" not in shared.read_bytes()
        assert list(back[spec.id_field]) == list(loaded[spec.id_field])


def test_every_new_type_is_stored_and_read_back_on_both_back_ends(location: str, tmp_path: Path) -> None:
    store = open_store(location)
    for layer in NEW:
        records, geoms, _ = RECORDS[layer]
        loaded = load_layer(_write_geojson(tmp_path / f"{layer}.geojson", records, geoms), layer).gdf
        store.write_layer(layer, loaded, source=f"{layer}.geojson", licence="CC0-1.0", synthetic=True)
        _assert_reads_as(store.read(layer), layer)
    tailings = gpd.GeoDataFrame({"tailings_id": ["T1"], "au_g_per_t": ["2.75"]}, geometry=[SQUARE], crs=4326)
    store.write_layer("tailings", load_layer_frame(tailings, "tailings", tmp_path), source="t.geojson")
    assert store.read("tailings")["au_g_per_t"].tolist() == [2.75]
    assert {i.layer for i in store.layers()} >= set(NEW)


def load_layer_frame(gdf: gpd.GeoDataFrame, layer: str, tmp_path: Path) -> gpd.GeoDataFrame:
    path = tmp_path / f"{layer}.geojson"
    path.write_text(gdf.to_json(), encoding="utf-8")
    return load_layer(path, layer).gdf


def test_the_map_draws_the_new_types_and_skips_records_without_a_location(tmp_path: Path) -> None:
    frames = {layer: load_layer(_write_geojson(tmp_path / f"{layer}.geojson", *RECORDS[layer][:2]), layer).gdf
              for layer in NEW}
    html = build_map(frames).get_root().render()
    for layer in NEW:
        spec: LayerSpec = spec_for(layer)
        located = sum(g is not None for g in RECORDS[layer][1])
        assert f"{spec.title} ({located:,})" in html, layer
        for name in spec.restricted_fields:  # popups never carry a restricted field or its value
            assert f'"{name}"' not in html
    assert "SECRET-cert" not in html and "SECRET-holder" not in html and "SECRET-seller" not in html
