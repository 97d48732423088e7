"""API keys (issue 14) on both back ends: ``cli.py keys create NAME`` prints the key once, alone on
its last line; only its SHA-256 is stored (the key's bytes are nowhere in the store); it acts as
its account's role; revoking, disabling the account, a wrong or a malformed key all give no
identity; making and revoking keys is in the audit trail without the key or its hash."""
from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layers.store.open import open_store
from services import audit, auth, keys
from services.auth import Identity
from tests.api_kit import PASSWORD, new_key, run_cli


@pytest.fixture
def location(location: str) -> str:
    """A store with a layer and three accounts: a GeoPackage or a fresh PostGIS database (conftest's
    ``location``, filled)."""
    import geopandas as gpd
    import shapely

    store = open_store(location)
    store.write_layers([("water_bodies", gpd.GeoDataFrame({"water_id": ["R1"], "name": ["Bonsa"], "kind": ["river"]},
                                                          geometry=[shapely.LineString([(0, 0), (1, 0)])], crs=4326))],
                       source="t.geojson")
    auth.add_account(store, "unep", "partner", PASSWORD)
    auth.add_account(store, "ana", "analyst", PASSWORD)
    auth.add_account(store, "kofi", "field", PASSWORD, ["A"])
    return location


def _stored_bytes(location: str) -> bytes:
    if not location.startswith("postgresql"):
        return Path(location).read_bytes()
    with psycopg.connect(location) as con:
        rows = con.execute("SELECT key_hash, account, created_at, coalesce(revoked_at, '') FROM hgw_api_keys").fetchall()
        trail = con.execute("SELECT before::text, after::text FROM hgw_audit").fetchall()
    return repr(rows + trail).encode()


def test_a_key_is_printed_once_alone_on_the_last_line_and_only_its_hash_is_stored(location: str) -> None:
    code, out, _ = run_cli(location, "keys", "create", "unep")
    assert code == 0
    key = out.rstrip("\n").splitlines()[-1]
    assert key.startswith("hgw_") and len(key) == 47 and out.count(key) == 1
    digest = hashlib.sha256(key.encode()).hexdigest()
    stored = _stored_bytes(location)
    assert key.encode() not in stored and key[4:20].encode() not in stored
    assert digest.encode() in stored  # the hash is there (not vacuous)
    listed = run_cli(location, "keys", "list")[1]
    assert "unep" in listed and key not in listed and "valid" in listed
    store = open_store(location)
    assert keys.verify(store, key) == Identity("unep", "partner")
    rows = [r for r in audit.trail(store) if r.action.startswith("api key")]
    assert [(r.action, r.target) for r in rows] == [("api key create", "unep")]
    assert digest not in rows[0].after and key not in rows[0].after


def test_keys_act_as_their_account_role(location: str) -> None:
    store = open_store(location)
    assert keys.verify(store, new_key(location, "ana")) == Identity("ana", "analyst")
    assert keys.verify(store, new_key(location, "kofi")) == Identity("kofi", "field", ("A",))


def test_revoked_keys_keys_of_disabled_accounts_and_wrong_keys_give_no_identity(location: str) -> None:
    store = open_store(location)
    first, second = new_key(location, "unep"), new_key(location, "unep")
    other = new_key(location, "ana")
    code, out, _ = run_cli(location, "keys", "revoke", "unep")
    assert code == 0 and "revoked 2 keys" in out
    assert keys.verify(store, first) is None and keys.verify(store, second) is None
    assert keys.verify(store, other) == Identity("ana", "analyst")  # another account's key still works
    third = new_key(location, "unep")  # a new key after revoking works
    assert keys.verify(store, third) == Identity("unep", "partner")
    assert run_cli(location, "users", "disable", "ana")[0] == 0
    assert keys.verify(store, other) is None
    for wrong in (None, "", third[:-1], third + "x", third.upper(), "hgw_" + "A" * 43, "Bearer " + third, " " * 5):
        assert keys.verify(store, wrong) is None, wrong
    assert "revoked" in run_cli(location, "keys", "list")[1]


def test_keys_are_refused_for_unknown_and_disabled_accounts_and_only_an_admin_as_someone_may_make_them(
        location: str) -> None:
    code, _, err = run_cli(location, "keys", "create", "nobody")
    assert code == 2 and "'nobody' does not exist" in err and "Traceback" not in err
    assert run_cli(location, "users", "disable", "kofi")[0] == 0
    code, _, err = run_cli(location, "keys", "create", "kofi")
    assert code == 2 and "is disabled" in err
    code, _, err = run_cli(location, "--as", "ana", "keys", "create", "unep")
    assert code == 2 and "may not manage API keys" in err
    assert keys.listed(open_store(location)) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=80))
def test_no_made_up_key_is_accepted(tmp_path: Path, guess: str) -> None:
    """Whatever a caller sends, only a key that was made verifies (GeoPackage)."""
    where = tmp_path / "h.gpkg"
    if not where.exists():
        import geopandas as gpd
        import shapely

        store = open_store(where)
        store.write_layers([("water_bodies", gpd.GeoDataFrame({"water_id": ["R1"], "kind": ["river"]},
                                                              geometry=[shapely.Point(0, 0)], crs=4326))], source="t")
        auth.add_account(store, "unep", "partner", PASSWORD)
        keys.create(store, "unep")
    assert keys.verify(open_store(where), guess) is None
