"""The real OSM places extract (/work/shared/data/ghana/osm_places_2019.geojson) keys each place by
``osm_node_id``: read as the residential areas' ``area_id`` (found walking the CLI on real data, where
its 7,249 places got generated ids ``osm_places_2019-<row>``, which change when the file is cut or
re-ordered)."""
from __future__ import annotations

import json

from layers.io.readers import load_layer
from tests.conftest import SHARED

PLACES = SHARED / "ghana" / "osm_places_2019.geojson"


def test_osm_node_ids_are_the_places_ids() -> None:
    loaded = load_layer(PLACES, "residential_areas")
    features = json.loads(PLACES.read_text())["features"]
    assert list(loaded.gdf["area_id"]) == [str(f["properties"]["osm_node_id"]) for f in features]
    assert not [p for p in loaded.warnings if p.kind == "generated"]
    assert loaded.gdf["area_id"].is_unique and len(loaded.gdf) == 7249
