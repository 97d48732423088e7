"""The partner API (issue 14) on a real server (``python -m api`` on a loopback port) read by real
clients nobody here wrote: OWSLib's OGC API - Features client and GDAL's OAPIF driver.

Every partner collection reads back with the counts and fields of ``cli.py export --profile
partner``; no planted restricted value (or its column name) is in any byte a partner key gets, on
any path, while an analyst's key sees them; every request shape without a valid key (none, wrong,
revoked, of a disabled account; either header) is a 401 with a JSON body and nothing else; unknown
collections and features are 404 and bad parameters 400, as JSON; the filters give the known
answers; each request is one audit row. The main read runs on both back ends."""
from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
from owslib.ogcapi.features import Features

from services import audit, auth, cases
from services.features import violation_feature_id
from tests.api_kit import (
    CLASSING,
    PARTNER_LAYERS,
    PASSWORD,
    SECRET,
    Keys,
    fill,
    gdal_read,
    get,
    make_keys,
    new_key,
    open_location,
    run_cli,
    serving,
)

RESTRICTED_NAMES = ("informant_name", "informant_contact", "inspector_name", "collector_name", "participant_id",
                    "local_code", "Enumerator Phone", "owner_name")
COLLECTIONS = (*PARTNER_LAYERS, "violations")
ID_FIELDS = {"mining_sites": "site_id", "water_bodies": "water_id", "tailings": "tailings_id", "samples": "sample_id",
             "violations": "violation_id"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Keys, Path]]:
    """A GeoPackage store with the planted layers, its keys and the server: (url, location, keys, folder)."""
    folder = tmp_path_factory.mktemp("api")
    location = str(folder / "ws.gpkg")
    fill(open_location(location))
    keys = make_keys(location)
    with serving(location, folder) as url:
        yield url, location, keys, folder


def _json(url: str, key: str) -> dict:
    status, headers, body = get(url, key)
    assert status == 200, (url, status, body[:300])
    return json.loads(body)


def _export(location: str, layer: str, folder: Path) -> gpd.GeoDataFrame:
    out = folder / f"export-{layer}.geojson"
    if layer == "violations":
        code, _, err = run_cli(location, "check", "--no-record", "--out", str(out))
    else:
        code, _, err = run_cli(location, "export", layer, "--out", str(out), "--profile", "partner")
    assert code == 0, err
    return gpd.read_file(out)


def _fields(layer: str, frame: gpd.GeoDataFrame) -> set[str]:
    return {str(c) for c in frame.columns if c != "geometry"}


def _reads_like_the_export(url: str, location: str, key: str, folder: Path) -> None:
    """OWSLib lists exactly the partner collections and reads each one with the export's count,
    ids and fields; GDAL reads mining sites page by page (next links) to the same."""
    api = Features(url, headers={"X-API-Key": key})
    assert sorted(c["id"] for c in api.collections()["collections"]) == sorted([*COLLECTIONS, "case_counts", "surfaces"])
    for layer in COLLECTIONS:
        exported = _export(location, layer, folder)
        items = api.collection_items(layer, limit=1000)
        assert items["numberMatched"] == items["numberReturned"] == len(exported) > 0, layer
        got = {k for f in items["features"] for k in f["properties"]}
        want = _fields(layer, exported)
        assert got == (want | CLASSING if layer == "samples" else want), layer
        ids = ID_FIELDS[layer]
        assert sorted(f["properties"][ids] for f in items["features"]) == sorted(exported[ids]), layer
    gdal = gdal_read(url, "mining_sites", key, "site_id", folder, page_size=1)
    exported = _export(location, "mining_sites", folder)
    assert gdal["rows"] == len(exported)
    assert sorted(gdal["ids"]) == sorted(exported["site_id"])
    assert _fields("mining_sites", exported) <= set(gdal["columns"])  # type: ignore[arg-type]


# ---------------------------------------------------------------- real clients
def test_owslib_and_gdal_read_every_partner_collection_as_the_partner_export(served: tuple[str, str, Keys, Path]) -> None:
    url, location, keys, folder = served
    _reads_like_the_export(url, location, keys.partner, folder)


def test_gdal_reads_every_partner_collection_following_next_links(served: tuple[str, str, Keys, Path]) -> None:
    url, location, keys, folder = served
    for layer in COLLECTIONS:
        exported = _export(location, layer, folder)
        read = gdal_read(url, layer, keys.partner, ID_FIELDS[layer], folder, page_size=1)
        assert read["rows"] == len(exported), layer
        assert sorted(read["ids"]) == sorted(str(v) for v in exported[ID_FIELDS[layer]]), layer  # type: ignore[arg-type]


