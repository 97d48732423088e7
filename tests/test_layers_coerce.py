"""Parsing what field forms write: yes/no in several languages and decimal commas."""
from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from layers.catalogue import spec_for
from layers.io.coerce import parse_bool, parse_float, parse_int
from layers.io.validate import validate


def _parse(parser: Callable[[pd.Series], tuple[pd.Series, pd.Series]],
           values: list[object]) -> tuple[list[object], list[bool]]:
    parsed, bad = parser(pd.Series(values, dtype=object))
    return [None if pd.isna(v) else v for v in parsed], list(bad)


@pytest.mark.parametrize("text,expected", [
    ("oui", True), ("OUI", True), ("non", False), ("да", True), ("ДА", True), ("нет", False),
    ("sí", True), ("si", True), ("sim", True), ("não", False), ("ja", True), ("nein", False),
    ("ооба", True), ("жок", False), (" Yes ", True), ("N", False), ("1", True), ("0", False),
])
def test_yes_and_no_in_the_languages_of_the_forms(text: str, expected: bool) -> None:
    assert _parse(parse_bool, [text]) == ([expected], [False])


def test_an_unknown_word_is_bad_and_a_blank_is_missing() -> None:
    assert _parse(parse_bool, ["peut-être", "", None, 1.0, 0]) == (
        [None, None, None, True, False], [True, False, False, False, False])


@pytest.mark.parametrize("text,expected", [
    ("1,5", 1.5), ("1.5", 1.5), (" 2,75 ", 2.75), ("-0,5", -0.5), ("0,123", 0.123),
    ("1234,5", 1234.5), ("1e3", 1000.0), ("12", 12.0),
])
def test_decimal_point_or_comma(text: str, expected: float) -> None:
    assert _parse(parse_float, [text]) == ([expected], [False])


@pytest.mark.parametrize("text", ["1,234", "12,345", "-999,000", "1.234,5", "1 234", "1,5 kg", ","])
def test_thousands_separators_and_other_text_are_bad_not_guessed(text: str) -> None:
    """'1,234' is 1.234 in French and 1234 in English: refused rather than read 1000 times off."""
    assert _parse(parse_float, [text]) == ([None], [True])


def test_whole_numbers_with_a_decimal_comma() -> None:
    assert _parse(parse_int, ["3,0", "3,5", "12"]) == ([3, None, 12], [False, True, False])


def test_a_french_form_validates_with_the_catalogues_unit_in_messages() -> None:
    gdf = gpd.GeoDataFrame({"site_id": ["A", "B", "C"], "uses_mercury": ["oui", "non", "да"],
                            "mercury_kg_per_year": ["1,5", "-0,5", "1,234"]},
                           geometry=shapely.points([(-2, 5), (-2, 5.1), (-2, 5.2)]), crs=4326)
    out, problems = validate(gdf, spec_for("mining_sites"), source="fiche.csv")
    assert list(out["uses_mercury"]) == [True, False, True]
    assert [str(p) for p in problems] == [
        "error: fiche.csv, row 3, id C, field 'mercury_kg_per_year': value '1,234': expected a number "
        "such as 2.5 or 2,5, without thousands separators",
        "error: fiche.csv, row 2, id B, field 'mercury_kg_per_year': value -0.5: impossible value: "
        "expected at least 0 kg/year",
    ]
    assert out["mercury_kg_per_year"].iloc[0] == 1.5
