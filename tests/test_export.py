"""Exports: the round trip through every format, RFC 7946, profiles and their metadata."""
from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from layers.catalogue import spec_for
from layers.io import export
from layers.io.readers import load_layer
from layers.io.validate import validate

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
