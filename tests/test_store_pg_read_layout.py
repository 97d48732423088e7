"""A PostGIS read gives the frame the GeoPackage read gives, for every role, when the layer's table holds
typed columns that its file did not give (the table has one for every catalogue field: 63 for the sites),
even when an outside editor (psql, QGIS) filled some of them: the frame holds the layer's own columns,
as the GeoPackage does, and the read selects only those (``postgis._in_layout``; a benchmark's figure,
not a test's: this file holds the answers equal before and after that change)."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import psycopg
import shapely
from geopandas.testing import assert_geodataframe_equal

from layers.store.base import Store
from layers.store.open import open_store
from layers.store.postgis import PostgisStore
from services.auth import Identity, read_layer


def _sites() -> gpd.GeoDataFrame:
    """Four sites in two areas with a restricted field and a column the catalogue does not know."""
    return gpd.GeoDataFrame({
        "site_id": ["S1", "S2", "S3", "S4"], "name": ["Alpha", None, "Gamma", "Delta"],
        "admin_area": ["North", "South", "North", None], "uses_mercury": [True, False, None, True],
        "informant_name": ["Ama", "Kofi", None, "Esi"], "local_code": ["a-1", None, "c-3", "d-4"],
    }, geometry=[shapely.Point(-1.99, 5.30), shapely.Point(-1.98, 5.31),
                 shapely.box(-1.97, 5.30, -1.96, 5.31), shapely.Point(-1.95, 5.32)], crs=4326)


def _stores(tmp_path: Path, pg_url: str) -> tuple[PostgisStore, Store]:
    gpkg, pg = open_store(tmp_path / "ws.gpkg"), PostgisStore(pg_url)
    for store in (gpkg, pg):
        store.write_layers([("mining_sites", _sites())], source="sites.csv")
    with psycopg.connect(pg_url, autocommit=True) as con:  # an outside edit of typed columns the file did not give
        con.execute("UPDATE mining_sites SET status = 'active', miners = 7, burning = 'open'")
    return pg, gpkg


def test_a_read_holds_the_layers_columns_not_the_tables(tmp_path: Path, pg_url: str) -> None:
    pg, gpkg = _stores(tmp_path, pg_url)
    whole = pg.read("mining_sites")
    assert list(whole.columns) == [*_sites().columns]
    assert_geodataframe_equal(whole, gpkg.read("mining_sites"), check_dtype=True)
    some = pg.read("mining_sites", columns=["name", "status", "local_code"])
    assert list(some.columns) == ["name", "local_code", "geometry"]
    assert_geodataframe_equal(some, gpkg.read("mining_sites", columns=["name", "status", "local_code"]),
                              check_dtype=True)


def test_every_role_reads_what_it_read_on_the_geopackage(tmp_path: Path, pg_url: str) -> None:
    pg, gpkg = _stores(tmp_path, pg_url)
    for role, areas in (("admin", ()), ("partner", ()), ("field", ("North",))):
        who = Identity(f"{role}-1", role, tuple(areas))
        on_pg, on_gpkg = read_layer(pg, "mining_sites", who), read_layer(gpkg, "mining_sites", who)
        assert "status" not in on_pg and "miners" not in on_pg
        assert_geodataframe_equal(on_pg, on_gpkg, check_dtype=True)
    field = read_layer(pg, "mining_sites", Identity("field-1", "field", ("North",)))
    assert field["informant_name"].tolist() == ["Ama", None, None, None]  # another area's value is never read
