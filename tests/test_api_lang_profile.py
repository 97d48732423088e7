"""``lang`` names the one language the API answers in, and ``profile`` of queryables is not taken (found in
HA's walk of 2026-11-28: ``lang=xx``, ``lang=fr`` and ``queryables?profile=foo`` or ``profile=actual-domain``
were answered with 200 as if honoured; pygeoapi 0.21 falls back to English and ignores the profile, and
HgWatch's provider gives no actual domain). Now each is a 400 with a JSON body naming the value and what is
expected; English asked in any case is served; an ``Accept-Language`` header is negotiated as HTTP does it
(English, said by ``Content-Language``). The OpenAPI document lists what is accepted. The real server on a
store with planted secrets, on a GeoPackage and on PostGIS."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from tests.api_kit import SECRET, fill, get, make_keys, open_location, serving

ITEMS = "/collections/mining_sites/items"


def _ask(url: str, key: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"X-API-Key": key, **headers})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def test_lang_must_be_english_and_queryables_take_no_profile(location: str, tmp_path: Path) -> None:
    fill(open_location(location))
    keys = make_keys(location)
    with serving(location, tmp_path) as url:
        for path in ("/", "/collections", ITEMS, f"{ITEMS}/S1", "/collections/mining_sites/queryables"):
            for lang in ("en-US", "en", "EN-us"):
                status, _, body = get(f"{url}{path}?lang={lang}", keys.partner)
                assert status == 200 and SECRET.encode() not in body, (path, lang, status, body[:200])
        for path, query, said in [
                (ITEMS, "lang=fr", "lang='fr': this service answers in English only; expected en-US or en"),
                ("/collections", "lang=xx", "lang='xx'"), (f"{ITEMS}/S1", "lang=fr-CA,fr;q%3D0.9", "lang='fr-CA,fr;q=0.9'"),
                (ITEMS, "lang=%3Cscript%3E", "lang='\\u003cscript\\u003e'"),
                ("/collections/mining_sites/queryables", "profile=actual-domain", "unknown parameter 'profile'"),
                ("/collections/mining_sites/queryables", "profile=foo", "unknown parameter 'profile'")]:
            status, headers, body = _ask(f"{url}{path}?{query}", keys.partner)
            assert status == 400 and headers["content-type"] == "application/json", (path, query, status)
            doc = json.loads(body)
            assert doc["code"] == "InvalidParameterValue" and said in body.decode(), (query, doc)
            assert b"<" not in body and SECRET.encode() not in body and b"Alpha" not in body
        status, headers, body = _ask(url + ITEMS, keys.partner, **{"Accept-Language": "fr-CA, fr;q=0.9"})
        assert status == 200 and headers["content-language"] == "en-US" and SECRET.encode() not in body
        assert _ask(f"{url}{ITEMS}?lang=fr", keys.revoked)[0] == 401  # (the key first, as on every path)
        status, _, body = get(f"{url}/openapi?f=json", keys.partner)
        oas = json.loads(body)
        assert oas["components"]["parameters"]["lang"]["schema"]["enum"] == ["en-US", "en"]
        assert '"profile"' not in body.decode()
