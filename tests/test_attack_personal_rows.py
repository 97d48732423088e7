"""A hair sample is one person's health record, and its point is where that person lives or works:
the row is restricted as a whole (``LayerSpec.personal_rows``), on a GeoPackage and on PostGIS.

Planted: two hair samples among the water samples of ``tests.api_kit``, one in admin area A, one
in area B, with values found nowhere else (``HAIRPERSON-...`` ids, a lab, an exact value, a place),
the second written ``HAIR `` as an outside editor might. Attacked as a partner (``unep``) and as a
field coordinator of area B (``kofi``) would: every byte of every download the dashboard offers
them (every layer, format and profile, the violations, the stand-alone map), of the partner API's
answers (the samples, one of them by id, a CQL2 filter on the medium, the surfaces, hits), of an
analyst's export under the ``partner`` and ``public`` profiles, and on PostGIS of a plain
``SELECT *`` as the database role ``hgw_partner``. Only the sample of area B may reach the field
coordinator, and only under ``internal``. The control: an analyst gets both, so the search is not
blind; and the water samples still reach the partner.
"""
from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import psycopg
import pytest
import shapely

from layers.store import pgroles
from services import auth
from services.hgwatch import HgWatch
from settings import Settings
from tests.api_kit import PASSWORD, fill, get, make_keys, new_key, open_location, planted, run_cli, serving
from tests.test_attack_downloads import _files as _downloads
from tests.test_map_tiles import needs_tippecanoe

MARKS = {1: (b"HAIRPERSON-1", b"LABAREAONE", b"71.4628", b"-1.9314"),  # area A
         2: (b"HAIRPERSON-2", b"LABAREATWO", b"83.5917", b"-1.9127")}  # area B
WATER = b"W1"


def _samples() -> gpd.GeoDataFrame:
    water = planted()["samples"]
    hair = gpd.GeoDataFrame({
        "sample_id": ["HAIRPERSON-1", "HAIRPERSON-2"], "medium": ["hair", "HAIR "], "hg": [71.4628, 83.5917],
        "unit": ["ug/g", "ug/g"], "sampled_on": ["2024-06-01", "2024-06-02"], "lab": ["LABAREAONE", "LABAREATWO"],
        "admin_area": ["A", "B"]},
        geometry=[shapely.Point(-1.9314, 5.3121), shapely.Point(-1.9127, 5.3233)], crs=4326)
    water = water.assign(admin_area=["A", "B"], lab=["Water lab", "Water lab"])
    return gpd.GeoDataFrame(pd.concat([water, hair], ignore_index=True), crs=4326)


@pytest.fixture
def store_at(location: str) -> Iterator[str]:
    store = fill(open_location(location))
    store.write_layers([("samples", _samples())], source="samples.geojson")
    auth.add_account(store, "kofi", "field", PASSWORD, ["B"])
    yield location


def _found(data: bytes) -> set[int]:
    """Which planted hair samples ``data`` shows anything of."""
    return {k for k, marks in MARKS.items() if any(m in data for m in marks)}


def _settings(location: str) -> Settings:
    return (Settings.from_env({}, database_url=location) if location.startswith("postgresql")
            else Settings.from_env({}, workspace=location))


def test_the_read_of_each_role(store_at: str) -> None:
    store = open_location(store_at)
    partner = auth.read_layer(store, "samples", auth.Identity("unep", "partner"))
    field = auth.read_layer(store, "samples", auth.Identity("kofi", "field", ("B",)))
    analyst = auth.read_layer(store, "samples", auth.Identity("ana", "analyst"))
    assert list(partner["sample_id"]) == ["W1", "W2"]
    assert list(field["sample_id"]) == ["W1", "W2", "HAIRPERSON-2"]
    assert field.loc[2, "lab"] == "LABAREATWO" and field.geometry.iloc[2].equals(shapely.Point(-1.9127, 5.3233))
    assert field.loc[0, "collector_name"] is None  # area A's water sample: its restricted columns empty
    assert str(field.loc[1, "collector_name"]).startswith("SECRET")  # area B's: whole
    assert list(analyst["sample_id"]) == ["W1", "W2", "HAIRPERSON-1", "HAIRPERSON-2"]
    assert list(field.index) == [0, 1, 2] and list(partner.index) == [0, 1]
    assert list(store.read("samples", shared_only=True)["sample_id"]) == ["W1", "W2"]  # the store's own filter
    assert list(store.read("samples", ["hg"], shared_only=True)["hg"]) == [8.0, 1.0]  # on a column not read


