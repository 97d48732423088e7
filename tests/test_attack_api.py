"""The partner API attacked as a partner and as a field coordinator would, on a GeoPackage and on
PostGIS (the real server, ``python -m api``, on a loopback port).

The store holds ``SECRET-...`` values in every restricted field, in undeclared columns never
marked shareable, and a wholly restricted layer (``mercury_trade``, whose every value is planted).
Each request names a restricted field or layer where a client may put one: the collection path
(as it is, in capitals, percent-encoded, with a NUL or a ``..``), ``sortby``, ``properties``, an
equality parameter, CQL2 text and JSON, ``resulttype=hits``, a single item; with GET and HEAD.
Every byte received (status line aside: bodies and every header, ``Link`` included) is searched.
An analyst's key sending the same requests gets the values (the search is not blind); a field
coordinator's gets those of its own area only. Orders and counts are attacked too: a partner's
``sortby`` on a restricted field answers as one on a made-up name, and a field coordinator's
orders the rows outside its area as if the field were empty there, and counts only its own.
Keys re-checked mid-paging: a demoted analyst's next page is a partner's, a disabled account's
next page is a 401 with nothing of the data.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from layers.catalogue import spec_for
from services import auth
from tests.api_kit import PASSWORD, SECRET, fill, get, make_keys, new_key, open_location, serving
from tests.test_postgis_partner import layer_frame

TRADE_NAMES = (b"mercury_trade", b"Mercury trade", b"ercury%5Ftrade")
COLLECTIONS = ("mining_sites", "MINING_SITES", "mercury_trade", "Mercury_Trade", "mercury%5Ftrade", "mercury_trade%00",
               "..%2Fmercury_trade", "violations", "samples", "tailings", "water_bodies", "surfaces", "case_counts")
SUFFIXES = ("", "/items?limit=1000", "/queryables", "/schema", "/items?f=jsonld", "/items/T1", "/items/mercury_trade-2",
            "/items?resulttype=hits", "/items?skipGeometry=true", "/items?informant_name=x",
            *(f"/items?sortby={s}" for s in ("informant_name", "-informant_name", "%69nformant_name", "Informant_Name",
                                             "local_code", "owner_name", "record_type")),
            "/items?properties=informant_name,name", "/items?properties=local_code",
            "/items?lang=informant_name", "/items?lang=fr&informant_name=x", "/queryables?profile=actual-domain",
            "/queryables?profile=informant_name&properties=informant_name",
            "/items?filter=" + urllib.parse.quote("informant_name IS NOT NULL"),
            "/items?filter=" + urllib.parse.quote("informant_name LIKE 'SECRET%'"),
            "/items?filter-lang=cql2-json&filter=" + urllib.parse.quote(json.dumps(
                {"op": "like", "args": [{"property": "local_code"}, "SECRET%"]})))
TOP = ("/", "/openapi", "/openapi?f=json", "/collections", "/collections?f=jsonld", "/conformance",
       "/collections/mercury_trade/tiles", "/TileMatrixSets", "/processes", "/jobs", "/stac")


@pytest.fixture
def served(location: str, tmp_path: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """The API on a store of either back end with the planted layers and mercury trade: (url,
    location, keys by role: partner, analyst, field (account ``kofi``, area B))."""
    store = fill(open_location(location))
    store.write_layers([("mercury_trade", layer_frame("mercury_trade"))], source="trade.geojson")
    auth.add_account(store, "kofi", "field", PASSWORD, ["B"])
    keys = make_keys(location)
    with serving(location, tmp_path) as url:
        yield url, location, {"partner": keys.partner, "analyst": keys.analyst, "field": new_key(location, "kofi")}


def _head(url: str, key: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method="HEAD", headers={"X-API-Key": key})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _received(url: str, key: str) -> dict[str, bytes]:
    """Every request above, GET and HEAD: what came back (every header, then the body), by request."""
    got = {}
    for path in (*TOP, *(f"/collections/{c}{s}" for c in COLLECTIONS for s in SUFFIXES)):
        for method, call in (("GET", get), ("HEAD", _head)):
            status, headers, body = call(url + path, key)
            assert status < 500, (method, path, status, body[:300])
            got[f"{method} {path}"] = json.dumps(headers).encode() + b"\n" + body
    return got


def _secrets(received: dict[str, bytes]) -> set[str]:
    found: set[str] = set()
    for blob in received.values():
        text = blob.decode("utf-8", "replace")
        start = text.find(SECRET + "-")
        while start >= 0:
            end = min((i for i in (text.find(c, start) for c in '"\\,<') if i >= 0), default=len(text))
            found.add(text[start:end])
            start = text.find(SECRET + "-", end)
    return found


def test_no_parameter_or_path_naming_restricted_data_gets_a_partner_any_and_an_analyst_gets_them(
        served: tuple[str, str, dict[str, str]]) -> None:
    url, _, keys = served
    partner = _received(url, keys["partner"])
    assert any(b"Alpha" in b for b in partner.values())  # the partner's own data is there
    assert _secrets(partner) == set()
    for request, blob in partner.items():
        for name in TRADE_NAMES:
            assert name not in blob.split(b"\n", 1)[1] or name in request.encode(), (request, name)
        assert b"record_type" not in blob and b"SECRET-mercury_trade" not in blob, request
    analyst = _secrets(_received(url, keys["analyst"]))  # the control: the same requests, an analyst's key
    assert {"SECRET-sites-informant_name-0", "SECRET-sites-local_code-2", "SECRET-tailings-owner_name-0",
            "SECRET-samples-collector_name-1", "SECRET-water-local"} <= analyst
    field = _secrets(_received(url, keys["field"]))
    assert field and {s.rsplit("-", 1)[1] for s in field} == {"1"}  # site S2 (area B), its own; none elsewhere
    assert {s.split("-")[1] for s in field} == {"sites"}


def _order(url: str, key: str, query: str) -> list[str]:
    status, _, body = get(f"{url}/collections/mining_sites/items?{query}", key)
    assert status == 200, body[:300]
    return [f["id"] for f in json.loads(body)["features"]]


def _matched(url: str, key: str, cql: str) -> int:
    status, _, body = get(f"{url}/collections/mining_sites/items?filter={urllib.parse.quote(cql)}", key)
    assert status == 200, body[:300]
    return int(json.loads(body)["numberMatched"])


def test_orders_and_counts_on_a_restricted_field_tell_nothing_outside_what_the_key_may_see(
        served: tuple[str, str, dict[str, str]]) -> None:
    url, _, keys = served
    # the control: an analyst's sortby and filters use the values (S1 < S2 < S3 by informant name)
    assert _order(url, keys["analyst"], "sortby=informant_name") == ["S1", "S2", "S3/odd id"]
    assert _order(url, keys["analyst"], "sortby=-informant_name") == ["S3/odd id", "S2", "S1"]
    assert _matched(url, keys["analyst"], "informant_name IS NOT NULL") == 3
    assert _matched(url, keys["analyst"], "informant_name LIKE 'SECRET-sites-informant_name-2%'") == 1
    # a field coordinator of area B: S1 and S3 (area A) keep their stored order whichever way it sorts
    for query in ("sortby=informant_name", "sortby=-informant_name"):
        assert _order(url, keys["field"], query) == ["S2", "S1", "S3/odd id"], query
    assert _matched(url, keys["field"], "informant_name IS NOT NULL") == 1
    assert _matched(url, keys["field"], "informant_name LIKE 'SECRET-sites-informant_name-2%'") == 0
    # a partner: exactly what the same request on a made-up name gets
    for name in ("informant_name", "local_code", "owner_name"):
        for query in (f"sortby={name}", f"sortby=-{name}", f"properties={name}", "resulttype=hits&filter="
                      + urllib.parse.quote(f"{name} IS NOT NULL")):
            real = get(f"{url}/collections/mining_sites/items?{query}", keys["partner"])
            made_up = get(f"{url}/collections/mining_sites/items?{query.replace(name, 'made_up')}", keys["partner"])
            assert real[0] == made_up[0] == 400, (query, real[0], made_up[0])
            assert real[2] == made_up[2].replace(b"made_up", name.encode()), query


def _eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60  # the server checks a key again at most once a second
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_a_key_demoted_then_disabled_mid_paging_gets_a_partner_page_then_nothing(
        served: tuple[str, str, dict[str, str]]) -> None:
    url, location, _ = served
    store = open_location(location)
    auth.add_account(store, "mid", "analyst", PASSWORD)
    key = new_key(location, "mid")
    status, _, body = get(f"{url}/collections/mining_sites/items?limit=1", key)
    assert status == 200 and SECRET.encode() in body  # the control: an analyst's first page
    page = next(link["href"] for link in json.loads(body)["links"] if link["rel"] == "next")
    auth.set_role(store, "mid", "partner")
    _eventually(lambda: json.loads(get(page, key)[2])["hgwatch"]["profile"] == "partner", "the demotion holds")
    status, headers, body = get(page, key)
    assert status == 200 and SECRET.encode() not in body and b"informant" not in body
    page = next(link["href"] for link in json.loads(body)["links"] if link["rel"] == "next")
    auth.disable(store, "mid")
    _eventually(lambda: get(page, key)[0] == 401, "the disabled account is refused")
    status, headers, body = get(page, key)
    assert set(json.loads(body)) == {"code", "description"} and b"Alpha" not in body and b"Beta" not in body
    assert "link" not in {h.lower() for h in headers}


def test_the_planted_trade_layer_is_really_stored_for_an_analyst(served: tuple[str, str, dict[str, str]]) -> None:
    """The control for the trade layer, which the API serves to no one: the store the server reads
    holds it, with its planted values, for an analyst."""
    _, location, _ = served
    trade = auth.read_layer(open_location(location), "mercury_trade", auth.Identity("ana", "analyst"))
    assert len(trade) == 3 and all(f"{SECRET}-mercury_trade" in str(v) for v in trade[spec_for("mercury_trade")
                                                                                      .restricted_fields[0]])
