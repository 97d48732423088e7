"""A layer's feature ids (fid) on both back ends: a replacing write (a re-import of the same sites,
maybe in another order) keeps the fid of every id already stored, and a new row gets a fid above
every fid the layer ever had, so that a QGIS session opened before the import still edits by fid
the site it showed (tests/test_qgis.py does it with QGIS itself). The rows and fids are read from
the GeoPackage file and the PostgreSQL table themselves."""
from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layers.store.base import Store
from layers.store.open import open_store

POOL = ["S1", "S2", "S3", "S4", "S5", "S6"]


@pytest.fixture
def store(location: str) -> Store:  # ``location`` (tests/conftest.py): each test runs on GeoPackage and PostGIS
    return open_store(location)


def sites(ids: list[str | None], tag: str = "", **extra: list[object]) -> gpd.GeoDataFrame:
    """One point per id (its position and name derived from the id, so a row read back shows which site it is)."""
    def x(i: str | None) -> float:
        return -1.0 if i is None else -1.9 + int(i[1:]) / 100 if i[1:].isdigit() else -1.5
    return gpd.GeoDataFrame({"site_id": ids, "name": [f"{i}{tag}" for i in ids], **extra},
                            geometry=[shapely.Point(x(i), 5.3) for i in ids], crs=4326)


def fids(location: str) -> list[tuple[int, str | None]]:
    """(fid, site_id) of every stored site, read from the table itself, in fid order."""
    sql = "SELECT fid, site_id FROM mining_sites ORDER BY fid"
    if location.startswith("postgresql"):
        with psycopg.connect(location) as con:
            return [(int(f), i) for f, i in con.execute(sql)]
    with contextlib.closing(sqlite3.connect(f"{Path(location).as_uri()}?mode=ro", uri=True)) as con:
        return [(int(f), i) for f, i in con.execute(sql)]


def by_id(location: str) -> dict[str | None, int]:
    return {i: f for f, i in fids(location)}


def replace(store: Store, gdf: gpd.GeoDataFrame) -> None:
    store.write_layer("mining_sites", gdf, source="sites.geojson", replace_all=True)


def test_a_replace_with_the_same_sites_reordered_keeps_every_fid(store: Store, location: str) -> None:
    replace(store, sites(["S1", "S2", "S3"]))
    before = by_id(location)
    replace(store, sites(["S3", "S1", "S2"], " (new export)"))
    assert by_id(location) == before
    read = store.read("mining_sites").set_index("site_id")
    assert read.loc["S1", "name"] == "S1 (new export)" and read.loc["S3", "name"] == "S3 (new export)"
    assert read.loc["S3"].geometry.equals(sites(["S3"]).geometry.iloc[0])  # each row's values moved with its id


def test_a_removed_site_keeps_its_fid_retired_and_a_new_site_gets_a_fid_above_every_earlier_one(
        store: Store, location: str) -> None:
    replace(store, sites(["S1", "S2", "S3", "S4"]))
    before = by_id(location)
    replace(store, sites(["S2", "S1", "S3", "S5"]))  # S4 (the highest fid) gone, S5 new
    after = by_id(location)
    assert {i: after[i] for i in ("S1", "S2", "S3")} == {i: before[i] for i in ("S1", "S2", "S3")}
    assert "S4" not in after
    assert after["S5"] > max(before.values())  # not S4's fid: a stale QGIS editing S4 cannot reach S5
    replace(store, sites(["S1", "S2", "S3", "S4"]))  # S4 back: a new fid too
    again = by_id(location)
    assert again["S4"] > after["S5"] and again["S4"] != before["S4"]


def test_a_changed_id_and_a_row_without_id_get_new_fids(store: Store, location: str) -> None:
    replace(store, sites(["S1", "S2", "S3"]))
    before = by_id(location)
    replace(store, sites(["S1", "S2", "S33", None]))
    after = fids(location)
    assert {i: f for f, i in after if i in ("S1", "S2")} == {"S1": before["S1"], "S2": before["S2"]}
    new = [f for f, i in after if i in ("S33", None)]
    assert len(new) == 2 and min(new) > max(before.values())


def test_a_duplicated_id_keeps_its_fid_once(store: Store, location: str) -> None:
    replace(store, sites(["S1", "S2"]))
    before = by_id(location)
    replace(store, sites(["S2", "S1", "S2"]))
    after = fids(location)
    assert sorted(f for f, i in after if i == "S2")[0] == before["S2"]
    assert sorted(f for f, i in after if i == "S2")[1] > max(before.values())
    assert [f for f, i in after if i == "S1"] == [before["S1"]]


def test_a_chunked_replace_keeps_every_fid(store: Store, location: str) -> None:
    replace(store, sites(["S1", "S2", "S3", "S4"]))
    before = by_id(location)
    store.write_layer_chunks("mining_sites", iter([sites(["S4", "S2"]), sites(["S6", "S1"]), sites(["S3", "S2"])]),
                             source="sites.parquet", replace_all=True)
    after = fids(location)
    assert {i: min(f for f, j in after if j == i) for i in before} == before  # the first S2 keeps its fid
    new = sorted(f for f, i in after if f not in before.values())
    assert len(new) == 2 and new[0] > max(before.values())


def test_an_append_keeps_the_stored_fids_and_numbers_on_above_every_earlier_one(store: Store, location: str) -> None:
    replace(store, sites(["S1", "S2", "S3"]))
    first = by_id(location)
    replace(store, sites(["S1", "S2"]))  # S3, the highest fid, retired
    before = by_id(location)
    ever = max([*first.values(), *before.values()])
    # a column the stored layer lacks: the GeoPackage rewrites the layer with the new row after the stored ones
    store.write_layer("mining_sites", sites(["S4"], visits=[3]), source="more.geojson", append=True)
    after = by_id(location)
    assert {i: after[i] for i in before} == before
    assert after["S4"] > ever
    store.write_layer("mining_sites", sites(["S5"]), source="more.geojson", append=True)
    assert by_id(location)["S5"] > after["S4"]


HISTORY: dict[str, dict[int, str]] = {}  # per store: every fid the layer ever had, and its id
writes = st.lists(st.lists(st.sampled_from(POOL), min_size=1, max_size=len(POOL), unique=True),
                  min_size=1, max_size=4)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(writes, min_size=1, max_size=1))
def test_an_id_keeps_its_fid_while_stored_and_a_fid_never_goes_to_another_id(
        backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        history: list[list[list[str]]]) -> None:
    location = str(tmp_path_factory.mktemp("ws") / "ws.gpkg") if backend == "geopackage" else \
        str(request.getfixturevalue("pg_url"))
    store = open_store(location)
    owner = HISTORY.setdefault(location, {})  # the database lives across examples: its history counts too
    stored = by_id(location) if owner else {}
    for n, ids in enumerate(history[0]):
        highest = max(owner, default=0)
        replace(store, sites(list(ids), f"#{n}"))
        now = fids(location)
        assert sorted(i for _, i in now) == sorted(ids)
        for fid, i in now:
            assert i is not None
            if i in stored:
                assert fid == stored[i], (i, ids)  # kept for as long as it is stored
            else:
                assert fid > highest, (i, fid, highest)  # new: above every fid the layer ever had
            assert owner.setdefault(fid, i) == i  # never given to another id
        stored = {i: f for f, i in now}
        read = store.read("mining_sites")
        assert dict(zip(read["site_id"], read["name"])) == {i: f"{i}#{n}" for i in ids}
