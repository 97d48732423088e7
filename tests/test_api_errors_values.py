"""The partner API's answer to a query parameter given a value it cannot take, to an unknown feature id and
to a path the gate itself could not read, on a GeoPackage and on PostGIS (the real server, ``python -m api``).

Found by walking the API as a partner (2026-11-28): pygeoapi answered ``limit=abc`` with "limit value should
be an integer", ``datetime=garbage`` with "Unknown string format: garbage", ``bbox=1,2,3`` without the value,
``items/nope`` with "identifier not found" (naming neither the collection nor what an id is), and 200 to
``skipGeometry=maybe``, ``resulttype=foo``, a latitude of 91, ``bbox=nan,...`` and an interval ending before
it starts, as if each were right. A path ending in ``/`` with a character beyond Latin-1
(``/collections/%E2%82%AC/``) made the gate itself fail: uvicorn's plain-text "Internal Server Error".
Now each is a 400 JSON body naming the parameter, the value given and what is expected, or a 404 naming the
collection and what its ids are (the id itself is not repeated: a personal row's id gets a made-up one's answer).

Attacked as a partner: the unknown-id answer to a personal row's id (a hair sample, which a partner is never
served) is the answer to a made-up id, while an analyst gets the row (the control); a value refused on a
field the partner may not see is refused by its name first, and never repeated.
"""
from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api_kit import fill, get, make_keys, open_location, serving
from tests.test_attack_personal_rows import _samples

ITEMS = "/collections/mining_sites/items"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
# (query on mining_sites' items, words the answer must hold: the parameter and value as given, what is expected)
REFUSED = (
    ("limit=abc", ("limit='abc'", "whole number")),
    ("limit=-1", ("limit='-1'", "1 or more")),
    ("limit=0", ("limit='0'", "1 or more")),
    ("limit=1.5", ("limit='1.5'", "whole number")),
    ("limit=" + "1" * 5000, ("limit='11111", "of at most 18 digits")),  # (int() refuses 4,301 digits: a 500)
    ("offset=" + "9" * 19, ("offset='99999", "of at most 18 digits")),
    ("offset=x", ("offset='x'", "0 or more")),
    ("offset=-3", ("offset='-3'", "0 or more")),
    ("bbox=1,2,3", ("bbox='1,2,3'", "3 value(s)", "W,S,E,N")),
    ("bbox=0,0,1,91", ("bbox='0,0,1,91'", "latitude beyond -90 to 90")),
    ("bbox=-200,0,1,1", ("bbox='-200,0,1,1'", "longitude beyond -180 to 180")),
    ("bbox=nan,0,1,1", ("bbox='nan,0,1,1'", "not a finite number")),
    ("bbox=a,b,c,d", ("bbox='a,b,c,d'", "not a number")),
    ("bbox=0,2,1,1", ("bbox='0,2,1,1'", "S above N")),
    ("bbox-crs=foo", ("bbox-crs='foo'", "without bbox", CRS84)),
    ("bbox=-2,5,-1,6&bbox-crs=EPSG:4326", ("bbox-crs='EPSG:4326'", CRS84)),
    ("crs=foo", ("crs='foo'", CRS84)),
    ("datetime=garbage", ("datetime='garbage'", "survey_date", "not a date", "RFC 3339")),
    ("datetime=2024-13-45", ("datetime='2024-13-45'", "not a date")),
    ("datetime=2024-01-01/garbage", ("datetime='2024-01-01/garbage'", "its end 'garbage' is not a date")),
    ("datetime=2025-01-01/2024-01-01", ("datetime='2025-01-01/2024-01-01'", "its start is after its end")),
    ("skipGeometry=maybe", ("skipGeometry='maybe'", "true or false")),
    ("resulttype=foo", ("resulttype='foo'", "results", "hits")),
    ("miners=abc", ("miners='abc'", "a number", "integer property of mining_sites")),
    ("uses_mercury=maybe", ("uses_mercury='maybe'", "true or false", "boolean property")),
    ("survey_date=2024-3-1", ("survey_date='2024-3-1'", "YYYY-MM-DD")),
    ("survey_date=2024-02-30", ("survey_date='2024-02-30'", "YYYY-MM-DD")),
)
ACCEPTED = ("limit=1&offset=0", "bbox=-2,5,-1,6&bbox-crs=" + urllib.parse.quote(CRS84), "bbox=170,-10,-170,10",
            "datetime=2024-03-01", "datetime=2024-03-01T00:00:00Z/..", "datetime=../2024-12-31", "datetime=2024-01-01/",
            "skipGeometry=TRUE", "resulttype=hits", "miners=12", "uses_mercury=false", "limit=20000",
            "limit=" + "9" * 18, "offset=" + "9" * 18, "survey_date=2024-03-01",
            "datetime=0000-01-01T00:00:00Z/2024-12-31T00:00:00Z")  # (QGIS 3.22's open start)


