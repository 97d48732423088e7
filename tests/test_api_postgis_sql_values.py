"""The partner API on a real PostGIS store, sent SQL-looking values where a client may put one.

Every filter of the API runs on the collection's frame in Python (``services.features.select``, pygeofilter's
evaluator) and a key is found by the SHA-256 of what was sent (``services.keys.verify``, one bound
parameter), so no value a client sends reaches PostgreSQL as SQL. This is checked from outside, as a
partner, on the real server (``python -m api``): quotes, comments and statements in an equality
parameter, in CQL2 text, in a feature id and in the key are read as plain text (a site whose name holds a
quote and a comment is matched by exactly that name and by nothing else), the tables are all still there
with their rows afterwards, and no answer holds a planted restricted value.

A quote inside a CQL2 text literal is written ``''`` or ``\\'`` (CQL2's escapeQuote). pygeoapi's parser
read neither: ``name = 'O''Brien pit'`` was "Bad CQL text" (400), so no site or place whose name holds an
apostrophe (N'Zerekore, Cote d'Ivoire) could be filtered on; the gate now hands such literals to the
provider beside the text (``api.app.cql_literals``).
"""
from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import psycopg

from api.app import cql_literals
from services import auth
from tests.api_kit import PASSWORD, SECRET, get, new_key, open_location, planted, serving

QUOTED = "O'Brien pit'; DROP TABLE mining_sites; --"  # a real name: the value must match it and nothing else
INJECTIONS = ("x' OR '1'='1", "x' OR 1=1 --", "'; DROP TABLE mining_sites; --", "S1' OR site_id <> '",
              "x\\ OR 1=1 /*", "1; SELECT pg_sleep(5)")


def _count(url: str, key: str, query: str) -> int:
    status, _, body = get(f"{url}/collections/mining_sites/items?{query}", key)
    assert status == 200, (query, body[:300])
    assert SECRET.encode() not in body
    return int(json.loads(body)["numberMatched"])


def _tables(location: str) -> dict[str, int]:
    with psycopg.connect(location) as con:
        return {name: int(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])  # type: ignore[index]
                for name in ("mining_sites", "water_bodies", "samples", "tailings", "hgw_api_keys", "hgw_accounts")}


def test_sql_looking_values_are_plain_text_to_a_partner_on_postgis(pg_url: str, tmp_path: Path) -> None:
    layers = planted()
    layers["mining_sites"].loc[1, "name"] = QUOTED
    store = open_location(pg_url)
    store.write_layers(list(layers.items()), source="planted.geojson", licence="CC-BY-4.0", accuracy_m=5.0)
    auth.add_account(store, "unep", "partner", PASSWORD)
    key = new_key(pg_url, "unep")
    before = _tables(pg_url)
    quote = urllib.parse.quote
    with serving(pg_url, tmp_path) as url:
        assert _count(url, key, "name=" + quote(QUOTED)) == 1
        for escaped in (QUOTED.replace("'", "''"), QUOTED.replace("'", "\\'")):
            assert _count(url, key, "filter=" + quote(f"name = '{escaped}'")) == 1, escaped
            assert _count(url, key, "filter=" + quote(f"name IN ('Alpha', '{escaped}') AND status <> 'x''y'")) == 2
            assert _count(url, key, "filter-lang=cql2-text&filter=" + quote(f"NOT name = '{escaped}'")) == 2
        assert _count(url, key, "filter=" + quote("name LIKE 'O''Brien%'")) == 1
        assert _count(url, key, "filter=" + quote("name LIKE 'O''Brien'")) == 0
        for value in INJECTIONS:
            assert _count(url, key, "name=" + quote(value)) == 0, value
            assert _count(url, key, "site_id=" + quote(value)) == 0, value
            assert _count(url, key, "filter=" + quote("name = '" + value.replace("'", "''") + "'")) == 0, value
            status, _, body = get(f"{url}/collections/mining_sites/items/{quote(value, safe='')}", key)
            assert status == 404 and SECRET.encode() not in body, (value, status)
            status, _, body = get(f"{url}/collections", value)  # as the key itself
            assert status == 401 and SECRET.encode() not in body, (value, status)
        unquoted = get(f"{url}/collections/mining_sites/items?filter=" + quote("name = 'x' OR 1=1 --'"), key)
        assert unquoted[0] == 400 and SECRET.encode() not in unquoted[2]  # not CQL2: refused, nothing read
        assert _count(url, key, "resulttype=hits") == 3  # the partner still reads every site
    assert _tables(pg_url) == before


def test_cql_literals_hands_over_only_literals_holding_a_quote() -> None:
    text, literals = cql_literals("\"a'b\" = 'x''y' AND c = 'plain' AND d = 'it\\'s'")
    assert list(literals.values()) == ["x'y", "it's"]
    first, second = literals
    assert text == f"\"a'b\" = '{first}' AND c = 'plain' AND d = '{second}'"
    assert cql_literals("name = 'plain'") == ("name = 'plain'", {})
    assert cql_literals("name = 'not closed''") == ("name = 'not closed''", {})


def test_a_filter_language_other_than_cql2_text_is_refused_naming_the_two_read(pg_url: str, tmp_path: Path) -> None:
    """pygeoapi parses a GET's ``filter`` as text whatever ``filter-lang`` says: right CQL2 JSON with
    ``filter-lang=cql2-json`` was 400 "Bad CQL text". The gate names what it reads instead."""
    store = open_location(pg_url)
    store.write_layers(list(planted().items()), source="planted.geojson")
    auth.add_account(store, "unep", "partner", PASSWORD)
    key = new_key(pg_url, "unep")
    cql_json = urllib.parse.quote(json.dumps({"op": "=", "args": [{"property": "site_id"}, "S1"]}))
    with serving(pg_url, tmp_path) as url:
        for lang in ("cql2-json", "cql-json", "sql"):
            status, _, body = get(f"{url}/collections/mining_sites/items?filter-lang={lang}&filter={cql_json}", key)
            assert status == 400, (lang, body)
            described = json.loads(body)["description"]
            assert described.startswith(f"filter-lang='{lang}': this service reads filter= as CQL2 text only"), described
            assert "expected one of: cql2-text, cql-text" in described
        for lang in ("cql2-text", "cql-text"):
            assert _count(url, key, f"filter-lang={lang}&filter=" + urllib.parse.quote("site_id = 'S1'")) == 1