def test_the_main_read_works_on_postgis(pg_url: str, tmp_path: Path) -> None:
    fill(open_location(pg_url))
    keys = make_keys(pg_url)
    with serving(pg_url, tmp_path) as url:
        _reads_like_the_export(url, pg_url, keys.partner, tmp_path)
        for layer in COLLECTIONS:
            assert SECRET.encode() not in get(f"{url}/collections/{layer}/items?limit=1000", keys.partner)[2]
        assert SECRET.encode() in get(f"{url}/collections/mining_sites/items", keys.analyst)[2]
        assert get(f"{url}/collections", keys.revoked)[0] == 401
        assert get(f"{url}/collections", keys.disabled)[0] == 401
        store = open_location(pg_url)
        deadline = time.monotonic() + 60  # written a moment after the answers, many rows in one transaction
        while not any(r.who == "ana" and r.action == "api request" for r in audit.trail(store)):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        rows = [r for r in audit.trail(store) if r.action == "api request"]
        assert {r.who for r in rows} == {"unep", "ana"} and {r.target for r in rows} >= set(COLLECTIONS)
        assert audit.verify(store).ok


# ---------------------------------------------------------------- what a partner never gets
def _every_response(url: str, key: str) -> list[bytes]:
    """Every path a client can ask for, every collection, every page (one feature a page,
    following next links), every single feature, in JSON and JSON-LD."""
    bodies = []
    for path in ("/", "/?f=jsonld", "/conformance", "/openapi", "/openapi?f=json", "/collections",
                 "/collections?f=jsonld"):
        bodies.append(get(url + path, key)[2])
    for layer in (*COLLECTIONS, "case_counts"):
        for suffix in ("", "?f=jsonld", "/queryables", "/schema", "/items?f=jsonld"):
            bodies.append(get(f"{url}/collections/{layer}{suffix}", key)[2])
        page = f"{url}/collections/{layer}/items?limit=1"
        while page:
            status, _, body = get(page, key)
            assert status == 200
            bodies.append(body)
            doc = json.loads(body)
            for feature in doc["features"]:
                item = f"{url}/collections/{layer}/items/{urllib.parse.quote(str(feature['id']), safe='')}"
                status, _, one = get(item, key)
                assert status == 200, item
                bodies.append(one)
            page = next((link["href"] for link in doc["links"] if link["rel"] == "next"), None)
    return bodies


def test_no_planted_value_or_restricted_column_reaches_a_partner_but_an_analyst_sees_them(
        served: tuple[str, str, Keys, Path]) -> None:
    url, _, keys, _ = served
    everything = b"\n".join(_every_response(url, keys.partner))
    assert b"Alpha" in everything and b"planted.geojson" in everything  # not vacuous: the data is there
    assert SECRET.encode() not in everything
    for name in RESTRICTED_NAMES:
        assert name.encode() not in everything, name
    assert b"$ {HOME} Gamma" not in everything and b"${HOME} Gamma" in everything  # values are not expanded
    analyst = b"\n".join(_every_response(url, keys.analyst))
    for value in ("SECRET-sites-informant_name-0", "SECRET-sites-local_code-2", "SECRET-samples-collector_name-1",
                  "SECRET-tailings-owner_name-0"):
        assert value.encode() in analyst, value


# ---------------------------------------------------------------- keys
PATHS = ("/", "/conformance", "/openapi", "/collections", "/collections/mining_sites",
         "/collections/mining_sites/items", "/collections/mining_sites/items/S1", "/collections/mining_sites/queryables",
         "/collections/mining_sites/schema", "/collections/violations/items?limit=1", "/collections/nope/items",
         "/collections/mining_sites/items?bbox=1,2,3", "/static/img/logo.png", "/no/such/path", "/?f=html")


def test_every_request_shape_without_a_valid_key_gets_401_json_and_nothing_else(
        served: tuple[str, str, Keys, Path]) -> None:
    url, _, keys, _ = served
    wrong = "hgw_" + "A" * 43
    tried = 0
    for path in PATHS:
        for key, header in [(None, "X-API-Key"), (wrong, "X-API-Key"), (wrong, "Authorization"),
                            (keys.revoked, "X-API-Key"), (keys.revoked, "Authorization"),
                            (keys.disabled, "X-API-Key"), (keys.disabled, "Authorization"),
                            (keys.partner, "X-Other-Header"), ("", "X-API-Key")]:
            status, headers, body = get(url + path, key, header)
            assert status == 401, (path, key, header, status)
            assert headers["content-type"] == "application/json"
            doc = json.loads(body)
            assert set(doc) == {"code", "description"} and doc["code"] == "Unauthorized"
            assert b"Alpha" not in body and SECRET.encode() not in body
            tried += 1
    assert tried == len(PATHS) * 9
    status, _, _ = get(url + "/collections", keys.partner, "Authorization")  # a valid key works in either header
    assert status == 200


