"""Sign-in through an identity provider: the claim settings (settings.oidc) and the pure mapping of
the provider's claims to an identity (services.oidc), including garbage claims (Hypothesis)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.errors import ConfigError
from layers.store.base import Store
from layers.store.open import open_store
from layers.store.workspace import DEFAULT_PATH
from services import auth, oidc
from services.auth import ROLES, Identity
from services.oidc import OidcRefused, identity_from_claims, sign_in
from settings import Settings
from settings.oidc import OidcSettings, parse_oidc

CONFIG = OidcSettings(role_claim="groups", roles={"hg-admin": "admin", "hg-field": "field", "hg-partner": "partner",
                                                  "hg-analyst": "analyst"},
                      areas_claim="areas", name_claim="email")


def test_settings_from_the_environment() -> None:
    env = {"HGWATCH_OIDC_ROLE_CLAIM": "groups", "HGWATCH_OIDC_ROLES": "hg-admin=admin, hg-field=field",
           "HGWATCH_OIDC_AREAS_CLAIM": "areas", "HGWATCH_SIGN_IN": "idp", "OTHER": "x"}
    config = oidc.oidc_settings(Settings.from_env(env))
    assert config == OidcSettings("groups", {"hg-admin": "admin", "hg-field": "field"}, "areas", "email", "idp")
    assert oidc.oidc_settings(Settings.from_env({})) == OidcSettings()


@pytest.mark.parametrize(("env", "says"), [
    ({"HGWATCH_OIDC_ROLES": "hg-admin=boss"}, "'hg-admin=boss' is not VALUE=ROLE"),
    ({"HGWATCH_OIDC_ROLES": "hg-admin"}, "'hg-admin' is not VALUE=ROLE"),
    ({"HGWATCH_OIDC_ROLES": "=admin"}, "'=admin' is not VALUE=ROLE"),
    ({"HGWATCH_OIDC_ROLES": "g=admin,g=partner"}, "claim value 'g' is given two roles, 'admin' and 'partner'"),
    ({"HGWATCH_SIGN_IN": "password"}, "$HGWATCH_SIGN_IN: 'password' is not one of: both, idp"),
])
def test_a_bad_setting_names_the_variable_the_value_and_what_is_expected(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_oidc(env, tuple(ROLES))
    assert says in str(err.value)


@pytest.mark.parametrize(("claims", "expected"), [
    ({"email": "ana@agency.gov", "groups": ["staff", "hg-admin"]}, Identity("ana@agency.gov", "admin")),
    ({"email": "ana@agency.gov", "groups": "hg-analyst"}, Identity("ana@agency.gov", "analyst")),
    ({"email": " pat@ngo.org ", "groups": ["hg-partner"], "areas": ["A"]}, Identity("pat@ngo.org", "partner")),
    ({"email": "fe@agency.gov", "groups": ["hg-field"], "areas": ["Ashanti", "Western"]},
     Identity("fe@agency.gov", "field", ("Ashanti", "Western"))),
    ({"email": "fe@agency.gov", "groups": ["hg-field"], "areas": "Ashanti, Western,Ashanti"},
     Identity("fe@agency.gov", "field", ("Ashanti", "Western"))),
])
def test_claims_map_to_the_configured_role(claims: dict[str, object], expected: Identity) -> None:
    assert identity_from_claims(claims, CONFIG) == expected


@pytest.mark.parametrize(("claims", "says"), [
    ({"email": "x@a.gov", "groups": ["staff"]}, "'x@a.gov' has no HgWatch role: none of the values of claim 'groups'"),
    ({"email": "x@a.gov"}, "has no HgWatch role"),
    ({"email": "x@a.gov", "groups": 7}, "has no HgWatch role"),
    ({"email": "x@a.gov", "groups": ["hg-admin", "hg-partner"]}, "more than one HgWatch role (['admin', 'partner'])"),
    ({"email": "x@a.gov", "groups": ["hg-field"]}, "is a field coordinator but the claim 'areas' names no admin area"),
    ({"email": "x@a.gov", "groups": ["hg-field"], "areas": [" ", 3]}, "names no admin area"),
    ({"groups": ["hg-admin"]}, "no usable 'email' claim"),
    ({"email": "", "groups": ["hg-admin"]}, "no usable 'email' claim"),
    ({"email": ["a@b"], "groups": ["hg-admin"]}, "no usable 'email' claim"),
    ({"email": "a\nb", "groups": ["hg-admin"]}, "no usable 'email' claim"),
])
def test_no_mapped_role_is_refused_never_defaulted(claims: dict[str, object], says: str) -> None:
    with pytest.raises(OidcRefused) as err:
        identity_from_claims(claims, CONFIG)
    assert says in str(err.value)


def test_without_a_role_claim_setting_nobody_gets_in() -> None:
    with pytest.raises(OidcRefused, match="HGWATCH_OIDC_ROLE_CLAIM is not set"):
        identity_from_claims({"email": "a@b", "groups": ["hg-admin"]}, OidcSettings(roles={"hg-admin": "admin"}))


def test_the_name_claim_is_configurable() -> None:
    config = OidcSettings(role_claim="roles", roles={"r": "analyst"}, name_claim="preferred_username")
    assert identity_from_claims({"preferred_username": "kofi", "email": "k@a", "roles": ["r"]}, config) == \
        Identity("kofi", "analyst")


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                     max_leaves=8)
_KEYS = st.sampled_from(["email", "groups", "areas", "name", "sub"]) | st.text(max_size=6)
_VALUES = st.sampled_from(["hg-admin", "hg-field", "hg-partner", "hg-analyst", "staff", "A,B"]) | _JSON


@settings(max_examples=300, deadline=None)
@given(claims=st.dictionaries(_KEYS, _VALUES | st.lists(_VALUES, max_size=4), max_size=6))
def test_garbage_claims_give_a_mapped_role_or_the_refusal(claims: dict[str, object]) -> None:
    try:
        who = identity_from_claims(claims, CONFIG)
    except OidcRefused:
        return
    assert who.role in CONFIG.roles.values()
    values = claims["groups"] if isinstance(claims["groups"], list) else [claims["groups"]]
    assert [CONFIG.roles[v] for v in values if isinstance(v, str) and v in CONFIG.roles][0] == who.role
    assert who.name == str(claims["email"]).strip() and who.name
    assert (who.role == "field") == bool(who.areas)


@pytest.fixture(params=["geopackage", "postgis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A store on each back end: a copy of the demo GeoPackage, or a fresh database."""
    if request.param == "geopackage":
        if not DEFAULT_PATH.exists():
            pytest.skip("demo workspace missing (make install builds it)")
        shutil.copyfile(DEFAULT_PATH, tmp_path / "ws.gpkg")
        return open_store(tmp_path / "ws.gpkg")
    return open_store(str(request.getfixturevalue("pg_url")))


def test_a_disabled_local_account_of_the_same_name_blocks_the_provider(store: Store) -> None:
    claims = {"email": "ana@agency.gov", "groups": ["hg-admin"]}
    assert sign_in(store, claims, CONFIG) == Identity("ana@agency.gov", "admin")  # no local account: the IdP decides
    auth.add_account(store, "ana@agency.gov", "partner", "long enough password")
    assert sign_in(store, claims, CONFIG) == Identity("ana@agency.gov", "admin")  # enabled: the provider's role
    auth.disable(store, "ana@agency.gov")
    with pytest.raises(OidcRefused, match="account 'ana@agency.gov' is disabled"):
        sign_in(store, claims, CONFIG)
