"""The partner API claims and links to only what it serves (``api.claims``), on a real server
(``python -m api`` on a loopback port) with the planted store of ``tests.api_kit``.

pygeoapi linked every page to its ``?f=html`` alternate (the gate answers those 400), the landing page
to the OpenAPI HTML page, ``/processes``, ``/jobs`` and ``/TileMatrixSets`` (nothing of HgWatch there),
and ``/conformance`` claimed HTML pages and Part 4 (create, replace, delete) the gate refuses. Now every
link of every answer, followed with the same key, answers 200 with JSON; next/prev links are as they were."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api import claims
from tests.api_kit import Keys, fill, get, make_keys, open_location, serving

START = ("/", "/conformance", "/collections", "/collections/mining_sites", "/collections/mining_sites/queryables",
         "/collections/mining_sites/schema", "/collections/mining_sites/items?limit=1",
         "/collections/mining_sites/items?limit=1&offset=1", "/collections/mining_sites/items/S1",
         "/collections/samples/items", "/collections/violations/items", "/openapi", "/?f=jsonld",
         "/collections?f=jsonld", "/collections/mining_sites?f=jsonld", "/collections/mining_sites/items?f=jsonld",
         "/collections/mining_sites/items/S1?f=jsonld")
REFUSED = ("http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/html",
           "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
           "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
           "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/html")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Keys]]:
    folder = tmp_path_factory.mktemp("api-claims")
    location = str(folder / "ws.gpkg")
    fill(open_location(location))
    keys = make_keys(location)
    with serving(location, folder) as url:
        yield url, keys


def _links(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        for link in node.get("links", []) if isinstance(node.get("links"), list) else []:
            if isinstance(link, dict) and "href" in link:
                yield link
        for value in node.values():
            yield from _links(value)
    elif isinstance(node, list):
        for value in node:
            yield from _links(value)


def _distributions(node: Any) -> Iterator[dict[str, Any]]:
    """The JSON-LD (schema.org) links of a collection: DataDownload entries."""
    if isinstance(node, dict):
        for given in node.get("distribution", []) if isinstance(node.get("distribution"), list) else []:
            yield {"type": given.get("encodingFormat"), "href": given.get("contentURL")}
        for value in node.values():
            yield from _distributions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _distributions(value)


def _openapi_urls(doc: dict[str, Any]) -> list[str]:
    urls = [s["url"] for s in doc.get("servers", [])]
    urls += [v["url"] for k, v in doc.get("info", {}).items() if isinstance(v, dict) and "url" in v]
    return urls


@pytest.mark.parametrize("header", ["X-API-Key", "Authorization"])
def test_every_link_of_every_answer_answers_200_with_json(served: tuple[str, Keys], header: str) -> None:
    url, keys = served
    todo = [url + p for p in START]
    seen: set[str] = set()
    followed = 0
    while todo:
        href = todo.pop()
        if href in seen:
            continue
        seen.add(href)
        status, headers, body = get(href, keys.partner, header)
        assert status == 200, (href, status, body[:300])
        kind = headers["content-type"]
        assert "html" not in kind and "json" in kind, (href, kind)
        followed += 1
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise AssertionError(f"{href}: {exc}: {body[:600]!r}") from exc
        links = [*_links(doc), *_distributions(doc)]
        hrefs = [link["href"] for link in links]
        assert all(link.get("type") != "text/html" for link in links), href
        if "openapi" in kind:
            hrefs += _openapi_urls(doc)
        for target in hrefs:
            assert target.startswith(url), (href, target)  # the planted store names no external link
            assert "f=html" not in target and "TileMatrixSets" not in target and "/processes" not in target, target
            assert "/jobs" not in target and "/stac" not in target, target
            todo.append(target)
    assert followed > 60, followed  # landing, 7 collections with their pages, items pages through next


def test_conformance_claims_no_class_whose_requests_are_refused(served: tuple[str, Keys]) -> None:
    url, keys = served
    answers = [get(f"{url}/conformance", keys.partner) for _ in range(3)]
    assert {a[0] for a in answers} == {200}
    assert len({a[2] for a in answers}) == 1  # the same list each time (pygeoapi's grew at each request)
    classes = json.loads(answers[0][2])["conformsTo"]
    assert not set(classes) & set(REFUSED), classes
    assert not [c for c in classes if "html" in c or "create" in c], classes
    for kept in ("http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
                 "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
                 "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
                 "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
                 "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables"):
        assert kept in classes
    assert len(classes) == len(set(classes))
    for refused in ("/?f=html", "/conformance?f=html"):  # the class's own requests are refused indeed
        assert get(url + refused, keys.partner)[0] == 400
    for method in ("POST", "PUT", "DELETE"):
        request = urllib.request.Request(f"{url}/collections/mining_sites/items", method=method, data=b"{}",
                                         headers={"X-API-Key": keys.partner, "Content-Type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=30)
            raise AssertionError(method)
        except urllib.error.HTTPError as exc:
            assert exc.code == 405


def test_pygeoapi_paths_with_nothing_behind_them_are_not_served(served: tuple[str, Keys]) -> None:
    url, keys = served
    for path in ("/processes", "/jobs", "/jobs/x/results", "/TileMatrixSets", "/TileMatrixSets/WorldCRS84Quad",
                 "/stac", "/processes?f=json"):
        status, headers, body = get(url + path, keys.partner)
        assert status == 404 and headers["content-type"] == "application/json", (path, status, body[:200])
        assert json.loads(body)["code"] == "NotFound"
    assert get(f"{url}/collections/mining_sites/items?limit=1", keys.partner)[0] == 200
    assert get(f"{url}/processes")[0] == 401  # the key first, as everywhere


def test_openapi_lists_no_html_format_no_jobs_and_only_get(served: tuple[str, Keys]) -> None:
    url, keys = served
    status, _, body = get(f"{url}/openapi", keys.partner)
    assert status == 200
    doc = json.loads(body)
    assert doc["components"]["parameters"]["f"]["schema"]["enum"] == ["json", "jsonld"]
    assert not [p for p in doc["paths"] if p.startswith(("/jobs", "/processes", "/stac", "/TileMatrixSets"))]
    for path, item in doc["paths"].items():
        assert not set(item) & {"put", "post", "delete", "options", "patch", "head", "trace"}, path
    assert b'"html"' not in body


def test_next_and_prev_links_are_kept_exactly_and_lengths_are_right(served: tuple[str, Keys]) -> None:
    url, keys = served
    status, headers, body = get(f"{url}/collections/mining_sites/items?limit=1&offset=1", keys.partner)
    assert status == 200 and int(headers["content-length"]) == len(body)
    page = json.loads(body)
    by_rel = {link["rel"]: link for link in page["links"]}
    assert by_rel["next"] == {"type": "application/geo+json", "rel": "next", "title": "Items (next)",
                              "href": f"{url}/collections/mining_sites/items?offset=2&limit=1"}
    assert by_rel["prev"] == {"type": "application/geo+json", "rel": "prev", "title": "Items (prev)",
                              "href": f"{url}/collections/mining_sites/items?offset=0&limit=1"}
    assert [f["id"] for f in page["features"]] == ["S2"] and page["numberReturned"] == 1
    for path in ("/", "/collections", "/collections/mining_sites/items?limit=1", "/collections/mining_sites/items/S1"):
        got = get(url + path, keys.partner)[2]
        request = urllib.request.Request(url + path, method="HEAD", headers={"X-API-Key": keys.partner})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert int(response.headers["content-length"]) == len(got), path
            assert b"text/html" not in got, path


def test_a_json_ld_page_of_items_is_json_even_without_features(served: tuple[str, Keys]) -> None:
    """pygeoapi's template left a comma before the closing brace of a page without features (case_counts here)."""
    url, keys = served
    names = [c["id"] for c in json.loads(get(f"{url}/collections", keys.partner)[2])["collections"]]
    assert "case_counts" in names and len(names) >= 5
    for name in names:
        for query in ("", "&offset=1&limit=1"):
            status, _, body = get(f"{url}/collections/{name}/items?f=jsonld{query}", keys.partner)
            assert status == 200, (name, body[:300])
            page = json.loads(body)
            plain = json.loads(get(f"{url}/collections/{name}/items?f=json{query}", keys.partner)[2])
            quoted = [f"{url}/collections/{name}/items/{f['id']}" for f in plain["features"]]
            assert [f["@id"] for f in page["features"]] == quoted, name
            assert page["@id"] == f"{url}/collections/{name}" and page["type"] == "FeatureCollection"


