"""A collection not served gets a 404 naming the collections served (pygeoapi: "Collection not
found"). The values of ``sortby`` and ``properties`` on the partner API: each name in them is checked, and a bad
one gets a 400 naming the parameter, the value and the properties the key may use (found walking the
API with a partner key on the real Peru points, HC2).

pygeoapi 0.21 answered ``sortby=status,`` (a trailing comma) with 500 (an IndexError reading the empty
name), and a name it does not know with "bad sort property" or "unknown properties specified": neither
the value nor what was expected. A real server (``python -m api``) on the planted store of
``tests.api_kit``; ``api.parameters.refusal`` is also checked without one."""
from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from api import parameters
from services.features import Served
from tests.api_kit import SECRET, Keys, fill, get, make_keys, open_location, serving

PARTNER_FIELDS = "admin_area, amalgamation, burning, miners, name, site_id, status, survey_date, uses_mercury"
ITEMS = parameters.Route("items", "mining_sites")


def _served(*fields: str) -> Served:
    return Served("mining_sites", "Mining sites", gpd.GeoDataFrame(geometry=[]), [],
                  {f: {"type": "string"} for f in fields}, None, [], None)


def test_refusal_names_each_bad_name_in_sortby_and_properties() -> None:
    served = [_served("status", "name", "site_id")]
    assert parameters.refusal(ITEMS, [("sortby", "-status,+name")], served) is None
    assert parameters.refusal(ITEMS, [("properties", "status,name")], served) is None
    said = parameters.refusal(ITEMS, [("sortby", "status,")], served)
    assert said == ("query parameters: sortby: name 2 of 2 is empty (a comma at the start or the end, or two"
                    " commas in a row); expected property names separated by commas, each with '-' before it for"
                    " descending order or '+' (%2B) for ascending, of: name, site_id, status.")
    said = parameters.refusal(ITEMS, [("properties", "status,stauts,zzz")], served)
    assert said == ("query parameters: properties: name 2 of 3 is not a property of mining_sites (did you mean"
                    " 'status'?); name 3 of 3 is not a property of mining_sites; expected property names separated"
                    " by commas, of: name, site_id, status.")
    said = parameters.refusal(ITEMS, [("sortby", " status")], served)  # ?sortby=+status: '+' is a space
    assert said is not None and "write %2Bstatus" in said
    # a bad name of the query and a bad value are named in one answer
    said = parameters.refusal(ITEMS, [("sortby", "zzz"), ("sttus", "active")], served)
    assert said is not None and "unknown parameter 'sttus'" in said and "sortby: name 1 of 1 is not a property" in said
    # queryables take properties= and check it the same way; sortby is no parameter of theirs
    queryables = parameters.Route("queryables", "mining_sites")
    said = parameters.refusal(queryables, [("properties", "zzz")], served)
    assert said is not None and "properties: name 1 of 1 is not a property of mining_sites" in said
    assert parameters.lists_names(ITEMS, [("sortby", "x")]) and not parameters.lists_names(queryables, [("f", "x")])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Keys]]:
    folder: Path = tmp_path_factory.mktemp("walk-api-values")
    location = str(folder / "ws.gpkg")
    store = fill(open_location(location))
    trade = gpd.GeoDataFrame({"record_id": ["T1"], "record_type": ["seizure"], "seller": [f"{SECRET}-seller"]},
                             geometry=[shapely.Point(-1.95, 5.3)], crs=4326)
    store.write_layer("mercury_trade", trade, source="trade.geojson")  # wholly restricted: never served to a partner
    keys = make_keys(location)
    with serving(location, folder) as url:
        yield url, keys


def _items(url: str, key: str, **query: str) -> tuple[int, dict[str, object]]:
    status, _, body = get(f"{url}/collections/mining_sites/items?{urllib.parse.urlencode(query)}", key)
    return status, json.loads(body)


@pytest.mark.parametrize(("value", "which"), [("status,", "2 of 2"), (",status", "1 of 2"), ("status,,name", "2 of 3"),
                                             ("-", "1 of 1"), ("+", "1 of 1")])
def test_an_empty_name_in_sortby_is_a_400_naming_it_not_a_500(served: tuple[str, Keys], value: str,
                                                                which: str) -> None:
    url, keys = served
    status, doc = _items(url, keys.partner, sortby=value)
    assert status == 400, doc
    assert doc["description"] == (
        f"query parameters: sortby: name {which} is empty (a comma at the start or the end, or two commas in a"
        " row); expected property names separated by commas, each with '-' before it for descending order or"
        f" '+' (%2B) for ascending, of: {PARTNER_FIELDS}.")


def test_an_unknown_or_restricted_name_is_named_with_what_the_key_may_use(served: tuple[str, Keys]) -> None:
    url, keys = served
    for parameter in ("sortby", "properties"):
        status, doc = _items(url, keys.partner, **{parameter: "status,informant_name"})
        assert status == 400
        said = str(doc["description"])
        assert f"{parameter}: name 2 of 2 is not a property of mining_sites" in said
        made_up = str(_items(url, keys.partner, **{parameter: "status,zzzzzzzzzzzzzz"})[1]["description"])
        assert said == made_up  # as a made-up name, and neither repeated
        assert said.endswith(f"of: {PARTNER_FIELDS}.") and SECRET not in said and "informant" not in said
    # the analyst's key may sort and select on the restricted field: no refusal
    status, doc = _items(url, keys.analyst, sortby="-informant_name", properties="informant_name")
    assert status == 200
    features = doc["features"]
    assert isinstance(features, list)
    assert [f["properties"] for f in features] == [{"informant_name": f"{SECRET}-sites-informant_name-{i}"}
                                                   for i in (2, 1, 0)]


def test_good_values_still_sort_and_select(served: tuple[str, Keys]) -> None:
    url, keys = served
    status, doc = _items(url, keys.partner, sortby="-miners", properties="miners,name")
    assert status == 200
    features = doc["features"]
    assert isinstance(features, list)
    assert [f["properties"] for f in features] == [{"miners": 40, "name": "${HOME} Gamma"},
                                                   {"miners": 12, "name": "Alpha"},
                                                   {"miners": 3, "name": "Beta <b>"}]


def test_a_collection_not_served_gets_those_served(served: tuple[str, Keys]) -> None:
    url, keys = served
    partner = ["case_counts", "mining_sites", "samples", "surfaces", "tailings", "violations", "water_bodies"]
    for path in ("/collections/minig_sites", "/collections/minig_sites/items", "/collections/minig_sites/items/S1",
                 "/collections/minig_sites/queryables", "/collections/mercury_trade/items"):
        status, _, body = get(url + path, keys.partner)
        assert (status, json.loads(body)) == (404, {"code": "NotFound", "description": (
            "the collection this path names is not served to this key (nor to any: not repeated); expected one of"
            f" {partner} (see /collections)")}), path
        assert SECRET.encode() not in body and b"mercury_trade" not in body
    status, _, body = get(url + "/collections/nope/items", keys.analyst)  # the API serves the layer to nobody
    assert status == 404 and f"expected one of {partner}" in json.loads(body)["description"]
    assert get(url + "/collections/mining_sites/items/S1", keys.partner)[0] == 200
