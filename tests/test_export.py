"""Exports: the round trip through every format, RFC 7946, profiles (allow-lists) and their metadata,
the one CSV writer and the KML writer."""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import re
import sqlite3
import xml.etree.ElementTree as ET
import zipfile
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from layers.catalogue import CATALOGUE, is_person_name, is_restricted_name, name_key, spec_for
from layers.io import export
from layers.io.csvfile import FORMULA_START, defuse_formula, restore_formula
from layers.io.readers import load_layer
from layers.io.validate import validate
from layers.io.violations import violations_bytes
from layers.store.workspace import LayerInfo
from render.report.tables import inventory_tables, tables_zip
from services.exports import layer_file
from settings import Settings

SPEC = spec_for("mining_sites")
PROV = [export.Provenance("mining_sites", "survey 2024", "CC-BY-4.0")]


def _clean(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return validate(sites, SPEC, source="s")[0]


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".csv", ".kml"])
def test_round_trip_keeps_every_feature_and_field(sites: gpd.GeoDataFrame, tmp_path: Path,
                                                  suffix: str) -> None:
    original = _clean(sites)
    path = export.write(original, tmp_path / f"out{suffix}", spec=SPEC, profile="internal",
                        provenance=PROV)
    back = load_layer(path, "mining_sites").gdf
    assert len(back) == len(original)
    assert set(original.columns) <= set(back.columns)
    for col in original.columns:
        if col == "geometry":
            continue
        a = original[col].astype(object).where(original[col].notna(), None).tolist()
        b = back[col].astype(object).where(back[col].notna(), None).tolist()
        field = SPEC.field(col)
        if col == "local_code" or field is None or field.dtype == "str":
            a, b = [None if v is None else str(v) for v in a], [None if v is None else str(v) for v in b]
        assert a == b, col
    for g1, g2 in zip(original.geometry, back.geometry):
        assert shapely.equals_exact(shapely.normalize(g1), shapely.normalize(g2), tolerance=1e-7)


def test_geojson_follows_rfc_7946(tmp_path: Path) -> None:
    clockwise = shapely.Polygon([(-1.97, 5.30), (-1.97, 5.31), (-1.96, 5.31), (-1.96, 5.30)])
    assert not clockwise.exterior.is_ccw
    gdf = gpd.GeoDataFrame({"site_id": ["A"]}, geometry=[clockwise], crs=4326)
    gdf.loc[0, "geometry"] = shapely.affinity.translate(clockwise, 1e-9 * 3.3333, 0)
    path = export.write(gdf, tmp_path / "a.geojson", spec=SPEC, profile="partner", provenance=PROV)
    doc = json.loads(path.read_text())
    assert "crs" not in doc
    ring = doc["features"][0]["geometry"]["coordinates"][0]
    assert shapely.LinearRing(ring).is_ccw  # exterior ring counter-clockwise
    decimals = {len(str(c).split(".")[1]) for pt in ring for c in pt if "." in str(c)}
    assert max(decimals) <= 7
    assert doc["hgwatch"]["profile"] == "partner"
    assert doc["hgwatch"]["layers"][0]["licence"] == "CC-BY-4.0"


@pytest.mark.parametrize("profile,dropped", [
    ("internal", set()),
    ("partner", {"informant_name"}),
    ("public", {"informant_name", "notes"}),
])
def test_profiles_drop_restricted_fields(sites: gpd.GeoDataFrame, tmp_path: Path, profile: str,
                                         dropped: set[str]) -> None:
    path = export.write(_clean(sites), tmp_path / "a.geojson", spec=SPEC, profile=profile,
                        provenance=PROV)
    doc = json.loads(path.read_text())
    keys = set(doc["features"][0]["properties"])
    assert not (keys & dropped)
    assert {"informant_name", "notes"} - dropped <= keys
    assert doc["hgwatch"]["profile"] == profile


def test_profile_is_recorded_in_gpkg_csv_and_kml(sites: gpd.GeoDataFrame, tmp_path: Path) -> None:
    gpkg = export.write(_clean(sites), tmp_path / "a.gpkg", spec=SPEC, provenance=PROV)
    with contextlib.closing(sqlite3.connect(gpkg)) as con:
        meta = dict(con.execute("SELECT key, value FROM hgw_export").fetchall())
    assert json.loads(meta["profile"]) == "partner"
    assert "survey 2024" in meta["layers"]
    csv = pd.read_csv(export.write(_clean(sites), tmp_path / "a.csv", spec=SPEC, provenance=PROV))
    assert set(csv["hgw_profile"]) == {"partner"} and "informant_name" not in csv
    kml = export.write(_clean(sites), tmp_path / "a.kml", spec=SPEC, provenance=PROV).read_text()
    assert "profile partner" in kml and "CC-BY-4.0" in kml and "Ama" not in kml


