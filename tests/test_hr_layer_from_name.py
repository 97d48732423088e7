"""The layer type read from the names the shared data's mining files carry (HR, session 19): the Peru
``gold_mining_points.geojson`` and ``dredge_mining_points.geojson`` (and a Spanish ``puntos_mineria.csv``)
were "cannot tell the layer type from the file name"; the river bank file is still read as water (its
note says why: tests/test_messages_walk.py)."""
from __future__ import annotations

import pytest

from layers.io.readers import infer_layer


@pytest.mark.parametrize(("name", "layer"), [
    ("gold_mining_points.geojson", "mining_sites"), ("dredge_mining_points.geojson", "mining_sites"),
    ("puntos_mineria.csv", "mining_sites"), ("riverbank_not_mining_points.geojson", "water_bodies"),
    ("gold_buyers.csv", None), ("export.csv", None),
])
def test_the_layer_a_name_says(name: str, layer: str | None) -> None:
    assert infer_layer(name) == layer
