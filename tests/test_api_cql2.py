"""CQL2 text in ``filter=`` on the real partner API (``python -m api``), on a GeoPackage store and on PostGIS.

Before, the gate handed ``filter`` to pygeoapi's ECQL parser: ``NOT (...)``, every ``S_`` and ``T_`` function
and ``DATE(...)`` compared with a date field were 400 ("Bad CQL text", or "cannot be applied here"), and
``/collections/ID/items/`` was 404 "identifier not found". Now ``filter`` is read as CQL2 text
(``api.cql2_read``, the ``cql2`` library) and evaluated over the collection as the key's identity is
served it (``api.cql2_mask``).

Hand-made layers with known answers: a district polygon with a notch (``DISTRICT``) and the sites in it,
on its edge, in the notch (inside its bounding box, outside the polygon) and outside; survey dates before,
on and after 2025-01-01 and one missing; water samples and hair samples (personal rows: a partner never gets
them) inside and outside the district. An attacker's partner key asks where the hair samples are and gets
what it gets for a place where nothing is."""
from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from api import cql2_mask, cql2_read, cql2_text
from services import auth
from tests.api_kit import PASSWORD, SECRET, get, new_key, open_location, serving

DISTRICT = "POLYGON((-2.0 5.2, -1.9 5.2, -1.9 5.3, -1.95 5.25, -2.0 5.3, -2.0 5.2))"  # a notch at the top
SITES = {  # id: (geometry, name, survey date)
    "IN1": (shapely.Point(-1.99, 5.21), "O'Brien", "2024-06-01"),
    "IN2": (shapely.Point(-1.91, 5.25), "Alpha", "2025-03-01"),
    "IN3": (shapely.Point(-1.95, 5.22), "Alpha", "2025-01-01"),
    "NODATE": (shapely.Point(-1.97, 5.24), "Beta", None),
    "NOTCH": (shapely.Point(-1.95, 5.28), "Gamma", "2024-12-31"),  # in the district's bbox, not in the district
    "CROSS": (shapely.box(-1.905, 5.21, -1.895, 5.22), "Delta", "2025-01-02"),  # across its east edge
    "OUT1": (shapely.Point(-1.80, 5.25), "Zérékoré", "2025-02-10"),
    "OUT2": (shapely.Point(-2.05, 5.10), "O'Brien", "2023-05-05"),
}
WITHIN = ["IN1", "IN2", "IN3", "NODATE"]
HAIR_AT = (-1.96, 5.23)  # a hair sample (one person's health record) inside the district
NOWHERE = (-1.961, 5.231)  # a place 150 m away where nothing is


def _layers() -> list[tuple[str, gpd.GeoDataFrame]]:
    ids = list(SITES)
    sites = gpd.GeoDataFrame({
        "site_id": ids, "name": [SITES[i][1] for i in ids], "status": ["active"] * len(ids),
        "miners": list(range(10, 10 + len(ids))), "survey_date": [SITES[i][2] for i in ids],
        "informant_name": [f"{SECRET}-informant-{i}" for i in ids]},
        geometry=[SITES[i][0] for i in ids], crs=4326)
    samples = gpd.GeoDataFrame({
        "sample_id": ["W1", "W2", "H1", "H2"], "medium": ["water", "water", "hair", "hair"],
        "hg": [8.0, 1.0, 500.0, 400.0], "unit": ["ug/L", "ug/L", "ug/g", "ug/g"],
        "sampled_on": ["2024-05-01", "2025-02-01", "2025-02-01", "2024-05-01"],
        "participant_id": [None, None, f"{SECRET}-person-1", f"{SECRET}-person-2"]},
        geometry=[shapely.Point(-1.98, 5.22), shapely.Point(-1.80, 5.22), shapely.Point(*HAIR_AT),
                  shapely.Point(-1.85, 5.26)], crs=4326)
    return [("mining_sites", sites), ("samples", samples)]


Served = tuple[str, str, str]  # url, the partner's key, the analyst's key


def _start(location: str) -> tuple[str, str]:
    store = open_location(location)
    store.write_layers(_layers(), source="cql2.geojson", licence="CC-BY-4.0", accuracy_m=5.0)
    auth.add_account(store, "unep", "partner", PASSWORD)
    auth.add_account(store, "ana", "analyst", PASSWORD)
    return new_key(location, "unep"), new_key(location, "ana")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("api-cql2")
    location = str(folder / "ws.gpkg")
    partner, analyst = _start(location)
    with serving(location, folder) as url:
        yield url, partner, analyst


