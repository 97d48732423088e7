"""The partner API refuses a query parameter it does not understand (OGC API - Features Part 1,
/req/core/query-param-unknown: 400), and says what it would understand; on a real server
(``python -m api`` on a loopback port) with the planted store of ``tests.api_kit``.

pygeoapi dropped an unknown name without a word, so ``?minig_method=dredge`` or ``?bbbox=...`` got the
whole collection with 200. Now: every kind of unknown parameter on every path is a 400 naming it, with
the closest accepted name; a restricted field given by a partner is answered as a made-up name and no
restricted name is in any byte of it, while an analyst's key filters on it; every parameter the
OpenAPI document lists for a path is accepted, and the gate accepts on each path exactly what the
document lists; random names and values never give a 500 or an error body with markup in it."""
from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api import parameters
from services import audit, auth
from services.auth import Identity
from services.features import FeatureSource
from settings import Settings
from tests.api_kit import PASSWORD, SECRET, Keys, fill, get, make_keys, new_key, open_location, serving
from tests.test_qgis import DRIVER, QGIS_PYTHON, REASON, _env
from tests.test_qgis_api import more_sites, serving_behind_proxy

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
PATHS = ("/", "/openapi", "/conformance", "/collections", "/collections/mining_sites",
         "/collections/mining_sites/schema", "/collections/mining_sites/queryables",
         "/collections/mining_sites/items", "/collections/mining_sites/items/S1",
         f"/collections/mining_sites/items/{urllib.parse.quote('S3/odd id', safe='')}")
# restricted fields of the planted store, by collection (tests.api_kit.planted)
RESTRICTED = {"mining_sites": ("informant_name", "informant_contact", "inspector_name", "local_code", "Enumerator Phone",
                               "interview/informant_name"),
              "samples": ("collector_name", "participant_id", "local_code"),
              "tailings": ("owner_name", "local_code"), "water_bodies": ("local_code",)}
RESTRICTED_NAMES = sorted({n for names in RESTRICTED.values() for n in names}, key=len, reverse=True)
STORED = {"mining_sites": "SECRET-sites-informant_name-0", "samples": "SECRET-samples-collector_name-0",
          "tailings": "SECRET-tailings-owner_name-0", "water_bodies": "SECRET-water-local"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Keys]]:
    """A GeoPackage store with the planted layers, its keys and the real server: (url, location, keys)."""
    folder = tmp_path_factory.mktemp("api-parameters")
    location = str(folder / "ws.gpkg")
    fill(open_location(location))
    keys = make_keys(location)
    with serving(location, folder) as url:
        yield url, location, keys


def _query(pairs: list[tuple[str, str]]) -> str:
    return urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote)


def _refused(url: str, key: str, path: str, query: str) -> str:
    """The description of the 400 the API gives ``path?query``; fails on any other answer."""
    status, headers, body = get(f"{url}{path}?{query}", key)
    assert status == 400, (path, query, status, body[:300])
    assert headers["content-type"] == "application/json"
    doc = json.loads(body)
    assert set(doc) == {"code", "description"} and doc["code"] == "InvalidParameterValue", doc
    return str(doc["description"])


def _ids(url: str, key: str, query: str, layer: str = "mining_sites") -> list[str]:
    status, _, body = get(f"{url}/collections/{layer}/items?{query}", key)
    assert status == 200, (query, status, body[:300])
    return sorted(str(f["id"]) for f in json.loads(body)["features"])


# ---------------------------------------------------------------- the rules, without a server
def test_each_path_is_routed_to_its_kind() -> None:
    route = parameters.route
    assert [route(p) for p in ("/", "/openapi", "/conformance", "/collections")] == [
        parameters.Route(k) for k in ("landing", "openapi", "conformance", "collections")]
    assert route("/collections/x") == parameters.Route("collection", "x")
    assert route("/collections/x/items") == parameters.Route("items", "x")
    assert route("/collections/x/items/S3/odd id") == parameters.Route("item", "x")  # an id with / (decoded)
    assert route("/collections/x/queryables") == parameters.Route("queryables", "x")
    for other in ("/static/img/logo.png", "/no/such/path", "/collections/", "/collections/x/tiles", "/jobs"):
        assert route(other) is None, other


