"""Sign-in for the dashboard: who is asking, before any page draws anything.

``gate()`` runs first on every script run (``app.py``):

- While the store holds no account, the dashboard is in **local single-user mode**: it says so on
  every page, and it serves only on a loopback address (``server.address`` 127.0.0.1, ::1 or
  localhost, which ``.streamlit/config.toml`` sets). Asked to serve on any other address, every
  page shows only how to add an account.
- Once any account exists, a visitor who is not signed in gets only the sign-in form, at ``/``
  and at every page's address: no page link, map, table, figure or download. Signed in, the
  sidebar shows the name and role and a **Log out** button; the identity stays in the session
  while the user moves between pages.

Widgets only: the checks are ``services.auth``'s.
"""
from __future__ import annotations

import streamlit as st

from geo.errors import HgWatchError
from layers.store.base import Store
from layers.store.open import open_store
from services.auth import LOCAL, Identity, SignInError, authenticate, has_accounts
from settings import Settings

_KEY = "_hgw_identity"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
ADD_ACCOUNT = ("python cli.py users add NAME --role admin --password-stdin   "
               "(the password is one line on standard input)")


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


def _form(store: Store) -> None:
    st.title("HgWatch: sign in")
    with st.form("sign_in"):
        name = st.text_input("Username")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Log in")
    if submitted:
        try:
            st.session_state[_KEY] = authenticate(store, name.strip(), password)
        except SignInError as exc:
            st.error(str(exc))
        else:
            st.rerun()
    st.stop()


def gate() -> Identity:
    """The identity this run acts for; stops the run on the sign-in form (or the refusal)."""
    try:
        store = _store()
        accounts = has_accounts(store)
    except HgWatchError as exc:  # the sidebar explains an unreadable store; no account can exist there
        accounts, store = False, None
        st.session_state.pop(_KEY, None)
        if not loopback_only(st.get_option("server.address")):
            st.error(f"The store cannot be read, so no account can be checked: {exc}")
            st.stop()
    if not accounts:
        if store is not None and not loopback_only(st.get_option("server.address")):
            _refuse_network(store)
        st.session_state[_KEY] = LOCAL
        st.info("Local single-user mode: no account exists yet, so there is no sign-in and this dashboard "
                "serves this computer only (127.0.0.1). To share it, add an account: " + ADD_ACCOUNT)
        return LOCAL
    who = signed_in()
    if who is None or who == LOCAL:
        st.session_state.pop(_KEY, None)
        assert store is not None
        _form(store)
    assert who is not None
    return who


def account_box(who: Identity) -> None:
    """The signed-in user's name and role and the Log out button, in the sidebar."""
    if who == LOCAL:
        st.sidebar.caption("Local single-user mode (no accounts)")
        return
    st.sidebar.markdown(f"Signed in as **{who.name}** ({who.role})")
    if st.sidebar.button("Log out", key="log_out"):
        st.session_state.pop(_KEY, None)
        st.rerun()