# ---------------------------------------------------------------- the rewrite, without a server
BASE = "http://h:1"


def _page(names: list[str], nested: bool = False) -> dict[str, Any]:
    features = [{"type": "Feature", "id": str(i), "geometry": {"type": "Point", "coordinates": [1.5, -2.25]},
                 "properties": {"name": n, **({"links": [{"type": "text/html", "href": BASE + "/x?f=html"}]}
                                              if nested else {})}} for i, n in enumerate(names)]
    return {"type": "FeatureCollection", "features": features, "numberMatched": 9, "numberReturned": len(names),
            "links": [{"type": "application/geo+json", "rel": "self", "href": BASE + "/collections/c/items?f=json"},
                      {"type": "text/html", "rel": "alternate", "href": BASE + "/collections/c/items?f=html"},
                      {"type": "application/geo+json", "rel": "next", "href": BASE + "/collections/c/items?offset=2"},
                      {"type": "application/json", "rel": "x", "href": "https://licence.example/cc-by?f=html"}],
            "timeStamp": "2026-01-01T00:00:00Z"}


def _compact(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(), max_size=5), st.booleans())
def test_the_tail_rewrite_equals_the_whole_rewrite(names: list[str], nested: bool) -> None:
    """Names holding ``,"links":[`` or quotes cannot fool the tail: the answer is the whole document's."""
    names = [*names, ',"links":[{"type":"text/html"}],"timeStamp":"x"}', '"}],"links":[']
    body = _compact(_page(names, nested))
    whole = claims.without_refused(body, BASE, tail_first=False)
    assert claims.without_refused(body, BASE, tail_first=True) == whole
    doc = json.loads(whole)
    assert [link["rel"] for link in doc["links"]] == ["self", "next", "x"]  # the licence elsewhere is kept
    assert [f["properties"]["name"] for f in doc["features"]] == names
    assert not nested or all(f["properties"]["links"] == [] for f in doc["features"])
    assert whole.count(b"f=html") == 1  # only the link elsewhere


