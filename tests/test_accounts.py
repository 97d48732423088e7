"""Accounts and the identity-aware read, on both back ends (the embedded GeoPackage and a real
PostGIS server, tests/postgis.py): Argon2 hashes only, refusals that change nothing, throttled
failures, and a partner's restricted columns never read from the store."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

from geo.errors import HgWatchError, InputError, WorkspaceError
from layers.store.accounts import accounts_for
from layers.store.base import Store
from layers.store.open import open_store
from services import auth
from services.auth import Identity

PASSWORD = "correct horse"


@pytest.fixture
def store(location: str, sites: gpd.GeoDataFrame) -> Store:
    """A store holding the ``sites`` layer (informant_name filled) and no account, on each back end."""
    opened = open_store(location)
    opened.write_layer("mining_sites", sites, source="sites.geojson")
    return opened


def test_an_account_is_stored_with_an_argon2_hash_only(store: Store) -> None:
    assert not auth.has_accounts(store)
    auth.add_account(store, "ama", "field", PASSWORD, areas=["Western"])
    [acc] = accounts_for(store).all()
    assert (acc.name, acc.role, acc.areas, acc.disabled) == ("ama", "field", ("Western",), False)
    assert acc.password_hash.startswith("$argon2id$") and PASSWORD not in acc.password_hash
    assert auth.has_accounts(store)
    assert auth.authenticate(store, "ama", PASSWORD) == Identity("ama", "field", ("Western",))


def test_refusals_change_nothing(store: Store) -> None:
    auth.add_account(store, "kofi", "analyst", PASSWORD)
    before = accounts_for(store).all()
    for bad in [("kofi", "analyst", PASSWORD, ()),  # taken
                ("kwame", "boss", PASSWORD, ()),  # no such role
                ("kwame", "analyst", "short", ()),  # too short
                ("kwame", "partner", PASSWORD, ("Western",)),  # areas on a partner
                ("kwame", "field", PASSWORD, ()),  # a field account without areas
                ("-x", "analyst", PASSWORD, ())]:  # looks like a flag
        with pytest.raises(HgWatchError):
            auth.add_account(store, *bad)
    assert accounts_for(store).all() == before


def test_wrong_passwords_are_counted_then_throttled(store: Store) -> None:
    auth.add_account(store, "kofi", "analyst", PASSWORD)
    t0 = 1_000_000.0
    for i in range(auth.FREE_FAILURES):
        with pytest.raises(auth.SignInError, match="wrong username or password"):
            auth.authenticate(store, "kofi", "nope", now=t0 + i)
    # the right password is refused too while the wait lasts: it is not even checked
    with pytest.raises(auth.SignInError, match="too many failed sign-ins; try again in 2 s"):
        auth.authenticate(store, "kofi", PASSWORD, now=t0 + auth.FREE_FAILURES - 1 + 0.5)
    assert auth.authenticate(store, "kofi", PASSWORD, now=t0 + 100).role == "analyst"
    assert accounts_for(store).get("kofi").failures == 0  # type: ignore[union-attr]


def test_unknown_names_are_throttled_and_answer_like_a_wrong_password() -> None:
    t0 = 2_000_000.0
    store = open_store("/nonexistent/ws.gpkg")
    for i in range(auth.FREE_FAILURES):
        with pytest.raises(auth.SignInError, match="^wrong username or password$"):
            auth.authenticate(store, "nobody-x", "pw", now=t0 + i)
    with pytest.raises(auth.SignInError, match="too many"):
        auth.authenticate(store, "nobody-x", "pw", now=t0 + auth.FREE_FAILURES)


def test_disable_set_role_and_passwd(store: Store) -> None:
    auth.add_account(store, "esi", "partner", PASSWORD)
    auth.set_role(store, "esi", "field", ["Ashanti", "Western"])
    assert auth.authenticate(store, "esi", PASSWORD).areas == ("Ashanti", "Western")
    auth.set_password(store, "esi", "another password")
    with pytest.raises(auth.SignInError):
        auth.authenticate(store, "esi", PASSWORD)
    assert auth.authenticate(store, "esi", "another password").name == "esi"
    auth.disable(store, "esi")
    with pytest.raises(auth.SignInError, match="disabled"):
        auth.authenticate(store, "esi", "another password")
    with pytest.raises(InputError, match="disabled"):
        auth.identity_of(store, "esi")
    with pytest.raises(InputError, match="does not exist"):
        auth.set_role(store, "ghost", "analyst")


def test_a_partner_reads_no_restricted_column_from_the_store(store: Store) -> None:
    partner = auth.read_layer(store, "mining_sites", Identity("p", "partner"))
    assert "informant_name" not in partner.columns and "local_code" not in partner.columns
    assert list(partner["name"]) == ["Alpha", "Beta <b>", "Gamma"]
    analyst = auth.read_layer(store, "mining_sites", Identity("a", "analyst"))
    assert list(analyst["informant_name"][:2]) == ["Ama", "Kofi"]
    # the store itself selects: asking for two columns gives exactly those
    two = store.read("mining_sites", columns=["site_id", "local_code"])
    assert list(two.columns) == ["site_id", "local_code", "geometry"]
    assert list(two["local_code"]) == ["a-1", "b-2", "c-3"]
    store.mark_shareable("mining_sites", ["local_code"])
    assert "local_code" in auth.read_layer(store, "mining_sites", Identity("p", "partner")).columns


def test_a_field_account_sees_restricted_values_in_its_areas_only(store: Store, sites: gpd.GeoDataFrame) -> None:
    sites = sites.assign(admin_area=["Western", "Ashanti", "Western"])
    store.write_layer("mining_sites", sites, source="sites.geojson")
    seen = auth.read_layer(store, "mining_sites", Identity("f", "field", ("Western",)))
    assert list(seen["informant_name"].where(seen["informant_name"].notna(), None)) == ["Ama", None, None]


def test_accounts_need_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="does not exist"):
        auth.add_account(open_store(tmp_path / "none.gpkg"), "kofi", "analyst", PASSWORD)
    assert not (tmp_path / "none.gpkg").exists()