# ---------------------------------------------------------------- answers
BAD = [("/collections/nope", 404), ("/collections/nope/items", 404), ("/collections/mining_sites/items/NOPE", 404),
       ("/collections/violations/items/HG-WATER-100", 404), ("/no/such/path", 404),
       ("/collections/mining_sites/items?bbox=1,2,3", 400), ("/collections/mining_sites/items?bbox=a,b,c,d", 400),
       ("/collections/mining_sites/items?bbox=0,10,1,5", 400), ("/collections/mining_sites/items?limit=abc", 400),
       ("/collections/mining_sites/items?limit=0", 400), ("/collections/mining_sites/items?limit=-5", 400),
       ("/collections/mining_sites/items?offset=-1", 400),
       ("/collections/mining_sites/items?datetime=not-a-date", 400),
       ("/collections/mining_sites/items?filter=miners%20%3E%3E%3E", 400),
       ("/collections/mining_sites/items?filter=informant_name%3D%27x%27", 400),
       ("/collections/mining_sites/items?miners=many", 400),
       ("/collections/mining_sites/items?f=html", 400), ("/collections/mining_sites/items?q=gold", 400)]


@pytest.mark.parametrize(("path", "status"), BAD, ids=[p for p, _ in BAD])
def test_unknown_things_are_404_and_bad_parameters_400_as_json(served: tuple[str, str, Keys, Path], path: str,
                                                               status: int) -> None:
    url, _, keys, _ = served
    got, headers, body = get(url + path, keys.partner)
    assert got == status, body[:300]
    assert headers["content-type"].startswith("application/json")
    assert "description" in json.loads(body)
    assert b"Traceback" not in body and b"File \"" not in body


def _ids(url: str, key: str, query: str, layer: str = "mining_sites") -> list[str]:
    doc = _json(f"{url}/collections/{layer}/items?{query}", key)
    return sorted(str(f["id"]) for f in doc["features"])


def test_filters_give_the_known_answers(served: tuple[str, str, Keys, Path]) -> None:
    url, _, keys, _ = served
    key = keys.partner
    assert _ids(url, key, "bbox=-1.951,5.300,-1.949,5.301") == ["S1"]
    assert _ids(url, key, "bbox=-1.94,5.31,-1.90,5.34") == ["S3/odd id"]  # the polygon crosses the box
    assert _ids(url, key, "datetime=2024-03-01") == ["S1"]
    assert _ids(url, key, "datetime=2024-04-01/..") == ["S2"]
    assert _ids(url, key, "datetime=../2024-03-31") == ["S1"]
    assert _ids(url, key, "status=active") == ["S1", "S3/odd id"]
    assert _ids(url, key, "uses_mercury=false") == ["S2"]
    assert _ids(url, key, "filter=" + urllib.parse.quote("miners > 10 AND status = 'active'")) == ["S1", "S3/odd id"]
    assert _ids(url, key, "filter=" + urllib.parse.quote("name LIKE 'Al%'")) == ["S1"]
    assert _ids(url, key, "filter-lang=cql2-text&filter=" + urllib.parse.quote("miners < 5")) == ["S2"]
    assert _ids(url, key, "datetime=2025-01-10", "samples") == ["W2"]
    classed = _json(f"{url}/collections/samples/items/W1", key)["properties"]
    assert classed["hg_class"] == "above" and classed["guideline"] == 6.0
    one = _json(f"{url}/collections/mining_sites/items/{urllib.parse.quote('S3/odd id', safe='')}", key)
    assert one["properties"]["name"] == "${HOME} Gamma"
    ring = one["geometry"]["coordinates"][0]  # RFC 7946: counter-clockwise exterior ring
    assert sum((x2 - x1) * (y2 + y1) for (x1, y1), (x2, y2) in zip(ring, ring[1:])) < 0


