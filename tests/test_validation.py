"""One test per validation problem, asserting the message a person reads."""
from __future__ import annotations

import struct

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import geomcheck
from geo.errors import Problem
from layers.catalogue import spec_for
from layers.io.validate import OPEN_RING, validate

SITES = spec_for("mining_sites")


def _one(problems: list[Problem], kind: str) -> Problem:
    hits = [p for p in problems if p.kind == kind]
    assert len(hits) == 1, problems
    return hits[0]


def _frame(**columns: list[object]) -> gpd.GeoDataFrame:
    n = len(next(iter(columns.values())))
    geoms = columns.pop("geometry", [shapely.Point(-1.99 + i / 100, 5.3) for i in range(n)])
    return gpd.GeoDataFrame(columns, geometry=list(geoms), crs=4326)


def test_valid_layer_has_no_errors_and_keeps_extra_columns(sites: gpd.GeoDataFrame) -> None:
    out, problems = validate(sites, SITES, source="s.geojson")
    assert [p for p in problems if p.severity == "error"] == []
    assert list(out["local_code"]) == ["a-1", "b-2", "c-3"]
    assert out["uses_mercury"].dtype == "boolean"


def test_missing_required_field() -> None:
    gdf = _frame(sample_id=["1"], medium=["water"], unit=["ug/L"])
    p = _one(validate(gdf, spec_for("samples"), source="s.csv")[1], "missing")
    assert (p.field, p.row) == ("hg", None)
    assert str(p) == ("error: s.csv, field 'hg': required field is missing; add a column named "
                      "one of: hg, mercury, hg_value, value")


def test_missing_required_value() -> None:
    gdf = _frame(sample_id=["1", "2"], medium=["water", None], hg=[1.0, 2.0], unit=["ug/L", "ug/L"])
    p = _one(validate(gdf, spec_for("samples"), source="s.csv")[1], "missing")
    assert (p.row, p.field, p.feature_id) == (2, "medium", "2")
    assert "required value is missing" in str(p)


def test_wrong_type() -> None:
    gdf = _frame(site_id=["A", "B"], miners=["12", "twelve"])
    p = _one(validate(gdf, SITES, source="s.csv")[1], "type")
    assert str(p) == "error: s.csv, row 2, id B, field 'miners': value 'twelve': expected a whole number"


def test_value_outside_allowed_set_suggests_the_closest() -> None:
    gdf = _frame(site_id=["A"], amalgamation=["whole-ore-ish"], status=["actve"])
    problems = [p for p in validate(gdf, SITES, source="s.csv")[1] if p.kind == "allowed"]
    by_field = {p.field: str(p) for p in problems}
    assert "did you mean 'active'?" in by_field["status"]
    assert "value 'actve'" in by_field["status"]
    assert "expected one of: abandoned, active, inactive, unknown" in by_field["status"]
    assert "did you mean 'whole_ore'?" in by_field["amalgamation"]


def test_duplicate_ids() -> None:
    gdf = _frame(site_id=["A", "B", "A"])
    p = _one(validate(gdf, SITES, source="s.csv")[1], "duplicate")
    assert str(p) == "error: s.csv, row 3, id A, field 'site_id': value 'A': duplicate id: already used by record 1"


def test_null_and_empty_geometries() -> None:
    gdf = _frame(site_id=["A", "B"], geometry=[None, shapely.Point()])
    problems = [p for p in validate(gdf, SITES, source="s.csv")[1] if p.kind == "geometry"]
    assert [p.row for p in problems] == [1, 2]
    assert "geometry is null or empty" in str(problems[0])


def test_invalid_geometry_is_an_error_unless_repair_is_asked() -> None:
    bowtie = shapely.Polygon([(-2, 5), (-1.9, 5.1), (-1.9, 5), (-2, 5.1), (-2, 5)])
    gdf = _frame(site_id=["A"], geometry=[bowtie])
    p = _one(validate(gdf, SITES, source="s.csv")[1], "invalid")
    assert "Self-intersection" in str(p.value) and "pass --repair" in p.expected
    out, problems = validate(gdf, SITES, source="s.csv", repair=True)
    r = _one(problems, "repaired")
    assert r.severity == "warning" and "MultiPolygon" in r.expected
    assert out.geometry.iloc[0].is_valid and out.geometry.iloc[0].area > 0