def _answer(url: str, key: str, query: str, layer: str = "mining_sites") -> tuple[int, dict]:
    status, _, body = get(f"{url}/collections/{layer}/items?{query}", key)
    assert b"Traceback" not in body and b'File "' not in body
    return status, json.loads(body)


def _ids(url: str, key: str, cql: str, layer: str = "mining_sites", extra: str = "") -> list[str]:
    status, doc = _answer(url, key, f"limit=100&{extra}filter={urllib.parse.quote(cql)}", layer)
    assert status == 200, (cql, doc)
    assert doc["numberMatched"] == len(doc["features"])
    return sorted(str(f["id"]) for f in doc["features"])


# ---------------------------------------------------------------- checks, run on both stores
def check_spatial_functions_give_the_known_sites(url: str, partner: str, analyst: str) -> None:
    every = sorted(SITES)
    assert _ids(url, partner, "TRUE") == every
    assert _ids(url, partner, f"S_WITHIN(geometry, {DISTRICT})") == WITHIN
    assert _ids(url, partner, f"s_intersects(geometry, {DISTRICT})") == sorted([*WITHIN, "CROSS"])  # any case
    assert _ids(url, partner, f"NOT S_INTERSECTS(geometry, {DISTRICT})") == ["NOTCH", "OUT1", "OUT2"]  # the rest
    assert _ids(url, partner, f"NOT (S_INTERSECTS(geometry, {DISTRICT}) OR S_WITHIN(geometry, BBOX(-1.81, 5.24,"
                " -1.79, 5.26)))") == ["NOTCH", "OUT2"]
    assert _ids(url, partner, f"S_CONTAINS({DISTRICT}, geometry)") == WITHIN  # a literal on the left
    assert _ids(url, partner, f"S_DISJOINT(geometry, {DISTRICT})") == ["NOTCH", "OUT1", "OUT2"]
    assert _ids(url, partner, f"S_CROSSES(geometry, {DISTRICT})") == []  # (a polygon and a polygon overlap)
    assert _ids(url, partner, f"S_OVERLAPS(geometry, {DISTRICT})") == ["CROSS"]
    assert _ids(url, partner, "S_INTERSECTS(geometry, POINT(-1.95 5.22))") == ["IN3"]
    assert _ids(url, partner, "S_TOUCHES(geometry, LINESTRING(-1.905 5.20, -1.905 5.25))") == ["CROSS"]
    assert _ids(url, partner, "S_EQUALS(geometry, POINT(-1.8 5.25))") == ["OUT1"]
    assert _ids(url, partner, "S_INTERSECTS(geometry, BBOX(-2.0, 5.2, -1.9, 5.3))") == sorted([*WITHIN, "NOTCH", "CROSS"])
    assert _ids(url, partner, "S_INTERSECTS(geometry, MULTIPOINT((-1.8 5.25), (-2.05 5.1)))") == ["OUT1", "OUT2"]
    assert _ids(url, partner, "S_EQUALS(geometry, geometry)") == every  # property-property


def check_temporal_functions_give_the_known_sites(url: str, partner: str, analyst: str) -> None:
    day = "DATE('2025-01-01')"
    assert _ids(url, partner, f"T_BEFORE(survey_date, {day})") == ["IN1", "NOTCH", "OUT2"]
    assert _ids(url, partner, f"T_AFTER(survey_date, {day})") == ["CROSS", "IN2", "OUT1"]
    assert _ids(url, partner, f"T_EQUALS(survey_date, {day})") == ["IN3"]
    # NOT of a function of a missing date is unknown, as the function is: NODATE is in neither
    assert _ids(url, partner, f"NOT T_AFTER(survey_date, {day})") == ["IN1", "IN3", "NOTCH", "OUT2"]
    assert _ids(url, partner, "T_INTERSECTS(survey_date, INTERVAL('2025-01-01', '..'))") == ["CROSS", "IN2", "IN3", "OUT1"]
    assert _ids(url, partner, "T_DURING(survey_date, INTERVAL('2024-12-31', '2025-02-10'))") == ["CROSS", "IN3"]
    assert _ids(url, partner, "T_AFTER(survey_date, TIMESTAMP('2025-01-01T00:00:00Z'))") == ["CROSS", "IN2", "OUT1"]
    assert _ids(url, partner, f"survey_date >= {day} AND survey_date < DATE('2025-03-01')") == ["CROSS", "IN3", "OUT1"]
    assert _ids(url, partner, "survey_date IS NULL") == ["NODATE"]
    assert _ids(url, partner, f"S_WITHIN(geometry, {DISTRICT}) AND T_AFTER(survey_date, DATE('2024-12-31'))") == [
        "IN2", "IN3"]
    assert _ids(url, partner, f"T_BEFORE(sampled_on, {day})", "samples") == ["W1"]  # the partner's samples only