def test_a_query_is_refused_with_every_problem_named_once() -> None:
    where = parameters.Route("landing")
    assert parameters.refusal(where, [("f", "json"), ("lang", "en-US")], None) is None
    said = parameters.refusal(where, [("F", "json"), ("lang", "x"), ("lang", "y"), ("", "v"), ("f", "")], None)
    assert said is not None
    assert "unknown parameter 'F' (did you mean 'f'?)" in said and "'lang' is given 2 times" in said
    assert "a value without a parameter name" in said and "'f' has no value" in said
    assert "expected only: f, lang (a parameter of a collection's items is taken here too, and ignored" in said
    many = parameters.refusal(where, [(f"x{i}", "1") for i in range(25)], None)
    assert many is not None and "x9'" in many and "x10'" not in many and "and 15 more" in many


# ---------------------------------------------------------------- every kind, every path
UNKNOWN = [  # (query, the name the answer must give, what it must say)
    ([("bbbox", "-2,5,-1,6")], "bbbox", "unknown parameter 'bbbox'"),
    ([("made_up", "x")], "made_up", "unknown parameter 'made_up'"),
    ([("BBOX", "-2,5,-1,6")], "BBOX", "unknown parameter 'BBOX'"),
    ([("F", "json")], "F", "unknown parameter 'F' (did you mean 'f'?)"),
    ([("f", "json"), ("f", "json")], "f", "'f' is given 2 times; expected once"),
    ([("lang", "")], "lang", "'lang' has no value; expected lang=VALUE"),
    ([("", "x")], "", "a value without a parameter name"),
    ([("vendorSpecificParameters", "x")], "vendorSpecificParameters", "unknown parameter 'vendorSpecificParameters'"),
]


@pytest.mark.parametrize("path", PATHS)
def test_every_kind_of_unknown_parameter_on_every_path_gets_400_naming_it(
        served: tuple[str, str, Keys], path: str) -> None:
    url, _, keys = served
    for pairs, _, said in UNKNOWN:
        assert said in _refused(url, keys.partner, path, _query(pairs)), (path, pairs)
    described = _refused(url, keys.partner, path, "lang")  # a name with no "=" at all
    assert "'lang' has no value" in described
    # names pygeoapi reads but the API does not implement, a partner's restricted field, a typo of a field
    for name in ("q", "ui", "informant_name", "minig_method"):
        assert f"unknown parameter '{name}'" in _refused(url, keys.partner, path, f"{name}=1"), (path, name)
    if "/items/" in path:  # one feature takes no parameter of items (QGIS 3.22 carries them to other paths only)
        for name in ("limit", "bbox", "properties", "status"):
            assert f"unknown parameter '{name}'" in _refused(url, keys.partner, path, f"{name}=1"), (path, name)


def test_the_parameters_of_a_layers_source_url_qgis_carries_to_other_paths_are_taken_there(
        served: tuple[str, str, Keys]) -> None:
    """QGIS 3.22 sends ``?uses_mercury=false`` of ``url='http://HOST/?uses_mercury=false'`` (the README's
    per-layer filter) to the landing page, /openapi and the collection too (recorded: see
    ``test_qgis_322_opens_a_layer_with_a_parameter_in_its_source_url_filtered_on_the_server``)."""
    url, _, keys = served
    for path in ("/", "/openapi", "/conformance", "/collections", "/collections/mining_sites",
                 "/collections/mining_sites/queryables"):
        status, _, body = get(f"{url}{path}?uses_mercury=false&limit=10", keys.partner)
        assert status == 200, (path, body[:300])
    assert _ids(url, keys.partner, "limit=10&uses_mercury=false") == ["S2"]
    said = _refused(url, keys.partner, "/collections/water_bodies", "uses_mercury=false")  # not a field of that one
    assert "unknown parameter 'uses_mercury'" in said and "(did you mean" not in said


