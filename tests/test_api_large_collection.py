"""A collection above ``MADE_AHEAD`` features makes the GeoJSON of each request from its rows
(``services.features.Served.features``): tried as an attacker on the real server, no planted restricted
value reaches a partner's key through that path either, in pages (plain, offset, bbox, property filter,
CQL2 filter, sortby) or single features, while an analyst's key gets them on the same requests."""
from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from services import auth
from services.features import MADE_AHEAD
from tests.api_kit import PASSWORD, SECRET, get, new_key, open_location, planted, serving


def large_sites() -> gpd.GeoDataFrame:
    """The planted sites and MADE_AHEAD more, every one with planted restricted values."""
    base = planted()["mining_sites"]
    n = MADE_AHEAD
    more = gpd.GeoDataFrame({
        "site_id": [f"L{i}" for i in range(n)], "name": [f"Large {i}" for i in range(n)],
        "status": np.where(np.arange(n) % 2 == 0, "active", "inactive"), "uses_mercury": np.ones(n, bool),
        "miners": np.arange(n) % 50, "admin_area": "A",
        **{c: [f"{SECRET}-large-{c}-{i}" for i in range(n)] for c in base.columns
           if str(c).startswith(("informant", "inspector", "local", "Enumerator", "interview"))}},
        geometry=shapely.points(-1.5 + (np.arange(n) % 500) * 1e-3, 5.0 + (np.arange(n) // 500) * 1e-3), crs=4326)
    return gpd.GeoDataFrame(pd.concat([base, more], ignore_index=True), crs=4326)


def test_pages_and_features_made_per_request_hold_no_planted_value_for_a_partner(tmp_path: Path) -> None:
    location = str(tmp_path / "ws.gpkg")
    store = open_location(location)
    store.write_layers([("mining_sites", large_sites()), ("water_bodies", planted()["water_bodies"])],
                       source="planted.geojson", licence="CC-BY-4.0", accuracy_m=5.0)
    auth.add_account(store, "unep", "partner", PASSWORD)
    auth.add_account(store, "ana", "analyst", PASSWORD)
    partner, analyst = new_key(location, "unep"), new_key(location, "ana")
    items = "/collections/mining_sites/items"
    cql = urllib.parse.quote("miners > 40 AND status = 'active'")
    paths = [f"{items}?limit=1000", f"{items}?limit=500&offset={MADE_AHEAD - 200}",
             f"{items}?bbox=-1.5,5.0,-1.45,5.01&limit=1000", f"{items}?status=inactive&limit=300",
             f"{items}?filter={cql}&limit=300", f"{items}?sortby=-miners&limit=300",
             f"{items}/S1", f"{items}/L{MADE_AHEAD - 1}", f"{items}/L7"]
    with serving(location, tmp_path) as url:
        for path in paths:
            status, _, body = get(url + path, partner)
            assert status == 200, (path, body[:300])
            doc = json.loads(body)
            features = doc.get("features", [doc])
            assert features and all(f["id"] for f in features), path  # not vacuous: features came back
            assert SECRET.encode() not in body, path
            assert not {"informant_name", "local_code"} & set(features[0]["properties"]), path
            status, _, seen = get(url + path, analyst)
            assert status == 200 and SECRET.encode() in seen, path  # the same request reads them for an analyst
        last = json.loads(get(f"{url}{items}/L{MADE_AHEAD - 1}", partner)[2])
        assert last["properties"]["name"] == f"Large {MADE_AHEAD - 1}"
        assert last["geometry"]["type"] == "Point"
