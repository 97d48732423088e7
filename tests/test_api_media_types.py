"""Items and a single item are GeoJSON, and say so: ``Content-Type: application/geo+json`` (RFC 7946 section 12;
OGC API - Features Part 1, /req/geojson/content). pygeoapi 0.21 linked to them as ``application/geo+json``
but sent them as ``application/json`` (found in HA's walk of 2026-11-28). Every other answer, a refusal on an
items path included, stays ``application/json`` (queryables: ``application/schema+json``, JSON-LD:
``application/ld+json``). The real server on a store with planted secrets."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from tests.api_kit import SECRET, fill, make_keys, open_location, serving

GEOJSON = "application/geo+json"


def _ask(url: str, key: str, method: str = "GET", accept: str | None = None) -> tuple[int, str, bytes]:
    headers = {"X-API-Key": key, **({"Accept": accept} if accept else {})}
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers["content-type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["content-type"], exc.read()


def test_items_and_one_item_are_geo_json_and_every_other_answer_json(tmp_path: Path) -> None:
    location = str(tmp_path / "ws.gpkg")
    fill(open_location(location))
    keys = make_keys(location)
    with serving(location, tmp_path) as url:
        sites = f"{url}/collections/mining_sites"
        for path, accept in [("/items", None), ("/items?f=json&limit=2", None), ("/items/S1", None),
                             ("/items/S3%2Fodd%20id?f=json", None), ("/items?skipGeometry=true", GEOJSON),
                             ("/items", "application/json"), ("/items?resulttype=hits", None)]:
            for method in ("GET", "HEAD"):
                status, kind, body = _ask(sites + path, keys.partner, method, accept)
                assert (status, kind) == (200, GEOJSON), (path, method, status, kind)
                if method == "GET":
                    assert json.loads(body)["type"] in ("FeatureCollection", "Feature") and SECRET.encode() not in body
        for where in ("/collections/case_counts/items", "/collections/violations/items", "/collections/samples/items/W1"):
            assert _ask(url + where, keys.partner)[:2] == (200, GEOJSON), where
        for path, expected in [("/items?f=jsonld", "application/ld+json"), ("/items/S1?f=jsonld", "application/ld+json"),
                               ("", "application/json"), ("/queryables", "application/schema+json"),
                               ("/items?limt=5", "application/json"), ("/items/NOPE", "application/json"),
                               ("/items?bbox=1,2,3", "application/json")]:
            status, kind, body = _ask(sites + path, keys.partner)
            assert kind == expected, (path, status, kind)
            assert SECRET.encode() not in body
        for path in ("/", "/collections", "/conformance"):
            assert _ask(url + path, keys.partner)[:2] == (200, "application/json"), path
        assert _ask(sites + "/items", keys.revoked)[:2] == (401, "application/json")
        assert _ask(sites + "/items", keys.partner, accept="application/ld+json")[1] == "application/ld+json"
