"""A partner's web map calls the API from its own page (found in HA's walk: no CORS header, and a browser's
preflight OPTIONS got 401, so no browser page could read the API at all). The real server, a real store with
planted secrets: a preflight is answered before the gate, with nothing read; an answer names the origin;
without a key a page still gets only the 401; ``$HGWATCH_API_ORIGINS`` narrows the origins."""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.api_kit import SECRET, fill, make_keys, open_location, serving

PAGE = "https://maps.partner.example"


def _ask(url: str, method: str = "GET", **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def test_a_web_page_may_call_the_api_with_a_key_and_learns_nothing_without_one(tmp_path: Path) -> None:
    location = str(tmp_path / "ws.gpkg")
    fill(open_location(location))
    keys = make_keys(location)
    with serving(location, tmp_path) as url:
        items = f"{url}/collections/mining_sites/items?limit=5"
        code, headers, body = _ask(items, "OPTIONS", Origin=PAGE, **{
            "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-api-key"})
        assert code == 200 and headers["access-control-allow-origin"] == "*"
        assert "x-api-key" in headers["access-control-allow-headers"].lower()
        assert SECRET.encode() not in body and b"features" not in body  # the preflight reads nothing
        code, headers, body = _ask(items, Origin=PAGE, **{"X-API-Key": keys.partner})
        assert code == 200 and headers["access-control-allow-origin"] == "*"
        assert len(json.loads(body)["features"]) == 3 and SECRET.encode() not in body  # the planted store's sites
        code, headers, body = _ask(items, Origin=PAGE)
        assert code == 401 and headers["access-control-allow-origin"] == "*" and b"features" not in body


@pytest.fixture
def one_origin() -> object:
    os.environ["HGWATCH_API_ORIGINS"] = f"{PAGE}/"
    yield
    del os.environ["HGWATCH_API_ORIGINS"]


@pytest.mark.usefixtures("one_origin")
def test_the_origins_can_be_narrowed(tmp_path: Path) -> None:
    location = str(tmp_path / "ws.gpkg")
    fill(open_location(location))
    keys = make_keys(location)
    with serving(location, tmp_path) as url:
        items = f"{url}/collections/mining_sites/items?limit=1"
        code, headers, _ = _ask(items, Origin=PAGE, **{"X-API-Key": keys.partner})
        assert code == 200 and headers["access-control-allow-origin"] == PAGE
        code, headers, _ = _ask(items, Origin="https://elsewhere.example", **{"X-API-Key": keys.partner})
        assert "access-control-allow-origin" not in headers  # the browser keeps the answer from that page
        code, _, _ = _ask(items, "OPTIONS", Origin="https://elsewhere.example", **{"Access-Control-Request-Method": "GET"})
        assert code == 400