def test_one_feature_takes_crs_only_and_an_unknown_parameter_there_is_not_ignored(served: tuple[str, str, Keys]) -> None:
    url, _, keys = served
    assert get(f"{url}/collections/mining_sites/items/S1?crs={urllib.parse.quote(CRS84)}", keys.partner)[0] == 200
    said = _refused(url, keys.partner, "/collections/mining_sites/items/S1", "bbox=0,0,1,1")
    assert said.endswith("expected only: crs, f, lang.")


def test_a_typo_of_a_partner_field_gets_the_field_suggested_not_the_whole_collection(
        served: tuple[str, str, Keys]) -> None:
    url, _, keys = served
    assert _ids(url, keys.partner, "status=inactive") == ["S2"]
    for typo, field in (("sttus", "status"), ("uses_mercuy", "uses_mercury"), ("Status", "status"),
                        ("amalgamaton", "amalgamation"), ("survey-date", "survey_date"), ("bbbox", "bbox"),
                        ("BBOX", "bbox"), ("Limit", "limit"), ("skipgeometry", "skipGeometry")):
        said = _refused(url, keys.partner, "/collections/mining_sites/items", f"{typo}=inactive")
        assert f"unknown parameter '{typo}' (did you mean '{field}'?)" in said, said
        assert "status, survey_date" in said  # the partner's fields are listed
    said = _refused(url, keys.partner, "/collections/mining_sites/items", "minig_method=dredge&limit=5")
    assert "unknown parameter 'minig_method'." in said and "did you mean" not in said
    said = _refused(url, keys.partner, "/collections/mining_sites/items", "status=active&status=inactive")
    assert "'status' is given 2 times; expected once" in said  # pygeoapi kept the last silently
    assert "'status' has no value" in _refused(url, keys.partner, "/collections/mining_sites/items", "status=")


def test_datetime_on_a_collection_without_a_date_field_is_refused_not_ignored(served: tuple[str, str, Keys]) -> None:
    url, _, keys = served
    assert _ids(url, keys.partner, "datetime=2024-03-01") == ["S1"]
    for layer in ("violations", "water_bodies", "tailings"):
        said = _refused(url, keys.partner, f"/collections/{layer}/items", "datetime=2024-03-01")
        assert f"unknown parameter 'datetime' ({layer} has no date field to filter on)" in said


def _without(body: bytes, given: str) -> bytes:
    return body.replace(json.dumps(given)[1:-1].encode(), b"NAME")


def test_a_restricted_field_from_a_partner_is_answered_as_a_made_up_name_and_names_no_restricted_field(
        served: tuple[str, str, Keys]) -> None:
    """Whether the name is a restricted field (stored values or not) or made up, the partner gets the same
    answer but for the name it gave, and that answer holds no other restricted name and no planted value."""
    url, _, keys = served
    for layer, names in RESTRICTED.items():
        made_up = get(f"{url}/collections/{layer}/items?{_query([('zz_made_up', 'x')])}", keys.partner)
        assert made_up[0] == 400
        for name in (*names, "made_up_field"):
            for value in (STORED[layer], "nobody"):
                status, _, body = get(f"{url}/collections/{layer}/items?{_query([(name, value)])}", keys.partner)
                assert status == 400, (layer, name, status)
                assert _without(body, name) == _without(made_up[2], "zz_made_up"), (layer, name)
                rest = _without(body, name)
                assert SECRET.encode() not in rest
                for restricted in RESTRICTED_NAMES:
                    assert restricted.encode() not in rest, (layer, name, restricted)
    # a partner's typo of a restricted name suggests none; the analyst's suggests it
    partner = _refused(url, keys.partner, "/collections/mining_sites/items", "informant_nam=x")
    analyst = _refused(url, keys.analyst, "/collections/mining_sites/items", "informant_nam=x")
    assert "did you mean" not in partner and "informant_name'" not in partner and "local_code" not in partner
    assert "(did you mean 'informant_name'?)" in analyst and "local_code" in analyst


