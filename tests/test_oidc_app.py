"""Sign-in through an identity provider in the dashboard (streamlit.testing AppTest, no browser, no
network, no real provider): with Streamlit's [auth] secrets section the gate asks for sign-in even
while the store holds no account, offers 'Log in with <provider>' beside (or instead of) the password
form and shows no page content; a provider user (``AppTest.user`` seeds ``st.user``) whose claims map
to a role is signed in with it, one whose claims map to none is refused, and Log out calls st.logout.
The 'Log in with' button itself is not clicked: st.login redirects to the provider (and needs Authlib)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from layers.store.open import open_store
from layers.store.workspace import DEFAULT_PATH
from services import auth

APP = str(Path(__file__).resolve().parent.parent / "app.py")
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "not a real secret",
        "okta": {"client_id": "hgwatch", "client_secret": "not a real secret",
                 "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}}
pytestmark = pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")


@pytest.fixture()
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, path)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    monkeypatch.delenv("HGWATCH_DATABASE_URL", raising=False)
    monkeypatch.setenv("HGWATCH_OIDC_ROLE_CLAIM", "groups")
    monkeypatch.setenv("HGWATCH_OIDC_ROLES", "hg-admin=admin,hg-field=field")
    monkeypatch.setenv("HGWATCH_OIDC_AREAS_CLAIM", "areas")
    monkeypatch.delenv("HGWATCH_SIGN_IN", raising=False)
    return path


def _app(user: dict[str, Any], *, auth_section: bool = True) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if auth_section:
        at.secrets["auth"] = AUTH
    at.user = user
    at.run()
    assert not at.exception, at.exception
    return at


def _texts(at: AppTest) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "info", "error", "caption", "title", "code")
                    for e in getattr(at, kind))


def _no_content(at: AppTest) -> None:
    assert not at.metric and not at.dataframe and not at.radio and not at.sidebar.multiselect
    assert "Local single-user mode" not in _texts(at) and "Signed in as" not in _texts(at)


def test_a_provider_requires_sign_in_with_no_account_and_offers_its_button(ws: Path) -> None:
    at = _app({"is_logged_in": False})
    assert [b.label for b in at.button] == ["Log in with okta", "Log in"]
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    _no_content(at)


def test_idp_only_shows_no_password_form(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HGWATCH_SIGN_IN", "idp")
    auth.add_account(open_store(ws), "kofi", "analyst", "correct horse")
    at = _app({"is_logged_in": False})
    assert [b.label for b in at.button] == ["Log in with okta"]
    assert not at.text_input
    _no_content(at)


def test_without_a_provider_nothing_changes(ws: Path) -> None:
    at = _app({"is_logged_in": True, "email": "ana@agency.gov", "groups": ["hg-admin"]}, auth_section=False)
    assert "Local single-user mode" in _texts(at)
    assert not [b for b in at.button if b.label.startswith("Log in with")]


def test_a_mapped_provider_user_is_signed_in_then_logs_out(ws: Path) -> None:
    at = _app({"is_logged_in": True, "email": "ana@agency.gov", "groups": ["staff", "hg-admin"]})
    assert "Signed in as **ana@agency.gov** (admin)" in _texts(at)
    assert at.session_state["_hgw_identity"] == auth.Identity("ana@agency.gov", "admin")
    at.switch_page("ui/pages/audit.py").run()
    assert not at.exception and "Signed in as **ana@agency.gov** (admin)" in _texts(at)
    at.sidebar.button(key="log_out").click().run()
    assert not at.exception
    assert at.user.get("is_logged_in") is False  # st.logout forgot the provider's user
    assert [b.label for b in at.button] == ["Log in with okta", "Log in"]
    _no_content(at)


def test_a_field_coordinator_takes_the_areas_claim(ws: Path) -> None:
    at = _app({"is_logged_in": True, "email": "fe@agency.gov", "groups": ["hg-field"], "areas": ["Ashanti"]})
    assert at.session_state["_hgw_identity"] == auth.Identity("fe@agency.gov", "field", ("Ashanti",))


@pytest.mark.parametrize(("user", "says"), [
    ({"is_logged_in": True, "email": "x@agency.gov", "groups": ["staff"]}, "'x@agency.gov' has no HgWatch role"),
    ({"is_logged_in": True, "email": "fe@agency.gov", "groups": ["hg-field"]}, "names no admin area"),
])
def test_a_provider_user_without_a_mapped_role_is_refused(ws: Path, user: dict[str, Any], says: str) -> None:
    at = _app(user)
    assert says in _texts(at)
    assert [b.label for b in at.button] == ["Log out of the identity provider"]
    _no_content(at)


def test_a_disabled_local_account_blocks_the_provider_user(ws: Path) -> None:
    store = open_store(ws)
    auth.add_account(store, "ana@agency.gov", "analyst", "correct horse")
    auth.disable(store, "ana@agency.gov")
    at = _app({"is_logged_in": True, "email": "ana@agency.gov", "groups": ["hg-admin"]})
    assert "account 'ana@agency.gov' is disabled" in _texts(at)
    _no_content(at)


def test_provider_sign_ins_and_refusals_are_audited_once_per_session(ws: Path) -> None:
    from services import audit

    at = _app({"is_logged_in": True, "email": "x@agency.gov", "groups": ["staff"]})
    at.run()  # the refusal shown again on a rerun is not a second attempt
    at = _app({"is_logged_in": True, "email": "ana@agency.gov", "groups": ["hg-admin"]})
    at.switch_page("ui/pages/audit.py").run()
    at.sidebar.button(key="log_out").click().run()
    assert not at.exception
    rows = [(r.who, r.action, json.loads(r.after or "{}")) for r in audit.trail(open_store(ws))
            if r.action in ("sign in", "sign in refused", "log out")]
    assert rows == [
        ("x@agency.gov", "sign in refused", {"via": "identity provider", "reason": (
            "'x@agency.gov' has no HgWatch role: none of the values of claim 'groups' (['staff']) is mapped to a role;"
            " ask an administrator")}),
        ("ana@agency.gov", "sign in", {"via": "identity provider"}),
        ("ana@agency.gov", "log out", {"via": "identity provider"})]