def test_a_body_without_refused_links_is_kept_as_given() -> None:
    body = b'{"links":[{"type":"application/json","href":"http://h:1/collections?f=json"}], "x": 1.50}'
    assert claims.without_refused(body, BASE, tail_first=True) is body
    assert claims.without_refused(body, BASE, tail_first=False) is body
    assert claims.without_refused(b"not json", BASE, tail_first=False) == b"not json"
    assert claims.refused_link({"href": "http://h:1/processes"}, BASE)
    assert claims.refused_link({"href": "http://h:1/TileMatrixSets?f=json"}, BASE)
    assert not claims.refused_link({"href": "http://h:10/processes"}, BASE)  # another server
    assert not claims.refused_link({"href": "http://h:1/collections/processes"}, BASE)
    assert claims.refused_link({"href": "http://h:1/collections?f=xml"}, BASE)
    assert not claims.refused_link({"href": "http://h:1/collections?f=jsonld"}, BASE)


def test_pygeoapi_conformance_list_no_longer_grows() -> None:
    listed = claims.Classes()
    more = ["http://x/conf/core", "http://x/conf/html", "http://x/conf/create-replace-delete", "http://x/conf/core"]
    for _ in range(3):
        listed.extend(more)
    assert listed == ["http://x/conf/core"]