def test_an_analysts_key_filters_on_restricted_fields(served: tuple[str, str, Keys]) -> None:
    url, _, keys = served
    assert _ids(url, keys.analyst, "informant_name=SECRET-sites-informant_name-0") == ["S1"]
    assert _ids(url, keys.analyst, "informant_name=nobody") == []
    assert _ids(url, keys.analyst, "collector_name=SECRET-samples-collector_name-1", "samples") == ["W2"]
    assert _ids(url, keys.analyst, _query([("Enumerator Phone", "SECRET-sites-Enumerator Phone-2")])) == ["S3/odd id"]


def test_the_parameters_real_clients_send_are_accepted_and_next_links_followed(served: tuple[str, str, Keys]) -> None:
    """What QGIS 3.22, GDAL and OWSLib send (recorded by tests/test_qgis_api.py and test_api_service.py),
    and the next links pygeoapi makes from a filtered request (they repeat every parameter but offset)."""
    url, _, keys = served
    box = "-1.951,5.300,-1.949,5.301"
    assert _ids(url, keys.partner, f"f=json&limit=100&bbox={box}&bbox-crs={urllib.parse.quote(CRS84)}"
                                   f"&crs={urllib.parse.quote(CRS84)}") == ["S1"]
    assert _ids(url, keys.partner, "datetime=" + urllib.parse.quote("0000-01-01T00:00:00Z/2024-03-31T00:00:00Z")) == ["S1"]
    assert _ids(url, keys.partner, "filter-lang=cql2-text&filter=" + urllib.parse.quote("miners < 5")) == ["S2"]
    seen, page = [], f"{url}/collections/mining_sites/items?limit=1&status=active&f=json"
    while page:
        status, _, body = get(page, keys.partner)
        assert status == 200, (page, body[:300])
        doc = json.loads(body)
        seen += [f["id"] for f in doc["features"]]
        page = next((link["href"] for link in doc["links"] if link["rel"] == "next"), None)
    assert sorted(seen) == ["S1", "S3/odd id"]


# ---------------------------------------------------------------- the OpenAPI document agrees
def _listed(oas: dict) -> dict[str, list[str]]:
    """The query parameters the OpenAPI document lists for each GET path."""
    components = oas["components"]["parameters"]
    out = {}
    for path, item in oas["paths"].items():
        if "get" not in item:
            continue
        names = []
        for p in item["get"].get("parameters", []):
            ref = str(p.get("$ref", ""))
            if ref.startswith("#/components/parameters/"):
                p = components[ref.rsplit("/", 1)[-1]]
            name = p.get("name") or ref.rsplit("/", 1)[-1].removesuffix(".yaml")
            if p.get("in", "query") == "query" and name != "featureId":
                names.append(str(name))
        out[path] = names
    return out


def _value(name: str, fields: dict[str, object]) -> str:
    """A valid value of query parameter ``name`` (``fields``: the properties of a feature of the collection)."""
    given = {"f": "json", "lang": "en-US", "bbox": "-180,-90,180,90", "bbox-crs": CRS84, "crs": CRS84,
             "datetime": "2000-01-01/..", "limit": "5", "offset": "0", "skipGeometry": "true", "resulttype": "hits",
             "filter": "1 = 1", "filter-lang": "cql2-text", "filter-crs": CRS84}
    if name in ("properties", "sortby"):
        return next(iter(fields))
    if name in given:
        return given[name]
    value = fields[name]
    return json.dumps(value) if isinstance(value, bool) else str(value)