def test_unknown_profile_and_format_are_refused(sites: gpd.GeoDataFrame, tmp_path: Path) -> None:
    from geo.errors import InputError

    with pytest.raises(InputError, match="expected one of"):
        export.write(_clean(sites), tmp_path / "a.geojson", spec=SPEC, profile="secret")
    with pytest.raises(InputError, match="cannot export"):
        export.write(_clean(sites), tmp_path / "a.docx", spec=SPEC)


def test_to_bytes_matches_the_file(sites: gpd.GeoDataFrame) -> None:
    data = export.to_bytes(_clean(sites), "geojson", spec=SPEC, provenance=PROV)
    assert json.loads(data)["type"] == "FeatureCollection"


def test_csv_defuses_formulas_and_reads_them_back(sites: gpd.GeoDataFrame, tmp_path: Path) -> None:
    gdf = _clean(sites)
    gdf.loc[0, "name"] = '=HYPERLINK("http://x","click")'
    path = export.write(gdf, tmp_path / "a.csv", spec=SPEC, profile="internal")
    raw = pd.read_csv(path, dtype=str)
    assert raw.loc[0, "name"] == "'=HYPERLINK(\"http://x\",\"click\")"  # a spreadsheet shows text
    assert load_layer(path, "mining_sites").gdf.loc[0, "name"] == '=HYPERLINK("http://x","click")'


# ---------------------------------------------------------------- issue 10: what leaves the agency
PERSON_SPELLINGS = ["informant_name", "Informant Name", "informantName", "INFORMANT-NAME", "informant.name",
                    "interview/informant_name", "grp-informant_contact", "meta/inspectorName", "group_1/collector_id",
                    "informant_", "informan_1", "inspector_", "grp-inform", "particip_1", "enumerator", "Respondent Phone",
                    "owner_email", "household_head", "contact_person", "phonenumber"]


@pytest.mark.parametrize("name", PERSON_SPELLINGS)
def test_person_names_are_restricted_in_every_spelling(name: str) -> None:
    assert is_person_name(name) and is_restricted_name(name)


@pytest.mark.parametrize("name", ["local_code", "survey", "sample", "last_inspected", "site_name", "folder", "volume_m3"])
def test_ordinary_names_are_not_restricted(name: str) -> None:
    assert not is_restricted_name(name)


def test_the_catalogue_restricts_what_the_name_rule_restricts() -> None:
    """No declared field is caught by the person rule unless the catalogue restricts it too."""
    for spec in CATALOGUE.values():
        for f in spec.fields:
            assert is_restricted_name(f.name) == f.restricted, (spec.name, f.name)


@pytest.mark.parametrize("raw,key", [("interview/InformantName", "informant_name"), ("grp-informant-name", "informant_name"),
                                     ("Informant  Name", "informant_name"), ("informant.name", "informant_name"),
                                     ("group_1/site_ID", "site_id"), ("meta-instanceID", "instance_id")])
def test_name_key_normalises_spelling_and_group_prefixes(raw: str, key: str) -> None:
    assert name_key(raw) == key


def _planted_sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"site_id": ["S1"], "name": ["Alpha"], "notes": ["by the river"], "local_code": ["LC"],
                             "Informant Name": ["SECRET-1"], "collector_id": ["SECRET-2"]},
                            geometry=[shapely.Point(-1.99, 5.3)], crs=4326)


@pytest.mark.parametrize("profile,columns", [
    ("internal", {"site_id", "name", "notes", "local_code", "Informant Name", "collector_id"}),
    ("partner", {"site_id", "name", "notes"}),
    ("public", {"site_id", "name"}),
])
def test_partner_and_public_profiles_are_allow_lists(profile: str, columns: set[str]) -> None:
    kept = export.apply_profile(_planted_sites(), SPEC, profile)
    assert set(kept.columns) - {"geometry"} == columns


def test_shareable_columns_leave_but_never_a_person_field() -> None:
    kept = export.apply_profile(_planted_sites(), SPEC, "public", shareable=("local_code", "collector_id"))
    assert set(kept.columns) - {"geometry"} == {"site_id", "name", "local_code"}


@given(st.text(max_size=12))
def test_defused_text_never_runs_and_reads_back_the_same(text: str) -> None:
    defused = defuse_formula(text)
    assert restore_formula(defused) == text
    assert isinstance(defused, str)
    stripped = defused.lstrip(" ")
    assert not stripped.startswith(FORMULA_START) or re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", stripped)


@pytest.mark.parametrize("number", ["-5", "+1.5e3", "-0.25", "12"])
def test_a_plain_number_stays_a_number(number: str) -> None:
    assert defuse_formula(number) == number