def test_every_download_of_a_partner_and_a_field_coordinator(store_at: str) -> None:
    settings = _settings(store_at)
    partner = _downloads(HgWatch(settings, auth.Identity("unep", "partner")))
    assert {n: _found(d) for n, d in partner.items() if _found(d)} == {}
    assert WATER in partner["samples.csv (partner)"]  # the water samples do reach it
    field = _downloads(HgWatch(settings, auth.Identity("kofi", "field", ("B",))))
    own = {n for n in field if n.endswith("(internal)") or n == "map.html"}  # what holds its own area's rows
    leaks = {n: _found(d) for n, d in field.items() if _found(d) - ({2} if n in own else set())}
    assert leaks == {}
    assert _found(field["samples.geojson (internal)"]) == {2} and _found(field["map.html"]) == {2}
    analyst = _downloads(HgWatch(settings, auth.Identity("ana", "analyst")))
    assert _found(analyst["samples.geojson (internal)"]) == _found(analyst["map.html"]) == {1, 2}  # the control
    assert _found(analyst["samples.geojson (partner)"]) == set() == _found(analyst["samples.csv (public)"])


def test_an_analysts_export_under_the_partner_and_public_profiles(store_at: str, tmp_path: Path) -> None:
    for profile, expected in (("partner", set()), ("public", set()), ("internal", {1, 2})):
        out = tmp_path / f"samples-{profile}.geojson"
        code, _, err = run_cli(store_at, "export", "samples", "--out", str(out), "--profile", profile)
        assert code == 0, err
        data = out.read_bytes()
        assert _found(data) == expected, profile
        assert WATER in data


def test_the_partner_api(store_at: str, tmp_path: Path) -> None:
    keys = make_keys(store_at)
    field_key = new_key(store_at, "kofi")
    paths = ["/collections/samples/items?limit=1000", "/collections/samples/items/HAIRPERSON-1",
             "/collections/samples/items/HAIRPERSON-2", "/collections/samples/items?resulttype=hits",
             "/collections/samples/items?filter=" + urllib.parse.quote("medium = 'hair'"),
             "/collections/samples/items?medium=hair", "/collections/samples/items?sortby=-hg",
             "/collections/surfaces/items?limit=100", "/collections/samples/items?f=jsonld"]
    with serving(store_at, tmp_path) as url:
        def received(key: str) -> dict[str, bytes]:
            out = {}
            for path in paths:
                status, headers, body = get(url + path, key)
                assert status < 500, (path, status, body[:300])
                out[path] = repr(headers).encode() + body
            return out

        partner = received(keys.partner)
        assert {p: _found(d) for p, d in partner.items() if _found(d)} == {}
        assert WATER in partner[paths[0]]
        assert b'"numberMatched":2' in partner[paths[3]].replace(b" ", b"")
        assert b'"hair"' not in partner[paths[7]]  # no surface of the hair samples either
        field = received(field_key)
        assert {p: _found(d) for p, d in field.items() if _found(d) - {2}} == {}
        assert _found(field[paths[0]]) == {2}
        analyst = received(keys.analyst)
        assert _found(analyst[paths[0]]) == {1, 2}  # the control


def test_postgresql_itself_keeps_them_from_the_partner_role(backend: str, store_at: str) -> None:
    if backend != "postgis":
        pytest.skip("a GeoPackage has no database roles: its partner read is tested above")
    with psycopg.connect(store_at) as con:
        con.execute(f"SET ROLE {pgroles.PARTNER}")
        rows = con.execute('SELECT * FROM partner.samples').fetchall()
        assert len(rows) == 2 and not _found(repr(rows).encode())
        con.execute("RESET ROLE")
        con.execute(f"SET ROLE {pgroles.FIELD}")
        con.execute("SELECT set_config('hgwatch.areas', '[\"A\"]', false)")
        assert not _found(repr(con.execute("SELECT * FROM partner.samples").fetchall()).encode())
        own = con.execute("SELECT sample_id FROM samples ORDER BY fid").fetchall()
        assert own == [("W1",), ("HAIRPERSON-1",)]  # the table, under its row policy: area A's rows


@needs_tippecanoe
def test_a_tiled_samples_layer_keeps_the_hair_samples_out_of_its_archive(tmp_path: Path) -> None:
    """Above the tile threshold the samples go into an archive in the static folder, which the server
    hands to anyone with its address: the hair samples an analyst sees are drawn as rows on its own
    page instead, and the archive is the one a partner's page names."""
    from render.map.mapview import MapOptions, build_map
    from render.map.tiles import PMTILES, TileStore

    samples = _samples()
    water = samples[samples["medium"] == "water"].reset_index(drop=True)
    for who, frame in (("analyst", samples), ("partner", water)):
        store = TileStore(tmp_path / who, "/app/static/tiles")
        html = build_map({"samples": frame}, options=MapOptions(tiles=store, tiles_above=1)).get_root().render()
        (bundle,) = [p for p in (tmp_path / who).iterdir() if not p.name.startswith(".")]
        archive = b"".join(p.read_bytes() for p in bundle.iterdir())
        assert b"PMTiles" in (bundle / PMTILES).read_bytes()[:7] and not _found(archive)
        assert _found(html.encode()) == ({1, 2} if who == "analyst" else set())  # drawn, as rows
        assert bundle.name in html
    assert {p.name for p in (tmp_path / "analyst").iterdir()} == {p.name for p in (tmp_path / "partner").iterdir()}
