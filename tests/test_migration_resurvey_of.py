"""Migration v0013: ``mining_sites.resurvey_of`` becomes a typed column, and a value an older HgWatch
kept in ``extra`` (the column of an imported file, undeclared then) moves into it, nothing else moving;
its downgrade puts the values back into ``extra``. The layer reads the same before and after."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import psycopg
from alembic import command
from alembic.config import Config
from shapely.geometry import Point

from layers.store.open import open_store
from layers.store.pgschema import MIGRATIONS, connect, head_revision, upgrade_schema


def _alembic(url: str, verb: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with connect(url) as con, con.begin():
        config.attributes["connection"] = con
        getattr(command, verb)(config, revision)


def _stored(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as owner:
        return owner.execute("SELECT site_id, extra FROM mining_sites ORDER BY fid").fetchall()


def test_downgrade_keeps_the_link_in_extra_and_upgrade_moves_it_into_its_column(pg_bare_url: str) -> None:
    upgrade_schema(pg_bare_url)
    sites = gpd.GeoDataFrame({"site_id": ["A", "B"], "resurvey_of": [None, "A"], "crew": ["7", "3"]},
                             geometry=[Point(-1.5, 5.5), Point(-1.4997, 5.5)], crs=4326)
    open_store(pg_bare_url).write_layers([("mining_sites", sites)], source="s.csv", licence="CC-BY-4.0")
    written = open_store(pg_bare_url).read("mining_sites")
    _alembic(pg_bare_url, "downgrade", "v0012_key_last_use")  # as an older HgWatch kept it: in extra
    assert _stored(pg_bare_url) == [("A", {"crew": "7"}), ("B", {"crew": "3", "resurvey_of": "A"})]
    assert upgrade_schema(pg_bare_url) == ("v0012_key_last_use", head_revision())
    with psycopg.connect(pg_bare_url) as owner:
        rows = owner.execute("SELECT site_id, resurvey_of, extra FROM mining_sites ORDER BY fid").fetchall()
    assert rows == [("A", None, {"crew": "7"}), ("B", "A", {"crew": "3"})]
    pd.testing.assert_frame_equal(open_store(pg_bare_url).read("mining_sites"), written)
    assert list(written["resurvey_of"].fillna("")) == ["", "A"]
