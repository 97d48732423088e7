"""Sign-in for the dashboard: who is asking, before any page draws anything.

``gate()`` runs first on every script run (``app.py``):

- While the store holds no account, the dashboard is in **local single-user mode**: it says so on
  every page, and it serves only on a loopback address (``server.address`` 127.0.0.1, ::1 or
  localhost, which ``.streamlit/config.toml`` sets). Asked to serve on any other address, every
  page shows only how to add an account.
- Where the agency has an identity provider (Streamlit's ``[auth]`` section in
  ``.streamlit/secrets.toml``), the sign-in page offers **Log in with <provider>** (``st.login``)
  beside the password form, or instead of it (``$HGWATCH_SIGN_IN=idp``). The provider's claims
  (``st.user``) become an identity through ``services.oidc``; a user it gives no role is refused.
  With a provider, sign-in is required even while the store holds no account.
- Once any account exists (or a provider is configured), a visitor who is not signed in gets only the sign-in form, at ``/``
  and at every page's address: no page link, map, table, figure or download. Signed in, the
  sidebar shows the name and role and a **Log out** button; the identity stays in the session
  while the user moves between pages.

Widgets only: the checks are ``services.auth``'s.
"""
from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from geo.errors import HgWatchError
from layers.store.base import Store
from layers.store.open import open_store
from services import audit, oidc
from services.auth import LOCAL, Identity, SignInError, authenticate, current_identity, has_accounts
from settings import Settings
from settings.oidc import OidcSettings

_KEY = "_hgw_identity"
_VIA_IDP = "_hgw_via_idp"  # True when this session's identity came from the identity provider
_REFUSED_IDP = "_hgw_refused_idp"  # the provider's user was refused (audited once per session)
PASSWORD, IDP = "password", "identity provider"  # how a sign-in came (the audit trail's "via")
LOOPBACK = ("127.0.0.1", "::1", "localhost")
# what makes a name in bold Markdown a link, an image, code or other formatting (a name's "." and "@" stay as they are)
_MARKUP = re.compile(r"([\\`*_\[\]()<>!|~$:#])")
ADD_ACCOUNT = ("python cli.py users add NAME --role admin --password-stdin   "
               "(the password is one line on standard input)")


def providers() -> list[str]:
    """The identity providers of Streamlit's ``[auth]`` secrets section: the names of its
    sub-sections (``[auth.okta]``), ``[""]`` for a single unnamed provider, ``[]`` when there is none."""
    try:
        auth = st.secrets.get("auth")
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        return []
    if not isinstance(auth, Mapping) or not auth:
        return []
    named = [str(k) for k, v in auth.items() if isinstance(v, Mapping)]
    return named or [""]


def identity_from_user(user: Mapping[str, object], store: Store, config: OidcSettings) -> Identity | None:
    """The identity for ``st.user``'s claims (``user``): None while not logged in at the provider;
    ``SignInError`` when the provider's user gets no role here (``services.oidc``)."""
    if user.get("is_logged_in") is not True:
        return None
    return oidc.sign_in(store, {k: v for k, v in user.items() if k != "is_logged_in"}, config)


def _claimed_name(user: Mapping[str, object], config: OidcSettings) -> str:
    """The name the provider's user gives (its name claim), for the audit row of a refusal."""
    name = user.get(config.name_claim)
    return name.strip() if isinstance(name, str) and name.strip() else f"(no {config.name_claim!r} claim)"


def _store() -> Store:
    settings = Settings.from_env(None)
    return open_store(settings.workspace, settings.database_url)


def loopback_only(address: object) -> bool:
    """True when ``address`` (``server.address``) serves this computer only."""
    return str(address or "").strip().strip("[]") in LOOPBACK


def signed_in() -> Identity | None:
    """The identity of this session, if signed in (or in local single-user mode)."""
    who = st.session_state.get(_KEY)
    return who if isinstance(who, Identity) else None


def _refuse_network(store: Store) -> None:
    st.title("HgWatch")
    st.error("HgWatch will not serve on a network address while its store holds no account: anyone who "
             "can reach this address could read every restricted field. Add an account, then start it again:")
    st.code(ADD_ACCOUNT + f"\n# store: {store.path}", language=None)
    st.stop()