def test_a_filter_on_a_restricted_column_tells_a_partner_nothing_of_its_values(
        served: tuple[str, str, Keys, Path]) -> None:
    """A partner filtering on a column it may not see gets what a filter on a made-up name gets, whether
    or not the value is really stored: the filter cannot be used to probe restricted values."""
    url, _, keys, _ = served
    site = "SECRET-sites-informant_name-0"  # S1's informant, stored
    assert _ids(url, keys.analyst, "informant_name=nobody") == []  # the analyst's view does filter on it
    assert _ids(url, keys.analyst, f"informant_name={site}") == ["S1"]
    every = _ids(url, keys.partner, "")
    assert every == ["S1", "S2", "S3/odd id"]
    for value in (site, "nobody"):  # a stored value and one that is not
        # both are unknown query parameters (api.parameters: 400), answered alike but for the name given
        answers = [get(f"{url}/collections/mining_sites/items?{name}={value}", keys.partner)
                   for name in ("informant_name", "made_up")]
        assert [status for status, _, _ in answers] == [400, 400]
        assert answers[0][2].replace(b"informant_name", b"N") == answers[1][2].replace(b"made_up", b"N")
        for name in ("informant_name", "made_up"):
            status, _, body = get(f"{url}/collections/mining_sites/items?filter="
                                  + urllib.parse.quote(f"{name} = '{value}'"), keys.partner)
            assert status == 400 and f"unknown property '{name}'".encode() in body, (status, body[:300])
            assert SECRET.encode() not in body


def test_paging_follows_next_links_to_every_feature(served: tuple[str, str, Keys, Path]) -> None:
    url, _, keys, _ = served
    seen, page, pages = [], f"{url}/collections/mining_sites/items?limit=1", 0
    while page:
        doc = _json(page, keys.partner)
        assert doc["numberMatched"] == 3 and doc["numberReturned"] == len(doc["features"]) == (pages < 3)
        seen += [f["id"] for f in doc["features"]]
        page = next((link["href"] for link in doc["links"] if link["rel"] == "next"), None)
        pages += 1
    # pygeoapi links a next page whenever a page is full, so the 4th page is empty and links none
    assert sorted(seen) == ["S1", "S2", "S3/odd id"] and pages == 4


def test_violations_carry_a_url_safe_id_their_violation_id_and_the_shortest_line(
        served: tuple[str, str, Keys, Path]) -> None:
    url, _, keys, _ = served
    doc = _json(f"{url}/collections/violations/items?rule_id=HG-WATER-100", keys.partner)
    assert [f["properties"]["subject_id"] for f in doc["features"]] == ["S1"]
    feature = doc["features"][0]
    vid = feature["properties"]["violation_id"]
    assert "/" in vid and feature["id"] == violation_feature_id(vid) and len(feature["id"]) == 20
    assert feature["geometry"]["type"] == "LineString"
    (x1, y1), (x2, y2) = feature["geometry"]["coordinates"]
    assert (x1, y1) == (-1.95, 5.3005) and x2 == pytest.approx(-1.95) and y2 == pytest.approx(5.30)
    assert 55.0 < feature["properties"]["distance_m"] < 56.0  # 0.0005 degrees of latitude at 5.3 N: 55.3 m
    assert _json(f"{url}/collections/violations/items/{feature['id']}", keys.partner)["properties"]["violation_id"] == vid


def test_collection_metadata_carries_source_licence_and_expected_error(served: tuple[str, str, Keys, Path]) -> None:
    url, _, keys, _ = served
    doc = _json(f"{url}/collections/mining_sites", keys.partner)
    assert "planted.geojson" in doc["description"] and "CC-BY-4.0" in doc["description"]
    assert "Expected positional error: 5 m" in doc["description"]
    assert "licence: CC-BY-4.0" in doc["keywords"]
    items = _json(f"{url}/collections/mining_sites/items", keys.partner)
    assert items["hgwatch"]["profile"] == "partner" and items["hgwatch"]["expected_error_m"] == 5.0
    assert items["hgwatch"]["layers"][0]["source"] == "planted.geojson"
    # each layer's entry has the keys of an export file's (layers.io.export.described), not the dataclass's own
    assert items["hgwatch"]["layers"][0]["expected_error_m"] == 5.0 and "accuracy_m" not in items["hgwatch"]["layers"][0]
    assert _json(f"{url}/collections/mining_sites/items", keys.analyst)["hgwatch"]["profile"] == "internal"