def check_comparison_operators_and_text_functions(url: str, partner: str, analyst: str) -> None:
    assert _ids(url, partner, "name = 'O''Brien'") == ["IN1", "OUT2"]
    assert _ids(url, partner, "name LIKE 'O''B%' AND NOT (miners > 15 OR name = 'x')") == ["IN1"]
    assert _ids(url, partner, "name LIKE '_lpha'") == ["IN2", "IN3"]
    assert _ids(url, partner, "miners BETWEEN 11 AND 12") == ["IN2", "IN3"]
    assert _ids(url, partner, "miners NOT BETWEEN 11 AND 16") == ["IN1", "OUT2"]
    assert _ids(url, partner, "name IN ('Beta', 'Gamma')") == ["NODATE", "NOTCH"]
    assert _ids(url, partner, "name NOT IN ('Alpha', 'O''Brien', 'Beta', 'Gamma', 'Delta')") == ["OUT1"]
    assert _ids(url, partner, "CASEI(name) = casei('ALPHA')") == ["IN2", "IN3"]
    assert _ids(url, partner, "ACCENTI(CASEI(name)) = ACCENTI(CASEI('ZEREKORE'))") == ["OUT1"]
    assert _ids(url, partner, "ACCENTI(name) = 'Zerekore'") == ["OUT1"]
    assert _ids(url, partner, "12 > miners") == ["IN1", "IN2"]  # a literal on the left: property-property class
    assert _ids(url, partner, "miners + 1 = 12") == ["IN2"]
    # a long chain is read as a balanced tree (pygeoapi logs a tree's repr by recursion: 1,500 ANDs were a 500)
    assert _ids(url, partner, " AND ".join(["miners > 10"] * 1500)) == sorted(set(SITES) - {"IN1"})
    # ECQL (filter-lang=cql-text) reads as before
    assert _ids(url, partner, "miners < 12 AND BBOX(geometry, -2.0, 5.2, -1.9, 5.3)", extra="filter-lang=cql-text&") == [
        "IN1", "IN2"]


def check_bad_filters_get_400_naming_the_parameter_value_and_what_was_expected(
        url: str, partner: str, analyst: str) -> None:
    for cql, said in [("S_WITHIN(geometry, POLYGON((0 0, 1 0)))", "not a WKT geometry"),
                      ("T_AFTER(survey_date, DATE('2025-02-30'))", "not a date; expected a day YYYY-MM-DD"),
                      ("T_AFTER(survey_date, TIMESTAMP('yesterday'))", "not a date; expected a UTC time"),
                      ("S_DWITHIN(geometry, POINT(0 0), 10, meters)", "unknown function 'S_DWITHIN'"),
                      ("miners >", "expected a property name or a literal"),
                      ("NOT (miners > 1", "expected ')'"),
                      ("(" * 70 + "miners > 1" + ")" * 70, "parentheses nested more than 64 deep"),
                      ("NOT " * 70 + "miners > 1", "conditions nested more than 64 deep")]:
        status, doc = _answer(url, partner, "filter=" + urllib.parse.quote(cql))
        assert status == 400 and doc["code"] == "InvalidParameterValue", (cql, doc)
        shown = cql if len(cql) <= 200 else cql[:200] + "..."
        assert doc["description"].startswith(f"filter={shown!r} (filter-lang=cql2-text) cannot be read: "), doc
        assert said in doc["description"] and "A filter is CQL2 text, e.g." in doc["description"], doc
    for cql, said in [("miners = 'many'", "property 'miners' (number) compared with 'many' (text)"),
                      ("T_AFTER(name, DATE('2025-01-01'))", "property 'name' in a temporal function"),
                      ("S_WITHIN(miners, BBOX(0, 0, 1, 1))", "property 'miners' in a spatial function")]:
        status, doc = _answer(url, partner, "filter=" + urllib.parse.quote(cql))
        assert status == 400 and doc["description"].startswith("filter: ") and said in doc["description"], (cql, doc)
    crs = "http://www.opengis.net/def/crs/EPSG/0/4326"
    status, doc = _answer(url, partner, f"filter-crs={urllib.parse.quote(crs)}&filter=" + urllib.parse.quote(
        "S_INTERSECTS(geometry, POINT(5.22 -1.95))"))
    assert status == 400 and doc["description"].startswith(f"filter-crs={crs!r}: the coordinates in filter= are read"
                                                            " as CRS84"), doc
    crs84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert _ids(url, partner, "S_INTERSECTS(geometry, POINT(-1.95 5.22))",
                extra=f"filter-crs={urllib.parse.quote(crs84)}&") == ["IN3"]