def _idp(store: Store, names: list[str]) -> OidcSettings | None:
    """The provider's sign-in: sets the session's identity when ``st.user`` maps to one, else offers
    a button per provider; returns the claim settings (None when they cannot be read)."""
    try:
        config = oidc.oidc_settings(Settings.from_env(None))
    except HgWatchError as exc:
        st.error(f"Sign-in through the identity provider is not available: {exc}")
        return None
    user = st.user.to_dict()
    try:
        who = identity_from_user(user, store, config)
    except SignInError as exc:
        if not st.session_state.get(_REFUSED_IDP):  # once per session, not on every rerun of the refusal
            audit.record_session(store, "sign in refused", _claimed_name(user, config), via=IDP, reason=str(exc))
            st.session_state[_REFUSED_IDP] = True
        st.error(str(exc))
        if st.button("Log out of the identity provider", key="idp_log_out"):
            st.logout()
        st.stop()
    if who is not None:
        audit.record_session(store, "sign in", who.name, via=IDP)
        st.session_state[_KEY] = who
        st.session_state[_VIA_IDP] = True
        st.rerun()
    for name in names:
        if st.button(f"Log in with {name or 'the identity provider'}", key=f"idp_{name}"):
            st.login(name or None)
    return config


def _form(store: Store, names: list[str]) -> None:
    st.title("HgWatch: sign in")
    config = _idp(store, names) if names else None
    if config is not None and config.sign_in == "idp":
        st.stop()
    with st.form("sign_in"):
        name = st.text_input("Username")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Log in")
    if submitted:
        try:
            st.session_state[_KEY] = authenticate(store, name.strip(), password)
            st.session_state[_VIA_IDP] = False
        except SignInError as exc:
            audit.record_session(store, "sign in refused", name.strip(), via=PASSWORD, reason=str(exc))
            st.error(str(exc))
        else:
            audit.record_session(store, "sign in", name.strip(), via=PASSWORD)
            st.rerun()
    st.stop()


def gate() -> Identity:
    """The identity this run acts for; stops the run on the sign-in form (or the refusal).
    Sign-in is required when any account exists or an identity provider is configured."""
    names = providers()
    try:
        store = _store()
        accounts = has_accounts(store)
    except HgWatchError as exc:  # the sidebar explains an unreadable store; no account can exist there
        accounts, store = False, None
        st.session_state.pop(_KEY, None)
        if names or not loopback_only(st.get_option("server.address")):
            st.error(f"The store cannot be read, so no account can be checked: {exc}")
            st.stop()
    if not accounts and not names:
        if store is not None and not loopback_only(st.get_option("server.address")):
            _refuse_network(store)
        st.session_state[_KEY] = LOCAL
        st.info("Local single-user mode: no account exists yet, so there is no sign-in and this dashboard "
                "serves this computer only (127.0.0.1). To share it, add an account: " + ADD_ACCOUNT)
        return LOCAL
    who = signed_in()
    if who is not None and who != LOCAL and store is not None:  # the account as it is now, on every rerun
        now = current_identity(store, who, via_provider=bool(st.session_state.get(_VIA_IDP)))
        if now is None:
            st.error(f"Account {who.name!r} is disabled or no longer exists: signed out.")
        st.session_state[_KEY] = who = now
    if who is None or who == LOCAL:
        st.session_state.pop(_KEY, None)
        assert store is not None
        _form(store, names)
    assert who is not None
    return who


def account_box(who: Identity) -> None:
    """The signed-in user's name and role and the Log out button, in the sidebar."""
    if who == LOCAL:
        st.sidebar.caption("Local single-user mode (no accounts)")
        return
    name = _MARKUP.sub(r"\\\1", who.name)  # a provider's name claim (any text) shows as text, never a link
    st.sidebar.markdown(f"Signed in as **{name}** ({who.role})")
    if st.sidebar.button("Log out", key="log_out"):
        st.session_state.pop(_KEY, None)
        via_idp = st.session_state.get(_VIA_IDP, False)
        with contextlib.suppress(HgWatchError):  # leaving never fails on an unwritable trail
            audit.record_session(_store(), "log out", who.name, via=IDP if via_idp else PASSWORD)
        if st.session_state.pop(_VIA_IDP, False):
            st.logout()  # also forgets the provider's cookie, then reruns
        st.rerun()