@pytest.fixture
def served(location: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    """The API on a store of either back end with the planted layers and two hair samples: (url, keys by
    role, the server's log folder)."""
    store = fill(open_location(location))
    store.write_layers([("samples", _samples())], source="samples.geojson")
    keys = make_keys(location)
    with serving(location, tmp_path) as url:
        yield url, {"partner": keys.partner, "analyst": keys.analyst}, tmp_path


def _json(status: int, headers: dict[str, str], body: bytes) -> dict[str, str]:
    kind = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    assert "json" in kind, (status, kind, body[:200])
    said = json.loads(body)
    assert b"Traceback" not in body and b"/tmp" not in body and b".gpkg" not in body and b"postgresql" not in body
    return said


def test_each_bad_value_gets_a_400_naming_the_parameter_the_value_and_what_is_expected(
        served: tuple[str, dict[str, str], Path]) -> None:
    url, keys, _ = served
    for query, words in REFUSED:
        status, headers, body = get(f"{url}{ITEMS}?{query}", keys["partner"])
        said = _json(status, headers, body)
        assert status == 400 and said["code"] == "InvalidParameterValue", (query, status, body[:300])
        for word in words:
            assert word in said["description"], (query, word, said["description"])
    for query in ACCEPTED:  # what is right is still answered
        status, _, body = get(f"{url}{ITEMS}?{query}", keys["partner"])
        assert status == 200, (query, body[:300])
    status, _, body = get(f"{url}{ITEMS}?bbox=170,-10,-170,10", keys["partner"])
    assert json.loads(body)["numberMatched"] == 0  # across the antimeridian: nothing near Tarkwa
    status, _, body = get(f"{url}{ITEMS}?datetime=2024-01-01/&sortby=survey_date", keys["partner"])
    assert [f["id"] for f in json.loads(body)["features"]] == ["S1", "S2"]
    status, headers, body = get(f"{url}{ITEMS}/S1?crs=foo", keys["partner"])
    assert status == 400 and "crs='foo'" in _json(status, headers, body)["description"]


def test_an_unknown_feature_id_and_a_path_the_gate_could_not_read_get_a_json_404(
        served: tuple[str, dict[str, str], Path]) -> None:
    url, keys, folder = served
    status, headers, body = get(f"{url}{ITEMS}/nope", keys["partner"])
    said = _json(status, headers, body)
    assert status == 404 and "no feature of mining_sites" in said["description"] and "nope" not in said["description"]
    status, headers, body = get(f"{url}/collections/violations/items/nope", keys["partner"])
    assert status == 404 and "SHA-256 of its violation_id" in _json(status, headers, body)["description"]
    for path in ("/collections/%E2%82%AC/", f"{ITEMS}/%E2%82%AC/", "/collections/%E2%82%AC/items/"):
        status, headers, body = get(url + path, keys["partner"])  # the gate failed: text/plain 500
        assert status == 404 and _json(status, headers, body)["code"] == "NotFound", (path, status, body)
    status, _, body = get(f"{url}{ITEMS}/S1/", keys["partner"])  # a trailing '/' is still trimmed
    assert status == 200 and json.loads(body)["id"] == "S1"
    status, _, body = get(f"{url}{ITEMS}?filter=" + urllib.parse.quote("nosuch > 1"), keys["partner"])
    assert status == 400 and b"'nosuch'" in body
    (log,) = folder.glob("api-*.log")  # a client's error is no traceback in the operator's log (pygeoapi logged one)
    assert "Traceback" not in log.read_text() and "listening on" in log.read_text()


def test_a_partner_asking_for_a_personal_row_by_id_learns_what_a_made_up_id_tells(
        served: tuple[str, dict[str, str], Path]) -> None:
    url, keys, _ = served
    status, _, body = get(f"{url}/collections/samples/items/HAIRPERSON-1", keys["analyst"])
    assert status == 200 and b"LABAREAONE" in body  # the control: the row is there
    answers = {}
    for made in ("HAIRPERSON-1", "HAIRPERSON-9"):  # a hair sample's id, a made-up one
        status, headers, body = get(f"{url}/collections/samples/items/{made}", keys["partner"])
        assert status == 404, body[:300]
        answers[made] = _json(status, headers, body)["description"]
        assert b"HAIRPERSON" not in body and b"LABAREA" not in body and b"hair" not in body.lower(), body
    assert answers["HAIRPERSON-1"] == answers["HAIRPERSON-9"]
    for query in ("informant_name=abc", "informant_name=SECRET-sites-informant_name-0", "miners=abc&informant_name=1"):
        status, headers, body = get(f"{url}{ITEMS}?{query}", keys["partner"])  # refused by name (as a made-up one)
        said = _json(status, headers, body)["description"]
        assert status == 400 and "unknown parameter 'informant_name'" in said and "SECRET" not in said, query
        assert "miners=" not in said  # the values are not looked at while a name is refused