def check_a_partner_learns_nothing_of_a_restricted_field_or_a_personal_row(url: str, partner: str, analyst: str) -> None:
    """A filter naming a restricted field is the 400 of a made-up name; a spatial or temporal filter on the
    hair samples' places and days answers a partner what it answers for a place where nothing is."""
    for name in ("informant_name", "participant_id"):
        layer = "mining_sites" if name == "informant_name" else "samples"
        for cql in (f"{name} IS NULL", f"{name} LIKE '{SECRET}%'", f"S_WITHIN(geometry, {DISTRICT}) AND {name} IS NOT NULL",
                    f"NOT ({name} = 'x')"):
            answers = [get(f"{url}/collections/{layer}/items?filter=" + urllib.parse.quote(cql.replace(name, n)),
                           partner) for n in (name, "made_up")]
            assert [a[0] for a in answers] == [400, 400], (cql, answers[0][2][:300])
            assert answers[0][2].replace(name.encode(), b"N") == answers[1][2].replace(b"made_up", b"N"), cql
            assert f"unknown property '{name}'".encode() in answers[0][2] and SECRET.encode() not in answers[0][2]
        assert _ids(url, analyst, f"{name} LIKE '{SECRET}%'", layer)  # not vacuous: the analyst filters on it
    # the analyst sees the hair samples where they are; the partner gets what an empty place gets
    assert _ids(url, analyst, f"S_WITHIN(geometry, {DISTRICT})", "samples") == ["H1", "W1"]
    assert _ids(url, partner, f"S_WITHIN(geometry, {DISTRICT})", "samples") == ["W1"]
    assert _ids(url, partner, f"NOT S_WITHIN(geometry, {DISTRICT})", "samples") == ["W2"]
    probes: list[Callable[[tuple[float, float]], str]] = [
        lambda p: f"S_INTERSECTS(geometry, POINT({p[0]} {p[1]}))",
        lambda p: f"S_WITHIN(geometry, BBOX({p[0] - 1e-4}, {p[1] - 1e-4}, {p[0] + 1e-4}, {p[1] + 1e-4}))",
        lambda p: f"NOT S_DISJOINT(geometry, POLYGON(({p[0] - 1e-4} {p[1] - 1e-4}, {p[0] + 1e-4} {p[1] - 1e-4},"
                  f" {p[0]} {p[1] + 1e-4}, {p[0] - 1e-4} {p[1] - 1e-4})))",
        lambda p: f"S_INTERSECTS(geometry, POINT({p[0]} {p[1]})) AND T_EQUALS(sampled_on, DATE('2025-02-01'))",
        lambda p: f"S_INTERSECTS(geometry, POINT({p[0]} {p[1]})) AND (hg > 100 OR medium = 'hair')",
    ]
    for probe in probes:
        assert _ids(url, analyst, probe(HAIR_AT), "samples") == ["H1"]  # the place is a real one
        at_hair = get(f"{url}/collections/samples/items?filter=" + urllib.parse.quote(probe(HAIR_AT)), partner)
        nowhere = get(f"{url}/collections/samples/items?filter=" + urllib.parse.quote(probe(NOWHERE)), partner)
        assert at_hair[0] == nowhere[0] == 200
        got, empty = json.loads(at_hair[2]), json.loads(nowhere[2])
        assert got["features"] == empty["features"] == [] and got["numberMatched"] == empty["numberMatched"] == 0
        assert {k: v for k, v in got.items() if k not in ("links", "timeStamp")} == {
            k: v for k, v in empty.items() if k not in ("links", "timeStamp")}
        assert SECRET.encode() not in at_hair[2]
    assert _ids(url, partner, "T_INTERSECTS(sampled_on, INTERVAL('..', '..'))", "samples") == ["W1", "W2"]


