"""The partner API's collections follow the store's data, not only its layer table: a row edited in
place (by QGIS or the sqlite3 shell: the same rows, the same provenance) is served once the store
is read again, while the audit rows the API writes leave the collections as they were."""
from __future__ import annotations

import contextlib
import gc
import sqlite3
import weakref
from pathlib import Path

from layers.store import gpkg
from layers.store.workspace import Workspace
from services import audit, auth
from services.auth import Identity
from services.features import FeatureSource
from settings import Settings
from tests.api_kit import planted


def _source(tmp_path: Path) -> tuple[Workspace, FeatureSource]:
    ws = Workspace(tmp_path / "ws.gpkg")
    layers = planted()
    ws.write_layers([("mining_sites", layers["mining_sites"]), ("water_bodies", layers["water_bodies"])],
                    source="planted.geojson", licence="CC-BY-4.0")
    return ws, FeatureSource(Settings.from_env({}, workspace=ws.path), recheck_s=0.0)


def test_a_row_edited_in_place_is_served_and_audit_rows_change_nothing(tmp_path: Path) -> None:
    ws, source = _source(tmp_path)
    partner = Identity("unep", "partner")
    first = source.collections(partner)
    assert first["mining_sites"].frame.set_index("site_id").loc["S1", "name"] == "Alpha"
    auth.add_account(ws, "unep", "partner", "a long enough password")
    audit.record_outputs(ws, [("unep", "api request", "/collections/mining_sites/items", {"rows": 3})])
    assert source.collections(partner) is first  # bookkeeping: the same collections, not made again
    with contextlib.closing(sqlite3.connect(ws.path)) as con, con:  # an edit from outside HgWatch
        gpkg.register_functions(con)  # what GDAL's R-tree triggers call (QGIS and the spatialite shell have them)
        con.execute("UPDATE mining_sites SET name = 'Alpha (verified)' WHERE site_id = 'S1'")
    assert [i.rows for i in ws.layers()] == [3, 1]  # the layer table did not change
    again = source.collections(partner)
    assert again is not first
    assert again["mining_sites"].frame.set_index("site_id").loc["S1", "name"] == "Alpha (verified)"


def test_collections_made_before_a_change_are_let_go(tmp_path: Path) -> None:
    """Every copy made before a change stayed until eight were kept (H6, 2026-11-27: a long-running
    PostGIS API server peaked at 1.09 GB against 0.43 GB fresh; ~0.67 GB a copy at 1e6 sites)."""
    ws, source = _source(tmp_path)
    partner, analyst = Identity("unep", "partner"), Identity("ana", "analyst")
    old = [weakref.ref(source.collections(who)["mining_sites"].frame) for who in (partner, analyst)]
    assert all(r() is not None for r in old)
    with contextlib.closing(sqlite3.connect(ws.path)) as con, con:
        gpkg.register_functions(con)
        con.execute("UPDATE mining_sites SET name = 'Alpha (verified)' WHERE site_id = 'S1'")
    now = source.collections(partner)
    gc.collect()
    assert [r() for r in old] == [None, None]  # the partner's and the analyst's old copies are gone
    assert now["mining_sites"].frame.set_index("site_id").loc["S1", "name"] == "Alpha (verified)"
    assert source.collections(analyst)["mining_sites"].frame.set_index("site_id").loc["S1", "name"] == \
        "Alpha (verified)"