def test_coordinates_out_of_range() -> None:
    gdf = _frame(site_id=["A"], geometry=[shapely.Point(-190.0, 95.5)])
    p = _one(validate(gdf, SITES, source="s.csv")[1], "range")
    assert "longitude in [-180, 180] and latitude in [-90, 90]" in str(p)


def test_latitude_and_longitude_look_swapped() -> None:
    gdf = _frame(site_id=["A"], geometry=[shapely.Point(5.3, -120.5)])  # Peru, written lat/lon
    p = _one(validate(gdf, SITES, source="s.csv")[1], "swapped")
    assert "look swapped: (-120.500000, 5.300000) would be valid" in str(p)


def test_wrong_geometry_type_for_the_layer() -> None:
    gdf = _frame(site_id=["A"], geometry=[shapely.LineString([(-2, 5), (-1, 5)])])
    p = _one(validate(gdf, SITES, source="s.csv")[1], "geometry_type")
    assert str(p) == ("error: s.csv, row 1, id A, field 'geometry': value 'LineString': "
                      "geometry type Point, Polygon, MultiPolygon for mining_sites")


def test_impossible_negative_mercury() -> None:
    gdf = _frame(site_id=["A"], mercury_kg_per_year=[-3.0])
    p = _one(validate(gdf, SITES, source="s.csv")[1], "range")
    assert str(p) == ("error: s.csv, row 1, id A, field 'mercury_kg_per_year': value -3.0: "
                      "impossible value: expected at least 0 kg/year")


def test_below_detection_limit_is_kept_not_zero() -> None:
    gdf = _frame(sample_id=["1", "2"], medium=["water", "water"], hg=["<0.1", "2.5"],
                 unit=["ug/L", "ug/L"])
    out, problems = validate(gdf, spec_for("samples"), source="s.csv")
    assert not [p for p in problems if p.severity == "error"]
    assert list(out["hg"]) == [0.1, 2.5]
    assert list(out["below_detection"]) == [True, False]


def test_every_problem_is_reported_at_once() -> None:
    gdf = _frame(site_id=["A", "A", "C"], status=["bad", "active", "active"],
                 miners=["x", "1", "-4"],
                 geometry=[shapely.Point(-2, 5), None, shapely.Point(5, -100)])
    kinds = sorted(p.kind for p in validate(gdf, SITES, source="s.csv")[1])
    assert kinds == ["allowed", "duplicate", "geometry", "range", "swapped", "type"]


def test_aliases_and_case_are_mapped_to_declared_fields() -> None:
    gdf = _frame(ID=["A"], Site_Name=["Alpha"], STATUS=["Active"])
    out, problems = validate(gdf, SITES, source="s.csv")
    assert not [p for p in problems if p.severity == "error"]
    assert (out["site_id"].iloc[0], out["name"].iloc[0], out["status"].iloc[0]) == ("A", "Alpha", "active")


def test_missing_id_column_generates_ids_with_a_warning() -> None:
    gdf = _frame(name=["a", "b"])
    out, problems = validate(gdf, SITES, source="footprints.geojson")
    assert list(out["site_id"]) == ["footprints-1", "footprints-2"]
    assert _one(problems, "generated").severity == "warning"
    assert pd.api.types.is_object_dtype(out["site_id"])


def test_units_bounds_and_detection_flags_come_from_the_catalogue() -> None:
    """Validation repeats no field fact: a new spec's unit, bounds and detection flag just work."""
    from layers.catalogue import FieldSpec, LayerSpec, Style

    spec = LayerSpec(
        name="air_readings", title="Air", geometry_types=("Point",), id_field="reading_id",
        style=Style(color="#000000", fill_color="#ffffff"),
        fields=(FieldSpec("reading_id", required=True),
                FieldSpec("hg_air", "float", unit="ng/m^3", minimum=0, maximum=50000,
                          detection_flag="hg_air_below"),
                FieldSpec("hg_air_below", "bool")))
    gdf = _frame(reading_id=["a", "b", "c"], hg_air=["<2", "60000", "15"])
    out, problems = validate(gdf, spec, source="air.csv")
    assert [str(p) for p in problems] == [
        "error: air.csv, row 2, id b, field 'hg_air': value 60000.0: impossible value: expected at most "
        "50000 ng/m^3"]
    assert list(out["hg_air"]) == [2.0, 60000.0, 15.0]
    assert list(out["hg_air_below"]) == [True, False, False]