def check_the_next_links_of_a_filtered_page_read_the_same_filter(url: str, partner: str, analyst: str) -> None:
    """pygeoapi's next link repeats the query it was given: the gate gave it ``filter-lang=cql-text`` for
    ``cql2-text`` and a placeholder for a literal holding a quote, so page 2 read another filter."""
    for cql, want in [("name IN ('O''Brien', 'Alpha')", ["IN1", "IN2", "IN3", "OUT2"]),
                      (f"name IN ('O''Brien', 'Alpha') AND S_INTERSECTS(geometry, {DISTRICT})", ["IN1", "IN2", "IN3"])]:
        for lang in ("filter-lang=cql2-text&", "", "filter-lang=cql-text&"):
            if "S_" in cql and lang.endswith("cql-text&"):
                continue  # (ECQL has no S_ functions)
            page: str | None = f"{url}/collections/mining_sites/items?{lang}limit=1&filter={urllib.parse.quote(cql)}"
            seen: list[str] = []
            while page:
                status, _, body = get(page, partner)
                assert status == 200, body[:300]
                doc = json.loads(body)
                assert doc["numberMatched"] == len(want), (page, doc["numberMatched"])
                seen += [str(f["id"]) for f in doc["features"]]
                page = next((link["href"] for link in doc["links"] if link["rel"] == "next"), None)
            assert sorted(seen) == want, (cql, lang)


def check_a_trailing_slash_is_the_path_without_it(url: str, partner: str, analyst: str) -> None:
    for path in ("/collections/mining_sites/items", "/collections/mining_sites", "/collections"):
        plain, slashed = get(url + path, partner), get(url + path + "/", partner)
        assert plain[0] == slashed[0] == 200, (path, slashed[2][:200])
        drop = ("timeStamp", "links")
        assert {k: v for k, v in json.loads(plain[2]).items() if k not in drop} == {
            k: v for k, v in json.loads(slashed[2]).items() if k not in drop}, path
    status, doc = _answer(url, partner, "limit=2&filter=" + urllib.parse.quote("miners > 10"))
    status_slash, _, body = get(f"{url}/collections/mining_sites/items/?limit=2&filter=" + urllib.parse.quote("miners > 10"),
                                partner)
    assert status == status_slash == 200 and json.loads(body)["features"] == doc["features"]


CHECKS = [check_spatial_functions_give_the_known_sites, check_temporal_functions_give_the_known_sites,
          check_comparison_operators_and_text_functions,
          check_bad_filters_get_400_naming_the_parameter_value_and_what_was_expected,
          check_a_partner_learns_nothing_of_a_restricted_field_or_a_personal_row,
          check_the_next_links_of_a_filtered_page_read_the_same_filter, check_a_trailing_slash_is_the_path_without_it]


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__[len("check_"):] for c in CHECKS])
def test_on_a_geopackage_store(served: Served, check: Callable[[str, str, str], None]) -> None:
    check(*served)


def test_on_postgis(pg_url: str, tmp_path: Path) -> None:
    partner, analyst = _start(pg_url)
    with serving(pg_url, tmp_path) as url:
        for check in CHECKS:
            check(url, partner, analyst)


def test_conformance_claims_the_cql2_classes_met(served: Served) -> None:
    url, partner, _ = served
    status, _, body = get(f"{url}/conformance", partner)
    claimed = set(json.loads(body)["conformsTo"])
    base = "http://www.opengis.net/spec/cql2/1.0/conf/"
    for name in ("cql2-text", "basic-cql2", "advanced-comparison-operators", "case-insensitive-comparison",
                 "accent-insensitive-comparison", "basic-spatial-functions", "basic-spatial-functions-plus",
                 "spatial-functions", "temporal-functions", "property-property"):
        assert base + name in claimed, name
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter" in claimed
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter" in claimed
    for name in ("cql2-json", "arithmetic", "array-functions", "functions"):  # not met: not claimed
        assert base + name not in claimed, name


