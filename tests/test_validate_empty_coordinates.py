"""A CSV or XLSX record whose coordinate cells are empty is told so by its own column names.

Found in the last session's walk: a CSV row with an empty ``lon`` said only "field 'geometry': ... the
geometry is null or empty", naming a field the file does not have. ``layers.io.coordinates`` now notes,
per record, which of the file's coordinate cells is empty (a lat/lon pair, KoBoToolbox's
``_<field>_latitude``/``_longitude`` and ``_geolocation``, an ODK geopoint, a WKT column) and
``validate`` names that column, the cell and what was expected: one coordinate of two is an error in
any layer, none at all only where the layer needs a location.
"""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from layers.catalogue import spec_for
from layers.io.coordinates import find_geometry
from layers.io.validate import EMPTY, validate


def _validated(df: pd.DataFrame, layer: str = "mining_sites") -> list[tuple[int | None, str | None, object, str]]:
    """``validate``'s errors for ``df`` read as ``layers.io.readers`` reads a table: the coordinate
    columns found, dropped, and their notes kept in the ``EMPTY`` column."""
    found = find_geometry(df)
    assert found is not None
    gdf = gpd.GeoDataFrame(df.drop(columns=list(found.used_columns)), geometry=found.geometries, crs="EPSG:4326")
    if any(e is not None for e in found.empty):
        gdf[EMPTY] = list(found.empty)
    layer_gdf, problems = validate(gdf, spec_for(layer), source="sites.csv")
    assert EMPTY not in layer_gdf.columns  # a marker, never stored
    return [(p.row, p.field, p.value, p.expected) for p in problems if p.severity == "error"]


def test_an_empty_lon_names_the_column_the_cell_and_the_latitude_beside_it() -> None:
    df = pd.DataFrame({"site_id": ["A", "B", "C", "D"], "lon": [-1.6, None, -1.5, None],
                       "lat": [6.7, 6.8, None, None]})
    assert _validated(df) == [
        (2, "lon", "", "a longitude in decimal degrees; the cell is empty while 'lat' holds 6.8: fill it in, "
         "or empty both if the record has no location"),
        (3, "lat", "", "a latitude in decimal degrees; the cell is empty while 'lon' holds -1.5: fill it in, "
         "or empty both if the record has no location"),
        (4, "lat, lon", "", "a latitude and a longitude in decimal degrees; both cells are empty, so the record "
         "has no location; mining_sites need a location (a Point, Polygon, MultiPolygon geometry) in every record"),
    ]


def test_kobo_columns_are_named_as_the_file_names_them() -> None:
    df = pd.DataFrame({"site_id": ["A", "B"], "_gps_latitude": ["6,7", "6,8"], "_gps_longitude": ["-1,6", " "]})
    assert _validated(df) == [
        (2, "_gps_longitude", " ", "a longitude in decimal degrees; the cell is empty while '_gps_latitude' "
         "holds 6.8: fill it in, or empty both if the record has no location")]


@pytest.mark.parametrize(("column", "cells", "value"), [
    ("_geolocation", ["[6.7, -1.6]", None], ""),
    ("_geolocation", ["[6.7, -1.6]", "[null, null]"], "[null, null]"),
    ("gps", ["6.7 -1.6 0 5", None], ""),
    ("geometry", ["POINT (-1.6 6.7)", None], ""),
])
def test_one_column_forms_name_their_column(column: str, cells: list[str | None], value: str) -> None:
    errors = _validated(pd.DataFrame({"site_id": ["A", "B"], column: cells}))
    assert len(errors) == 1
    row, field, shown, expected = errors[0]
    assert (row, field, shown) == (2, column, value)
    assert expected.endswith("so the record has no location; mining_sites need a location "
                             "(a Point, Polygon, MultiPolygon geometry) in every record")


def test_a_record_without_location_is_fine_where_the_layer_allows_it_but_half_a_location_is_not() -> None:
    spec = spec_for("miners")  # a register: a record may have no location
    assert spec.geometry_optional
    df = pd.DataFrame({spec.id_field: ["A", "B"], "lat": [None, 6.8], "lon": [None, None]})
    errors = [(row, field) for row, field, _, _ in _validated(df, "miners") if field in ("lat", "lon", "lat, lon")]
    assert errors == [(2, "lon")]