def test_every_parameter_the_openapi_document_lists_is_accepted_and_no_other(served: tuple[str, str, Keys]) -> None:
    url, location, keys = served
    status, _, body = get(f"{url}/openapi?f=json", keys.partner)
    assert status == 200
    listed = _listed(json.loads(body))
    source = FeatureSource(Settings.from_env({}, workspace=location))
    partner = Identity("test", "partner")
    tried = 0
    for path, names in listed.items():
        concrete = path
        if "{featureId}" in path:
            collection = path.split("/")[2]
            first = source.collection(partner, collection)
            if first is None or not first.ids:
                continue
            concrete = path.replace("{featureId}", urllib.parse.quote(first.ids[0], safe=""))
        where = parameters.route(urllib.parse.unquote(concrete))
        if where is None:  # pygeoapi's own extras (jobs): no HgWatch data
            assert not path.startswith("/collections"), path
            continue
        served_ = source.collection(partner, where.collection) if where.collection else None
        taken = parameters.accepted(where, [served_] if served_ is not None else None)
        assert sorted(names) == sorted(taken.names + taken.properties), path  # the gate's own names: the document's
        properties = taken.properties
        feature = served_.features([0])[0]["properties"] if served_ is not None and len(served_.ids) else {}
        fields = list(served_.fields) if served_ is not None else []
        for name in names:
            if name in properties and feature.get(name) is None:
                continue  # a property without a value in the first feature: no value to filter on
            pairs = [(name, _value(name, {**dict.fromkeys(fields), **feature}))]
            pairs += [("bbox", "-180,-90,180,90")] if name == "bbox-crs" else []
            pairs += [("filter", "1 = 1")] if name == "filter-lang" else []
            status, _, answer = get(f"{url}{concrete}?{_query(pairs)}", keys.partner)
            assert status == 200, (path, pairs, answer[:300])
            tried += 1
    assert tried > 100
    for path, name in (("/", "q"), ("/openapi", "ui"), ("/collections", "vendorSpecificParameters"),
                       ("/collections/tailings", "uses_mercury"), ("/collections/tailings/items", "q"),
                       ("/collections/tailings/items", "datetime"), ("/collections/tailings/items", "owner_name"),
                       ("/collections/samples/queryables", "owner_name"), ("/collections/samples/items/W1", "properties")):
        assert name not in listed.get(path, []), (path, name)
        assert f"unknown parameter '{name}'" in _refused(url, keys.partner, path, f"{name}=1"), (path, name)


# ---------------------------------------------------------------- never a 500, never markup
NAMES = st.one_of(st.text(max_size=12), st.sampled_from(
    ["f", "lang", "bbox", "bbox-crs", "crs", "datetime", "limit", "offset", "properties", "skipGeometry", "sortby",
     "resulttype", "filter", "filter-lang", "filter-crs", "status", "miners", "informant_name", "<b>x</b>", "q"]))
VALUES = st.one_of(st.text(max_size=16), st.sampled_from(["<script>alert(1)</script>", "", "1,2,3,4", "-1", "..",
                                                          "miners > 1", "'", '"', "&amp;", "0000-01-01/.."]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS[:1] + PATHS[6:9]), pairs=st.lists(st.tuples(NAMES, VALUES), min_size=1, max_size=3))
def test_random_names_and_values_never_give_500_and_errors_hold_no_markup(
        served: tuple[str, str, Keys], path: str, pairs: list[tuple[str, str]]) -> None:
    url, _, keys = served
    status, headers, body = get(f"{url}{path}?{_query(pairs)}", keys.partner)
    assert status in (200, 400), (path, pairs, status, body[:300])
    assert "json" in headers["content-type"]
    json.loads(body)
    if status == 400:
        assert b"<" not in body and b">" not in body, body[:300]
    assert SECRET.encode() not in body


# ---------------------------------------------------------------- the audit trail, PostGIS
def test_a_refused_request_is_answered_and_recorded_in_the_audit_trail(served: tuple[str, str, Keys]) -> None:
    url, location, _ = served
    store = open_location(location)
    auth.add_account(store, "par-typo", "partner", PASSWORD)
    key = new_key(location, "par-typo")
    assert "bbbox" in _refused(url, key, "/collections/mining_sites/items", "bbbox=1,2,3,4")
    assert "minig_method" in _refused(url, key, "/conformance", "minig_method=1")
    deadline = time.monotonic() + 60  # written a moment after the answers, by one thread
    while len(rows := [r for r in audit.trail(store) if r.who == "par-typo" and r.action == "api request"]) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert [(r.target, json.loads(r.after)["status"]) for r in rows] == [("mining_sites", 400), ("/conformance", 400)]