def test_each_request_is_one_audit_row_naming_who_the_collection_and_the_count(
        served: tuple[str, str, Keys, Path]) -> None:
    url, location, _, _ = served
    store = open_location(location)
    auth.add_account(store, "who-p", "partner", PASSWORD)  # accounts of this test only: earlier rows never mix in
    auth.add_account(store, "who-a", "analyst", PASSWORD)
    partner, analyst = new_key(location, "who-p"), new_key(location, "who-a")
    _json(f"{url}/collections/mining_sites/items?limit=2", partner)
    _json(f"{url}/collections/tailings/items/T1", analyst)
    _json(f"{url}/conformance", partner)
    get(f"{url}/collections/nope/items", partner)
    get(f"{url}/collections", None)  # refused: not recorded

    def mine() -> list[audit.AuditRow]:
        return [r for r in audit.trail(store) if r.who in ("who-p", "who-a") and r.action == "api request"]
    deadline = time.monotonic() + 60  # the rows are written a moment after the answers, by one thread
    while len(mine()) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    rows = mine()
    assert [(r.who, r.target) for r in rows] == [
        ("who-p", "mining_sites"), ("who-a", "tailings"), ("who-p", "/conformance"), ("who-p", "nope")]
    assert [json.loads(r.after)["features"] for r in rows] == [2, 1, None, None]
    assert [json.loads(r.after)["status"] for r in rows] == [200, 200, 200, 404]
    assert audit.verify(store).ok


def _eventually(check: object, what: str) -> None:
    deadline = time.monotonic() + 60  # the server re-reads keys and the layer table every second
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_while_the_server_runs_revoking_and_disabling_take_effect_and_new_data_is_served(
        served: tuple[str, str, Keys, Path]) -> None:
    url, location, _, _ = served
    store = open_location(location)
    auth.add_account(store, "live", "partner", PASSWORD)
    key = new_key(location, "live")
    assert get(f"{url}/collections", key)[0] == 200
    assert run_cli(location, "keys", "revoke", "live")[0] == 0
    _eventually(lambda: get(f"{url}/collections", key)[0] == 401, "a revoked key is refused")
    key = new_key(location, "live")
    _eventually(lambda: get(f"{url}/collections", key)[0] == 200, "a new key works")
    assert run_cli(location, "users", "disable", "live")[0] == 0
    _eventually(lambda: get(f"{url}/collections", key)[0] == 401, "a disabled account's key is refused")
    late = gpd.GeoDataFrame({"site_id": ["S9"], "name": ["Late"], "status": ["active"]},
                            geometry=[gpd.points_from_xy([-1.90], [5.35])[0]], crs=4326)
    store.write_layers([("mining_sites", late)], source="late.geojson", append=True)
    assert get(f"{url}/collections/mining_sites/items", None)[0] == 401  # refused, whatever changed
    partner = new_key(location, "unep")
    _eventually(lambda: get(f"{url}/collections/mining_sites/items/S9", partner)[0] == 200, "an appended site is served")


def test_a_browser_gets_json_not_html(served: tuple[str, str, Keys, Path]) -> None:
    url, _, keys, _ = served
    request = urllib.request.Request(f"{url}/collections/mining_sites/items?limit=1",
                                     headers={"X-API-Key": keys.partner, "Accept": "text/html,application/xhtml+xml"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.headers["content-type"].startswith("application/")
        assert json.loads(response.read())["type"] == "FeatureCollection"


def test_a_field_key_sees_restricted_values_only_in_its_areas(served: tuple[str, str, Keys, Path]) -> None:
    url, location, _, _ = served
    auth.add_account(open_location(location), "kofi", "field", PASSWORD, ["B"])
    key = new_key(location, "kofi")
    sites = {f["id"]: f["properties"] for f in _json(f"{url}/collections/mining_sites/items", key)["features"]}
    assert sites["S2"]["informant_name"] == "SECRET-sites-informant_name-1"  # area B: its own
    assert sites["S1"]["informant_name"] is None and sites["S3/odd id"]["informant_name"] is None  # area A
    assert _json(f"{url}/collections/mining_sites/items", key)["hgwatch"]["profile"] == "internal"


def test_case_counts_by_area_and_status_are_counted_at_each_request(served: tuple[str, str, Keys, Path]) -> None:
    url, location, keys, _ = served
    assert run_cli(location, "check")[0] == 0  # a recorded run opens a case per violation
    want = cases.case_counts(open_location(location), auth.Identity("x", "partner"))
    assert want["cases"].sum() == len(_export(location, "violations", Path(location).parent)) > 0
    doc = _json(f"{url}/collections/case_counts/items", keys.partner)
    got = {(f["properties"]["admin_area"], f["properties"]["status"]): f["properties"]["cases"] for f in doc["features"]}
    assert got == {(a if isinstance(a, str) else None, st): int(n) for a, st, n in want.itertuples(index=False)}
    assert (None, "new") not in got  # the tailings case counts in the area of the site it names
    assert all(f["geometry"] is None for f in doc["features"])
    one = doc["features"][0]
    again = _json(f"{url}/collections/case_counts/items/{urllib.parse.quote(one['id'], safe='')}", keys.partner)
    assert again["properties"] == one["properties"]