def test_a_file_without_empty_cells_carries_no_notes() -> None:
    found = find_geometry(pd.DataFrame({"lat": [6.7], "lon": [-1.6]}))
    assert found is not None and found.empty == ()


def test_a_cell_that_is_not_a_coordinate_is_said_once_and_degrees_minutes_seconds_are_converted_for_the_user() -> None:
    """A coordinate written as 6°42'30"N was "expected a latitude in decimal degrees" plus a second error,
    "field 'geometry': the geometry is null or empty", on the same record. Now the reader's error alone,
    with the value in decimal degrees for the user to write (the cell is not read as it: never guessed)."""
    df = pd.DataFrame({"site_id": ["A", "B", "C"], "lon": ["1°36'W", "-1.5", "1°36'E"],
                       "lat": ["6°42'30\"N", "x", "6°N"],
                       "_geolocation": ["[6.7, -1.6]", "[6.7]", None]})
    found = find_geometry(df[["site_id", "lon", "lat"]])
    assert found is not None
    assert sorted(found.bad_rows, key=lambda b: (b[0], b[1])) == [
        (0, "lat", "6°42'30\"N", "expected a latitude in decimal degrees; '6°42\\'30\"N' is 6.708333 in decimal "
         "degrees: write that"),
        (0, "lon", "1°36'W", "expected a longitude in decimal degrees; \"1°36'W\" is -1.6 in decimal degrees: write that"),
        (1, "lat", "x", "expected a latitude in decimal degrees"),
        (2, "lat", "6°N", "expected a latitude in decimal degrees; '6°N' is 6 in decimal degrees: write that"),
        (2, "lon", "1°36'E", "expected a longitude in decimal degrees; \"1°36'E\" is 1.6 in decimal degrees: write that"),
    ]
    assert _validated(df[["site_id", "lon", "lat"]]) == []  # no second error on the same records
    kobo = df[["site_id", "_geolocation"]]
    assert _validated(kobo) == [(3, "_geolocation", "", "a latitude and a longitude; the cell is empty, so the record "
                                 "has no location; mining_sites need a location (a Point, Polygon, MultiPolygon "
                                 "geometry) in every record")]  # row 2's '[6.7]' is the reader's error alone
    kobo_found = find_geometry(kobo)
    assert kobo_found is not None and [(i, f) for i, f, _, _ in kobo_found.bad_rows] == [(1, "_geolocation")]


def test_a_hemisphere_of_the_other_axis_is_named() -> None:
    found = find_geometry(pd.DataFrame({"site_id": ["A"], "lon": ["6°42'N"], "lat": ["1°36'W"]}))
    assert found is not None
    assert sorted(b[3] for b in found.bad_rows) == [
        "expected a latitude in decimal degrees; \"1°36'W\" names W, which is not a hemisphere of this axis (N or S)",
        "expected a longitude in decimal degrees; \"6°42'N\" names N, which is not a hemisphere of this axis (E or W)",
    ]


def test_a_geopoint_column_with_a_few_bad_cells_is_read_and_each_bad_cell_named() -> None:
    """An ODK geopoint column 'gps' with one empty, one half and one unreadable cell was not recognised
    at all ("no coordinate columns found"): the whole file refused for three cells."""
    df = pd.DataFrame({"site_id": ["A", "B", "C", "D", "E"],
                       "gps": ["6.7 -1.6 0 5", None, "6.8", "6.9 -1.4", "here"]})
    found = find_geometry(df)
    assert found is not None and found.used_columns == ("gps",)
    assert found.bad_rows == [(4, "gps", "here", "expected 'latitude longitude [altitude accuracy]' in decimal "
                               "degrees, such as '6.7 -1.6 120 5'")]
    assert [(row, field, value) for row, field, value, _ in _validated(df)] == [(2, "gps", ""), (3, "gps", "6.8")]
    assert _validated(df)[1][3] == ("a latitude and a longitude; the cell holds one number, not a latitude and a "
                                   "longitude, so the record has no location")
    assert find_geometry(pd.DataFrame({"site_id": ["A"], "remarks": ["here"]})) is None  # no number pair: not coordinates
