"""The partner API's list of collections follows the store while the server runs (real server,
real imports through ``cli.py import``): a layer type imported after the service started is
listed, described in the OpenAPI document and served to a partner within seconds, without a
restart; a wholly restricted layer imported the same way is still never listed or served, and no
byte of it reaches the partner."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import shapely

from tests.api_kit import fill, get, new_key, open_location, run_cli, serving

TRADE_SECRET = "PLANTED-TRADE-7f3a"


def _eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60  # the server reads the store's layer table again every second
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


def _collections(url: str, key: str) -> list[str]:
    status, _, body = get(f"{url}/collections", key)
    assert status == 200, body[:300]
    return sorted(c["id"] for c in json.loads(body)["collections"])


def test_a_layer_type_imported_while_the_server_runs_is_listed_and_served_without_a_restart(tmp_path: Path) -> None:
    location = str(tmp_path / "ws.gpkg")
    fill(open_location(location))
    partner, analyst = new_key(location, "unep"), new_key(location, "ana")
    deposits = tmp_path / "deposits.geojson"
    gpd.GeoDataFrame({"deposit_id": ["D1", "D2"], "name": ["Ashanti belt <b>", "Placer"],
                      "deposit_type": ["hard_rock", "alluvial"]},
                     geometry=[shapely.Point(-1.97, 5.31), shapely.Point(-1.93, 5.29)], crs=4326).to_file(deposits)
    trade = tmp_path / "trade.geojson"
    gpd.GeoDataFrame({"record_id": ["M1"], "record_type": ["seizure"], "kg": [2.5], "seller": [TRADE_SECRET],
                      "place": [f"{TRADE_SECRET}-place"]},
                     geometry=[shapely.Point(-1.95, 5.30)], crs=4326).to_file(trade)
    with serving(location, tmp_path) as url:
        before = _collections(url, partner)
        assert "mining_sites" in before and "deposits" not in before
        assert run_cli(location, "import", str(deposits), "--layer", "deposits")[0] == 0
        assert run_cli(location, "import", str(trade), "--layer", "mercury_trade")[0] == 0
        _eventually(lambda: "deposits" in _collections(url, partner), "an imported layer type is listed")
        assert _collections(url, partner) == sorted([*before, "deposits"])  # the trade records: never
        status, _, body = get(f"{url}/collections/deposits/items", partner)
        assert status == 200, body[:300]
        items = json.loads(body)
        assert sorted(f["properties"]["deposit_id"] for f in items["features"]) == ["D1", "D2"]
        assert "Ashanti belt <b>" in {f["properties"]["name"] for f in items["features"]}
        status, _, body = get(f"{url}/openapi", partner)
        assert status == 200 and "/collections/deposits/items" in json.loads(body)["paths"]
        assert get(f"{url}/collections/deposits", partner)[0] == 200
        # a partner asking for the restricted layer by name gets a 404, and nothing of it anywhere
        paths = ["/", "/collections", "/openapi", "/collections/mercury_trade", "/collections/mercury_trade/items",
                 "/collections/mercury_trade/items/M1", "/collections/deposits/items"]
        for path in paths:
            status, headers, body = get(url + path, partner)
            assert TRADE_SECRET.encode() not in body + json.dumps(headers).encode(), path
            if status != 404:  # a 404 names what was asked for; nothing else may name the layer
                assert b"mercury_trade" not in body, path
        assert get(f"{url}/collections/mercury_trade/items", partner)[0] == 404
        # the analyst's list is the same service's: the new type is there for every role
        assert "deposits" in _collections(url, analyst)
