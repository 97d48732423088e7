"""A recorded check reads the same frames and records the same input hashes as at f18c300, on both
back ends (issue 13: the recorded re-run on a national workspace, faster reads and hashes).

The oracles are kept in the tests: the old GeoPackage read (pyogrio's feature-by-feature read, then
``coerce_types``), the old PostGIS read (the same SQL, its rows through the f18c300 ``pgframe.frame``:
``tests.test_pgframe_frame.reference``) and the old ``frame_hash`` (``tests.test_frame_hash.reference``).
A layer holds declared fields of every dtype (some with every value missing), undeclared columns of
every kind with missing values, unicode and blanks, and points, lines and polygons; Hypothesis varies
its values. ``check`` records the run; the stored input hashes must be the oracle's.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layers.catalogue import spec_for
from layers.io.coerce import coerce_types
from layers.store.base import Store
from layers.store.open import open_store
from layers.store.postgis import PostgisStore, _fetch
from services.checks import check, frame_hash
from settings import Settings
from tests.test_frame_hash import reference as old_hash
from tests.test_pgframe_frame import reference as old_frame
from tests.test_read_arrow import assert_same

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=5)


@pytest.fixture(params=["geopackage", "postgis"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(tmp_path / "ws.gpkg") if request.param == "geopackage" else str(request.getfixturevalue("pg_url"))


def old_read(store: Store, location: str, layer: str) -> gpd.GeoDataFrame:
    """``store.read(layer)`` as f18c300 made it."""
    spec = spec_for(layer)
    if not isinstance(store, PostgisStore):
        return coerce_types(pyogrio.read_dataframe(location, layer=layer), spec)
    with store._reading() as con:
        layout = store._layout(con, layer)
        typed = store._typed(con, layer)
        keys = [str(item[0]) for item in layout if item[0] not in typed]
        extra = "NULLIF(extra, '{}'::jsonb)" if keys else "NULL"
        names = "".join(f'"{c}", ' for c in typed)
        rows = _fetch(con, f'SELECT {names}{extra}, ST_AsBinary(geom) FROM "{layer}" ORDER BY fid')
    return old_frame(rows, layout, typed, spec)


@st.composite
def sites(draw: st.DrawFn) -> gpd.GeoDataFrame:
    n = draw(st.integers(1, 6))

    def values(element: st.SearchStrategy[object]) -> list[object]:
        return draw(st.lists(st.one_of(st.none(), element), min_size=n, max_size=n))

    return gpd.GeoDataFrame({
        "site_id": [f"S{k}" for k in range(n)],
        "name": values(TEXT), "uses_mercury": values(st.booleans()), "cyanide_leaching": [None] * n,
        "miners": values(st.integers(0, 10 ** 6)), "gold_kg_per_year": values(st.floats(0, 1e6)),
        "survey_date": values(st.dates().map(str)), "admin_area": values(st.sampled_from(["North", "Région é", " "])),
        "local_code": values(TEXT), "visits": draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n)),
        "score": values(st.floats(-1e3, 1e3)), "checked": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
    }, geometry=draw(st.lists(st.one_of(
        st.builds(shapely.Point, st.floats(-1, 1), st.floats(-1, 1)),
        st.just(shapely.box(0.1, 0.1, 0.2, 0.2))), min_size=n, max_size=n)), crs=4326)


WATER = gpd.GeoDataFrame({"water_id": ["W1", "W2", "W3"], "kind": ["river", None, "lake"], "note": ["é", "", None]},
                         geometry=[shapely.LineString([(0, 0), (0.0005, 0)]), shapely.LineString([(1, 1), (1, 1.5)]),
                                   shapely.box(2, 2, 2.1, 2.1)], crs=4326)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sites())
def test_a_recorded_check_reads_and_records_as_before(location: str, gdf: gpd.GeoDataFrame) -> None:
    store = open_store(location)
    store.write_layers([("mining_sites", gdf), ("water_bodies", WATER)], source="test", replace_all=True)
    for layer in ("mining_sites", "water_bodies"):
        before = old_read(store, location, layer)
        now = store.read(layer)
        assert_same(now, before)
        assert frame_hash(now) == old_hash(before)
    run = Settings(database_url=location) if location.startswith("postgresql") else Settings(workspace=Path(location))
    outcome = check(run, only=["HG-WATER-100"])
    stored = store.runs(limit=1)[0]["input_hashes"]
    assert stored == outcome.input_hashes == {layer: old_hash(old_read(store, location, layer))
                                              for layer in ("mining_sites", "water_bodies")}