def test_the_reader_builds_the_standards_syntax_into_known_trees() -> None:
    """``api.cql2_read.parse`` on what pygeofilter 0.4's own CQL2 text parser does not read."""
    assert repr(cql2_read.parse("T_BEFORE(survey_date, DATE('2025-01-01'))")) == (
        "Temporal(name='T_BEFORE', lhs=ATTRIBUTE survey_date, rhs=datetime.date(2025, 1, 1))")
    assert repr(cql2_read.parse("name = 'N''Zérékoré'")) == "Equal(lhs=ATTRIBUTE name, rhs=\"N'Zérékoré\")"
    tree = cql2_read.parse("NOT (miners > 1 AND NOT name IS NULL)")
    assert repr(tree.sub_node.lhs) == "GreaterThan(lhs=ATTRIBUTE miners, rhs=1)"
    assert repr(cql2_read.parse("S_WITHIN(geometry, BBOX(-2, 5.2, -1.9, 5.3))").rhs) == (
        "Envelope(x1=-2.0, x2=-1.9, y1=5.2, y2=5.3)")
    assert repr(cql2_read.parse("((((miners + 1)))) * 2 > 5").lhs) == "Mul(lhs=Add(lhs=ATTRIBUTE miners, rhs=1), rhs=2)"
    assert repr(cql2_read.parse("T_INTERSECTS(d, INTERVAL('..', '2025-01-01T10:00:00Z'))").rhs) == (
        "Interval(start=None, end=datetime.datetime(2025, 1, 1, 10, 0, tzinfo=datetime.timezone.utc))")
    with pytest.raises(cql2_text.CqlError, match="a string opened at character 8 is not closed"):
        cql2_read.parse("name = 'x OR 1=1")


def test_the_mask_is_three_valued_and_reads_nullable_columns() -> None:
    """``api.cql2_mask.mask`` on a frame as the store gives it (nullable integers, missing text and dates):
    a comparison with a missing value is unknown, and NOT of unknown is unknown too."""
    frame = gpd.GeoDataFrame({"miners": pd.array([5, None, 20], dtype="Int64"), "name": ["a", None, "c"],
                              "day": pd.to_datetime(["2024-01-01", None, "2025-06-01"]),
                              "uses_mercury": [True, None, False]},  # (booleans with a null: an object column)
                             geometry=[shapely.Point(0, 0), None, shapely.Point(2, 2)], crs=4326)

    def passing(cql: str) -> list[int]:
        got = cql2_mask.mask(frame, cql2_read.parse(cql), geometry=lambda: frame.geometry.to_numpy())
        return [int(i) for i in np.flatnonzero(got)]
    assert passing("miners > 10") == [2] and passing("NOT (miners > 10)") == [0]
    assert passing("miners > 10 OR name = 'a'") == [0, 2] and passing("NOT (miners > 10 OR name = 'a')") == []
    assert passing("miners IS NULL") == [1] and passing("NOT name IN ('a')") == [2]
    assert passing("NOT S_INTERSECTS(geometry, POINT(0 0))") == [2] and passing("geometry IS NULL") == [1]
    assert passing("NOT T_BEFORE(day, DATE('2025-01-01'))") == [2]
    assert passing("miners = 5 OR TRUE") == [0, 1, 2] and passing("FALSE") == []
    assert passing("uses_mercury = TRUE") == [0] and passing("NOT (uses_mercury = TRUE)") == [2]
    with pytest.raises(cql2_mask.FilterError, match="unknown property 'nope'; expected one of"):
        passing("nope = 1")
    with pytest.raises(cql2_mask.FilterError, match="1 / 0 divides by zero; expected a divisor other than 0"):
        passing("miners = 1 / 0")  # (a ZeroDivisionError before: a generic 400 and a traceback in the log)
    assert passing("miners / 0 > 1") == [0, 2]  # a column divided by 0: inf, as numpy does