def test_csv_header_names_are_defused_and_read_back(sites: gpd.GeoDataFrame, tmp_path: Path) -> None:
    gdf = _clean(sites).assign(**{"=cmd|' /C calc'!A0": "v", " @SUM(1)": "w"})
    path = export.write(gdf, tmp_path / "a.csv", spec=SPEC, profile="internal")
    header = next(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert "'=cmd|' /C calc'!A0" in header and "' @SUM(1)" in header
    back = load_layer(path, "mining_sites").gdf
    assert {"=cmd|' /C calc'!A0", " @SUM(1)"} <= set(back.columns)


def test_a_carriage_return_in_a_csv_value_cannot_start_a_row(sites: gpd.GeoDataFrame, tmp_path: Path) -> None:
    gdf = _clean(sites)
    gdf.loc[0, "notes"] = "first\r=cmd|' /C calc'!A0"
    path = export.write(gdf, tmp_path / "a.csv", spec=SPEC, profile="internal")
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))
    assert len(rows) == 1 + len(gdf)
    assert load_layer(path, "mining_sites").gdf.loc[0, "notes"] == "first\r=cmd|' /C calc'!A0"


def test_inventory_zip_and_tables_defuse_formulas() -> None:
    frame = gpd.GeoDataFrame({"site_id": ["=1+1", "S2"], "name": ["@SUM(A1)", "+cmd|x"], "status": ["active"] * 2,
                              "admin_area": ["=HYPERLINK(\"http://x\")", "-cmd"], "gold_kg_per_year": [1.0, 2.0],
                              "amalgamation": ["whole_ore", "concentrate"], "survey_round": ["@r1", "r2"]},
                             geometry=[shapely.Point(-1.99, 5.3), shapely.Point(-1.98, 5.3)], crs=4326)
    inv = inventory_tables(frame, Settings.from_env().factors, today=date(2024, 6, 1))
    with zipfile.ZipFile(io.BytesIO(tables_zip(inv))) as archive:
        texts = {name: archive.read(name).decode("utf-8-sig") for name in archive.namelist()}
    assert "sites.csv" in texts
    cells = [c for text in texts.values() for row in csv.reader(io.StringIO(text)) for c in row]
    assert "'=1+1" in cells and "'@SUM(A1)" in cells
    assert not [c for c in cells if c.lstrip(" ").startswith(FORMULA_START) and defuse_formula(c) != c]


HOLED = shapely.MultiPolygon([
    shapely.Polygon([(-1.97, 5.30), (-1.96, 5.30), (-1.96, 5.31), (-1.97, 5.31)],
                    [[(-1.968, 5.302), (-1.962, 5.302), (-1.962, 5.308), (-1.968, 5.302)]]),
    shapely.Polygon([(-1.95, 5.30), (-1.94, 5.30), (-1.94, 5.31), (-1.95, 5.30)])])


def test_kml_holds_any_name_and_value(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"site_id": ["S1", "S2"], "name": ["a\rb & <c>", "]]><script>x</script>"],
                            "x&y": ["bell\x07 gone", 'quote"d'], "a<b": ["\ufffe", "ok"]},
                           geometry=[shapely.Point(-1.99, 5.3), HOLED], crs=4326)
    path = export.write(gdf, tmp_path / "a.kml", spec=SPEC, profile="internal")
    ET.parse(path)
    back = load_layer(path, "mining_sites").gdf.set_index("site_id")
    assert shapely.equals_exact(shapely.normalize(back.loc["S2", "geometry"]), shapely.normalize(HOLED), 1e-7)
    assert back.loc["S1", "name"] == "a\rb & <c>" and back.loc["S2", "name"] == "]]><script>x</script>"
    assert back.loc["S1", "x&y"] == "bell gone" and back.loc["S2", "x&y"] == 'quote"d'
    assert back.loc["S2", "a<b"] == "ok"


def test_violations_leave_through_the_allow_list() -> None:
    violations = gpd.GeoDataFrame(
        {"violation_id": ["R/1"], "rule_id": ["R"], "site_id": ["S1"], "distance_m": [12.5],
         "nearest_line": [shapely.LineString([(-1.99, 5.3), (-1.98, 5.3)])],
         "informant_name": ["SECRET-A"], "local_note": ["SECRET-B"]},
        geometry=[shapely.Point(-1.99, 5.3)], crs=4326)
    for fmt in ("geojson", "gpkg", "csv", "kml"):
        data = violations_bytes(violations, fmt, profile="partner")
        assert b"SECRET" not in data, fmt
    doc = json.loads(violations_bytes(violations, "geojson", profile="partner"))
    assert doc["features"][0]["properties"]["nearest_line"].startswith("LINESTRING")


def test_downloads_follow_the_shareable_marks() -> None:
    frame = _planted_sites()
    info = LayerInfo("mining_sites", "survey", "CC-BY-4.0", "2024-01-01", 1, None, "", False)
    plain = json.loads(layer_file(frame, "mining_sites", "geojson", profile="partner", infos=[info]))
    assert "local_code" not in plain["features"][0]["properties"]
    marked = dataclasses.replace(info, shareable=("local_code",))
    shared = json.loads(layer_file(frame, "mining_sites", "geojson", profile="partner", infos=[marked]))
    assert shared["features"][0]["properties"]["local_code"] == "LC"
    assert "SECRET" not in json.dumps(shared)