def test_on_postgis_unknown_parameters_are_refused_and_restricted_names_tell_nothing(pg_url: str, tmp_path: Path) -> None:
    fill(open_location(pg_url))
    keys = make_keys(pg_url)
    with serving(pg_url, tmp_path) as url:
        assert "(did you mean 'status'?)" in _refused(url, keys.partner, "/collections/mining_sites/items", "sttus=x")
        assert "(did you mean 'bbox'?)" in _refused(url, keys.partner, "/collections/tailings/items", "bbx=1")
        made_up = get(f"{url}/collections/mining_sites/items?zz_made_up=x", keys.partner)[2]
        for name in RESTRICTED["mining_sites"]:
            status, _, body = get(f"{url}/collections/mining_sites/items?{_query([(name, STORED['mining_sites'])])}",
                                  keys.partner)
            assert status == 400 and _without(body, name) == _without(made_up, "zz_made_up"), name
            assert SECRET.encode() not in body
        assert _ids(url, keys.analyst, "informant_name=SECRET-sites-informant_name-0") == ["S1"]
        assert _ids(url, keys.partner, "status=inactive") == ["S2"]


# ---------------------------------------------------------------- QGIS 3.22 itself
def _qgis_layer(folder: Path, url: str, query: str, key: str) -> dict[str, Any]:
    """QGIS (fresh profile) opening ``mining_sites`` from a source URL that carries ``query``, the key as
    the password of a Basic authentication: the driver's answer for the layer."""
    home = folder / f"qgis-home-{time.monotonic_ns()}"
    (home / "auth").mkdir(parents=True)
    env = {**_env(), "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local"),
           "XDG_CACHE_HOME": str(home / ".cache"), "QGIS_AUTH_DB_DIR_PATH": str(home / "auth"),
           "NO_PROXY": "*", "no_proxy": "*"}
    job = {"auth": {"method": "Basic", "username": "unep", "password": key},
           "layers": [{"oapif": f"url='{url}/?{query}' typename='mining_sites' authcfg={{authcfg}}",
                       "id_field": "site_id"}]}
    done = subprocess.run([QGIS_PYTHON, str(DRIVER)], input=json.dumps(job), capture_output=True, text=True, env=env,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1])["layers"][0])


@pytest.mark.skipif(REASON is not None, reason=REASON or "")
def test_qgis_322_opens_a_layer_with_a_parameter_in_its_source_url_filtered_and_a_typo_not_at_all(
        tmp_path: Path) -> None:
    """The README's per-layer filter: QGIS 3.22 carries the parameter of the layer's source URL to every
    request for the layer (landing page, /openapi, the collection, its items; recorded by the proxy), and
    gets the one site that uses no mercury of 253. With the name misspelt it used to get all 253 sites,
    and the user a layer that looks filtered; now the layer does not open (400), and nothing is shown."""
    location = str(tmp_path / "ws.gpkg")
    fill(open_location(location)).write_layers([("mining_sites", more_sites())], source="more.geojson",
                                               licence="CC-BY-4.0", accuracy_m=5.0)
    keys = make_keys(location)
    with serving_behind_proxy(location, tmp_path) as (url, record):
        layer = _qgis_layer(tmp_path, url, "uses_mercury=false", keys.partner)
        typo = _qgis_layer(tmp_path, url, "uses_mercuy=false", keys.partner)
        time.sleep(0.5)
        asked = [(target, status) for target, status, _ in record.exchanges()]
        received = record.everything()
    assert layer["valid"] and layer["count"] == 1, layer
    carried = [(t, st) for t, st in asked if "uses_mercury=false" in t]
    assert {t.split("?")[0] for t, _ in carried} >= {"/", "/collections/mining_sites", "/collections/mining_sites/items"}
    assert all(st == 200 for _, st in carried), carried
    assert not typo["valid"], typo
    assert [st for t, st in asked if "uses_mercuy=false" in t] == [400]  # the first request, the landing page
    assert SECRET.encode() not in received