# ---------------------------------------------------------------- issue 10: what GEOS cannot build
def _wkb(order: str, code: int, body: bytes) -> bytes:
    return struct.pack(order + "BI", 1 if order == "<" else 0, code) + body


def _polygon(order: str, ring: list[tuple[float, float]], code: int = 3, srid: bytes = b"") -> bytes:
    points = b"".join(struct.pack(order + "dd", x, y) for x, y in ring)
    return _wkb(order, code, srid + struct.pack(order + "II", 1, len(ring)) + points)


def test_decode_wkb_names_the_first_open_ring_in_any_byte_order_and_part() -> None:
    closed = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]
    open_ = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)]
    multi = _wkb(">", 6, struct.pack(">I", 2) + _polygon(">", closed) + _polygon(">", open_))
    ewkb = _polygon("<", open_, code=0x20000003, srid=struct.pack("<I", 4326))  # PostGIS, with SRID
    decoded = geomcheck.decode_wkb(np.array([multi, ewkb, _polygon("<", closed), None], dtype=object))
    assert decoded.open_rings == ["ring 1 of polygon 2 starts at (0.0, 0.0) but ends at (0.0, 2.0)",
                                  "ring 1 of polygon 1 starts at (0.0, 0.0) but ends at (0.0, 2.0)", None, None]
    assert shapely.equals(decoded.geoms[1], shapely.Polygon(open_))  # built closed, for --repair
    assert decoded.geoms[3] is None and decoded.unreadable == [None] * 4


def test_an_open_ring_noted_by_the_reader_is_an_error_or_a_repair() -> None:
    gdf = _frame(site_id=["A", "B"], geometry=[shapely.Polygon([(-2, 5), (-1.9, 5), (-1.9, 5.1)]),
                                               shapely.Point(-2, 5)])
    gdf[OPEN_RING] = ["ring 1 of polygon 1 starts at (-2.0, 5.0) but ends at (-1.9, 5.1)", None]
    out, problems = validate(gdf, SITES, source="s.geojson")
    assert [str(p) for p in problems if p.severity == "error"] == [
        "error: s.geojson, row 1, id A, field 'geometry': value 'ring 1 of polygon 1 starts at (-2.0, 5.0) but "
        "ends at (-1.9, 5.1)': a closed ring (first point = last point); pass --repair to close it"]
    assert OPEN_RING not in out.columns
    out, problems = validate(gdf, SITES, source="s.geojson", repair=True)
    assert [p.kind for p in problems] == ["repaired"] and problems[0].severity == "warning"


@pytest.mark.parametrize("text", ["inf", "-inf", "Infinity", "nan"])
def test_numbers_that_are_not_finite_are_bad_values(text: str) -> None:
    gdf = _frame(site_id=["A"], mercury_kg_per_year=[text], miners=[text])
    problems = validate(gdf, SITES, source="s.csv")[1]
    assert sorted((p.field, p.value) for p in problems if p.kind == "type") == [
        ("mercury_kg_per_year", text), ("miners", text)]


def test_a_whole_number_field_shows_its_value_without_a_decimal() -> None:
    p = _one(validate(_frame(site_id=["A"], miners=[-4.0]), SITES, source="s.csv")[1], "range")
    assert str(p) == "error: s.csv, row 1, id A, field 'miners': value -4: impossible value: expected at least 0"


def test_a_row_left_out_under_repair_is_grouped_as_left_out_not_as_repaired() -> None:
    """The Import page grouped the Ghana rivers' 25 one-point lines as 'warning: 25 x repaired in field
    'geometry'' beside 'Added 51 features' from 76 (H2, 2026-11-27): they are left out, not repaired."""
    from services.imports import group_problems

    flat = shapely.LineString([(-2.0, 5.0), (-2.0, 5.0)])
    bowtie = shapely.Polygon([(-2, 5), (-1.9, 5.1), (-1.9, 5), (-2, 5.1), (-2, 5)])
    gdf = _frame(water_id=["A", "B", "C"], kind=["river", "lake", "river"],
                 geometry=[flat, bowtie, shapely.LineString([(-2, 5), (-1.9, 5)])])
    _, problems = validate(gdf, spec_for("water_bodies"), source="s.geojson", repair=True)
    assert sorted((p.feature_id, p.kind) for p in problems) == [("A", "left out"), ("B", "repaired")]
    assert [h for h, _ in group_problems(problems)] == ["warning: 1 x left out in field 'geometry'",
                                                        "warning: 1 x repaired in field 'geometry'"]
