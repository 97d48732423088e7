"""``runs(with_ids=False)``: the recorded runs without their violation ids (a recorded check needed only the
last run's id and counts for its audit row, and read its 1e5 ids too: 0.35-0.41 s at 1e6 sites on PostGIS,
HS's profile). Both stores: the same runs as ``runs()`` but the ids, and the audit row of a rule run still
names the run before it with its counts."""
from __future__ import annotations

import json

import geopandas as gpd
import shapely

from layers.store import audit as stored_audit
from layers.store.open import open_store
from services.hgwatch import HgWatch
from settings import Settings


def test_runs_without_ids_are_the_runs_less_their_ids(settings: Settings) -> None:
    store = open_store(settings.workspace, settings.database_url)
    sites = gpd.GeoDataFrame({"site_id": ["P1", "P2"], "uses_mercury": [True, True]},
                             geometry=[shapely.Point(0.0005, 0.0), shapely.Point(0.0004, 0.002)], crs=4326)
    water = gpd.GeoDataFrame({"water_id": ["W1"], "kind": ["river"]},
                             geometry=[shapely.LineString([(0.0, -0.01), (0.0, 0.01)])], crs=4326)
    store.write_layers([("mining_sites", sites), ("water_bodies", water)], source="test", replace_all=True)
    svc = HgWatch(settings)
    first = svc.check(only=["HG-WATER-100"])
    second = svc.check(only=["HG-WATER-100"])
    assert first.run_id is not None and second.run_id is not None
    whole, bare = svc.runs(2), svc.runs(2, with_ids=False)
    assert [r["run_id"] for r in whole] == [second.run_id, first.run_id]
    assert [len(r["violation_ids"]) for r in whole] == [2, 2]  # type: ignore[arg-type]
    assert bare == [{k: v for k, v in r.items() if k != "violation_ids"} for r in whole]
    trail = [r for r in stored_audit.rows(store) if r.action == "rule run"]
    assert json.loads(trail[-1].before) == {"run_id": first.run_id, "rules_hash": whole[1]["rules_hash"],
                                "counts": whole[1]["counts"]}
