"""Names in messages said in words (geo.words), not as Python lists (HR, session 19).

Found by grepping HR's modules for f-strings of lists: "it holds ['sites', 'rivers']", "expected one of
['internal', 'partner', 'public']", "--filter ...: expected a field that may leave: ['site_id', ...]", "the
rules ['HG-WATER-100', ...] check several subject layers" (tests/test_check_chunked.py) and others.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from openpyxl import Workbook
from shapely.geometry import Point

from geo.errors import InputError
from layers.catalogue import spec_for
from layers.io import export
from layers.io.readers import load_layer
from layers.io.violations import write_violations


def _refused(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(InputError) as refused:
        call(*args, **kwargs)  # type: ignore[operator]
    text = str(refused.value)
    assert "[" not in text and "]" not in text, text
    return text


def _sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"site_id": ["A"], "status": ["active"]}, geometry=[Point(-1.6, 6.7)], crs=4326)


def test_a_geopackage_s_layers_in_words(tmp_path: Path) -> None:
    path = tmp_path / "survey.gpkg"
    _sites().to_file(path, layer="sites")
    _sites().to_file(path, layer="camps")
    said = _refused(load_layer, path, "mining_sites")
    assert "survey.gpkg: holds several layers (sites and camps); name one with --source-layer" in said
    said = _refused(load_layer, path, "mining_sites", source_layer="pits")
    assert "survey.gpkg: has no layer 'pits'; it holds sites and camps" in said


def test_a_workbook_s_sheets_in_words(tmp_path: Path) -> None:
    book = Workbook()
    book.active.title = "Sites"
    book.active.append(["site_id", "lat", "lon"])
    book.create_sheet("Notes")
    path = tmp_path / "sites.xlsx"
    book.save(path)
    assert "sites.xlsx: has no sheet 'Visits'; it holds Sites and Notes" in _refused(
        load_layer, path, "mining_sites", source_layer="Visits")
    book["Notes"].append(["written", "by", "hand"])
    book.save(path)
    assert "sites.xlsx: holds several sheets (Sites and Notes); name one with --source-layer" in _refused(
        load_layer, path, "mining_sites")


def test_export_profiles_and_formats_in_words(tmp_path: Path) -> None:
    spec = spec_for("mining_sites")
    assert "profile 'secret' is not known; expected one of: internal, partner, public" in _refused(
        export.apply_profile, _sites(), spec, "secret")
    assert "sites.shp: cannot export to '.shp'; expected one of: .csv, .geojson, .gpkg, .json, .kml" in _refused(
        export.write, _sites(), tmp_path / "sites.shp", spec=spec)
    assert "v.txt: cannot write violations to '.txt'; expected one of: .geojson, .gpkg, .csv, .kml" in _refused(
        write_violations, _sites(), tmp_path / "v.txt")
