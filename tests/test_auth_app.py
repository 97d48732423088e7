"""Sign-in in the dashboard (streamlit.testing AppTest, no browser): the local single-user mode
while no account exists, the refusal to serve a network address then, the sign-in form as the
only thing a visitor sees once an account exists, signing in and out, staying signed in across
pages, and what each role is offered (pages, export profiles, restricted columns)."""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from layers.store.open import open_store
from layers.store.workspace import DEFAULT_PATH
from services import auth

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PASSWORD = "correct horse"
PAGES = ["ui/pages/map.py", "ui/pages/violations.py", "ui/pages/provenance.py", "ui/pages/imports.py",
         "ui/pages/inventory.py", "ui/pages/overlays.py"]
pytestmark = pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")


@pytest.fixture()
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, path)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    monkeypatch.delenv("HGWATCH_DATABASE_URL", raising=False)
    return path


@pytest.fixture()
def address() -> Iterator[None]:
    """Restore ``server.address`` after a test that changed it."""
    before = config.get_option("server.address")
    yield
    config.set_option("server.address", before)


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def _texts(at: AppTest) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "info", "error", "caption", "title", "code")
                    for e in getattr(at, kind))


def _sign_in(at: AppTest, name: str, password: str) -> AppTest:
    [user, pw] = at.text_input
    user.input(name)
    pw.input(password)
    at.button[0].click()
    return _run(at)


def test_no_account_is_local_single_user_mode_on_every_page(ws: Path) -> None:
    at = _run(AppTest.from_file(APP, default_timeout=120))
    for page in PAGES:
        _run(at.switch_page(page))
        assert "Local single-user mode" in _texts(at), page
        assert not at.text_input or at.text_input[0].label != "Username"


@pytest.mark.usefixtures("address")
def test_no_account_on_a_network_address_is_refused(ws: Path) -> None:
    config.set_option("server.address", "0.0.0.0")
    at = _run(AppTest.from_file(APP, default_timeout=120))
    text = _texts(at)
    assert "will not serve on a network address" in text and "cli.py users add" in text
    assert not at.metric and not at.radio and not at.dataframe


def test_an_account_means_only_the_sign_in_form_on_every_address(ws: Path) -> None:
    auth.add_account(open_store(ws), "kofi", "analyst", PASSWORD)
    for page in PAGES:
        at = AppTest.from_file(APP, default_timeout=120)
        if page != PAGES[0]:
            at.switch_page(page)
        _run(at)
        assert [t.label for t in at.text_input] == ["Username", "Password"], page
        assert [b.label for b in at.button] == ["Log in"]
        assert not at.metric and not at.dataframe and not at.radio and not at.sidebar.multiselect
        assert "Local single-user mode" not in _texts(at)


def test_sign_in_stays_across_pages_then_log_out(ws: Path) -> None:
    auth.add_account(open_store(ws), "kofi", "analyst", PASSWORD)
    at = _run(AppTest.from_file(APP, default_timeout=120))
    _sign_in(at, "kofi", "wrong password")
    assert "wrong username or password" in _texts(at) and not at.metric
    _sign_in(at, "kofi", PASSWORD)
    assert "Signed in as **kofi** (analyst)" in _texts(at)
    assert [r.options for r in at.radio if r.label == "Export profile"] == [["internal", "partner", "public"]]
    for page in PAGES[1:]:
        _run(at.switch_page(page))
        assert "Signed in as **kofi** (analyst)" in _texts(at), page
        assert not at.text_input or at.text_input[0].label != "Username"
    at.sidebar.button(key="log_out").click()
    _run(at)
    assert [t.label for t in at.text_input] == ["Username", "Password"]


def test_a_partner_is_offered_no_internal_profile_and_reads_no_restricted_column(ws: Path) -> None:
    auth.add_account(open_store(ws), "pat", "partner", PASSWORD)
    at = _sign_in(_run(AppTest.from_file(APP, default_timeout=120)), "pat", PASSWORD)
    assert "Signed in as **pat** (partner)" in _texts(at)
    assert [r.options for r in at.radio if r.label == "Export profile"] == [["partner", "public"]]
    view = at.session_state["_hgw_view"]
    sites = view.service.frames()["mining_sites"]
    assert "informant_name" not in sites.columns and "informant_contact" not in sites.columns
    assert len(sites) > 0
    # the import page is not registered for a partner at all
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("ui/pages/imports.py")


def test_sign_ins_refusals_and_log_outs_are_in_the_audit_trail_without_the_password(ws: Path) -> None:
    from services import audit

    store = open_store(ws)
    auth.add_account(store, "kofi", "analyst", PASSWORD)
    at = _run(AppTest.from_file(APP, default_timeout=120))
    _sign_in(at, "kofi", "wrong password")
    _sign_in(at, "nobody\x07", "guess")  # an unknown name, with a control character typed in
    _sign_in(at, "kofi", PASSWORD)
    at.sidebar.button(key="log_out").click()
    _run(at)
    rows = [r for r in audit.trail(store) if r.action in ("sign in", "sign in refused", "log out")]
    assert [(r.who, r.action, r.target) for r in rows] == [
        ("kofi", "sign in refused", "kofi"), ("'nobody\\x07'", "sign in refused", "'nobody\\x07'"),
        ("kofi", "sign in", "kofi"), ("kofi", "log out", "kofi")]
    assert [json.loads(r.after) for r in rows] == [
        {"via": "password", "reason": "wrong username or password"},
        {"via": "password", "reason": "wrong username or password"}, {"via": "password"}, {"via": "password"}]
    assert audit.verify(store).ok
    assert not any(secret in (r.after or "") + r.target + r.who
                   for r in audit.trail(store) for secret in (PASSWORD, "wrong password", "guess"))
