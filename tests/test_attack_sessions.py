"""An open dashboard session after its account changes (streamlit.testing AppTest, no browser).

An attacker's road: an analyst (or a field coordinator) who is demoted, narrowed to fewer admin
areas or disabled keeps a signed-in tab open. The session must read as the account is *now* from
its next rerun: the planted restricted values (``MARK``) in no answer of a demoted or narrowed
session, a disabled one back on the sign-in form. The same session before the change holds them
(the control: the search is not blind). The partner API re-checks keys the same way
(``tests/test_attack_api.py``)."""
from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo.errors import HgWatchError
from layers.store.open import open_store
from layers.store.workspace import DEFAULT_PATH, Workspace
from services import auth, cases, dossier, oidc
from services.hgwatch import HgWatch, Query
from services.view import Filters
from settings import Settings
from settings.oidc import OidcSettings
from tests.api_kit import SECRET, fill, run_cli

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PASSWORD = "correct horse"
MARK = "PLANTEDSECRET"
OIDC = OidcSettings(role_claim="groups", roles={"hg-analyst": "analyst"}, name_claim="email")
pytestmark = pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")


@pytest.fixture()
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the demo whose sites carry ``MARK-<admin area>-<field>-<row>`` in every restricted field."""
    path = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, path)
    store = Workspace(path)
    sites = store.read("mining_sites")
    for name in ("informant_name", "informant_contact", "inspector_name"):
        sites[name] = [f"{MARK}-{a}-{name}-{i}" for i, a in enumerate(sites["admin_area"])]
    store.write_layer("mining_sites", sites, source="sites with planted values", replace_all=True)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    monkeypatch.delenv("HGWATCH_DATABASE_URL", raising=False)
    return path


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def _texts(at: AppTest) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "info", "error", "caption", "title")
                    for e in getattr(at, kind))


def _signed_in(name: str) -> AppTest:
    at = _run(AppTest.from_file(APP, default_timeout=120))
    [user, pw] = at.text_input
    user.input(name)
    pw.input(PASSWORD)
    at.button[0].click()
    return _run(at)


def _planted(at: AppTest) -> set[str]:
    """The planted values in the session's answers: every frame of its service and its view."""
    view = at.session_state["_hgw_view"]
    frames = [*view.service.frames().values(), *view.frames.values(), view.violations]
    return {str(v) for f in frames for c in f.columns if c != "geometry"
            for v in pd.Series(f[c]).tolist() if MARK in str(v)}


def test_a_demoted_analyst_session_reads_as_a_partner_from_its_next_rerun(ws: Path) -> None:
    store = open_store(ws)
    auth.add_account(store, "kofi", "analyst", PASSWORD)
    at = _signed_in("kofi")
    assert "Signed in as **kofi** (analyst)" in _texts(at)
    assert len(_planted(at)) == 3 * 150  # the control: the analyst's session holds every planted value
    auth.set_role(store, "kofi", "partner")
    _run(at)
    assert _planted(at) == set()
    assert "Signed in as **kofi** (partner)" in _texts(at)
    assert [r.options for r in at.radio if r.label == "Export profile"] == [["partner", "public"]]


def test_a_narrowed_field_session_reads_only_its_remaining_area_from_its_next_rerun(ws: Path) -> None:
    store = open_store(ws)
    auth.add_account(store, "ama", "field", PASSWORD, ["DEMO North", "DEMO South"])
    at = _signed_in("ama")
    assert {v.split("-")[1] for v in _planted(at)} == {"DEMO North", "DEMO South"}
    auth.set_role(store, "ama", "field", ["DEMO North"])
    _run(at)
    assert {v.split("-")[1] for v in _planted(at)} == {"DEMO North"}


def test_a_disabled_account_session_is_back_on_the_sign_in_form(ws: Path) -> None:
    store = open_store(ws)
    auth.add_account(store, "kofi", "analyst", PASSWORD)
    at = _signed_in("kofi")
    assert _planted(at)
    auth.disable(store, "kofi")
    _run(at)
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert not at.metric and not at.dataframe and "Signed in as" not in _texts(at)
    assert "kofi" in _texts(at) and "disabled" in _texts(at)  # says why


def test_a_session_identity_is_the_account_as_it_is_now_on_either_back_end(location: str) -> None:
    """``auth.current_identity`` on GeoPackage and PostGIS: the role and areas of now; None once the
    account is disabled; a provider's session keeps its claims' role until a local account of its
    name is disabled (one that never existed changes nothing)."""
    store = open_store(location)
    store.write_layers([("mining_sites", Workspace(DEFAULT_PATH).read("mining_sites").head(2))], source="demo")
    auth.add_account(store, "kofi", "analyst", PASSWORD)
    signed = auth.Identity("kofi", "analyst")
    assert auth.current_identity(store, signed) == signed
    auth.set_role(store, "kofi", "field", ["A", "B"])
    assert auth.current_identity(store, signed) == auth.Identity("kofi", "field", ("A", "B"))
    auth.set_role(store, "kofi", "partner")
    assert auth.current_identity(store, signed) == auth.Identity("kofi", "partner")
    claimed = auth.Identity("kofi", "analyst")  # what the provider's claims gave
    assert auth.current_identity(store, claimed, via_provider=True) == claimed
    assert auth.current_identity(store, auth.Identity("ext@agency", "analyst"), via_provider=True) is not None
    assert auth.current_identity(store, auth.Identity("ext@agency", "analyst")) is None  # no such local account
    auth.disable(store, "kofi")
    assert auth.current_identity(store, signed) is None
    assert auth.current_identity(store, claimed, via_provider=True) is None


PAGES = ["ui/pages/map.py", "ui/pages/violations.py", "ui/pages/provenance.py", "ui/pages/inventory.py",
         "ui/pages/overlays.py", "ui/pages/registers.py"]


def _shown(at: AppTest) -> str:
    """Everything the pages put on screen: every element's value (tables whole), and the session's answers."""
    parts = [str(_planted(at))]
    for kind in ("markdown", "caption", "info", "warning", "error", "metric", "json", "text", "code", "title",
                 "subheader", "header", "selectbox", "multiselect", "radio", "expander", "tabs"):
        for element in getattr(at, kind, []):
            parts.append(repr(getattr(element, "value", element)))
    for kind in ("dataframe", "table"):
        for element in getattr(at, kind, []):
            parts.append(element.value.astype(str).to_csv())
    return "\n".join(parts)


def test_a_partner_session_right_after_an_analysts_on_every_page_shows_none_of_its_answers(ws: Path) -> None:
    """The dashboard's answers are shared by sessions of one view (``HgWatch.shared``); an analyst's
    tour of every page fills them, then a partner's tour in the same process shows no planted value."""
    store = open_store(ws)
    auth.add_account(store, "ana", "analyst", PASSWORD)
    auth.add_account(store, "pat", "partner", PASSWORD)
    tours = {}
    for name in ("ana", "pat"):
        at = _signed_in(name)
        shown = [_shown(at)]
        for page in PAGES:
            shown.append(_shown(_run(at.switch_page(page))))
        tours[name] = "\n".join(shown)
    assert tours["ana"].count(MARK) >= 3 * 150  # the control: the analyst's pages and answers hold them
    assert MARK not in tours["pat"]
    first = Workspace(ws).read("mining_sites")["site_id"].iloc[0]
    assert first in tours["pat"]  # the partner's tour shows its own data
    assert "Signed in as **pat** (partner)" in tours["pat"]


def test_a_download_drawn_before_its_account_was_disabled_exports_nothing(location: str) -> None:
    """A download button runs its export on a thread of its own with the service of the page that
    drew it (no rerun, so no sign-in check): once the account is disabled, that export (sites,
    violations, a case dossier) is refused, on either back end. Before, the same buttons give the
    restricted values and the dossier (the control)."""

    store = fill(open_store(location))  # analyst "ana" among its accounts
    settings = (Settings.from_env({}, database_url=location) if location.startswith("postgresql")
                else Settings.from_env({}, workspace=location))
    assert run_cli(location, "check")[0] == 0  # a recorded run: a case per violation, so a dossier
    ana = auth.Identity("ana", "analyst")
    drawn = HgWatch(settings, ana)  # the service a page drew its buttons with
    sites = partial(drawn.layer_file, Filters(), "mining_sites", "geojson", "internal")
    violations = partial(drawn.violations_file, Query(), "csv", "internal")
    listed = cases.list_cases(store, ana)
    case = str(listed.loc[listed["site_id"] == "S1", "violation_id"].iloc[0])
    dossier_html = partial(dossier.dossier_file, store, ana, settings, case, ".html")
    assert SECRET.encode() in sites() and violations() and b"Case dossier: HG-WATER-100 at S1 Alpha" in dossier_html()
    auth.disable(store, "ana")
    for button in (sites, violations, dossier_html):
        with pytest.raises(HgWatchError, match="'ana' is disabled: nothing is exported"):
            button()


def test_a_download_drawn_before_its_account_changed_role_or_areas_exports_nothing(location: str) -> None:
    """The same buttons once the account was demoted (an analyst made a partner) or narrowed (a field
    coordinator left with fewer areas): refused, naming what the account is now. A session the
    identity provider signed in keeps the role its claims gave, whatever a local account of its name says."""
    store = fill(open_store(location))
    auth.add_account(store, "kofi", "field", PASSWORD, ["A", "B"])
    assert run_cli(location, "check")[0] == 0
    settings = (Settings.from_env({}, database_url=location) if location.startswith("postgresql")
                else Settings.from_env({}, workspace=location))
    ana, kofi = auth.Identity("ana", "analyst"), auth.Identity("kofi", "field", ("A", "B"))
    claimed = oidc.identity_from_claims({"email": "ana", "groups": ["hg-analyst"]}, OIDC)
    assert claimed == ana and claimed.provider and not ana.provider
    listed = cases.list_cases(store, ana)
    case = str(listed.loc[listed["site_id"] == "S1", "violation_id"].iloc[0])
    buttons = [[partial(HgWatch(settings, who).layer_file, Filters(), "mining_sites", "geojson", "internal"),
                partial(HgWatch(settings, who).violations_file, Query(), "csv", "internal"),
                partial(dossier.dossier_file, store, who, settings, case, ".html")]
               for who in (ana, kofi, claimed)]  # a list: claimed == ana (provider is not compared)
    for drawn in buttons:  # the control: before the change, every button gives its file
        assert SECRET.encode() in drawn[0]() and drawn[1]() and b"Case dossier" in drawn[2]()
    auth.set_role(store, "ana", "partner")
    auth.set_role(store, "kofi", "field", ["B"])
    for drawn, message in zip(buttons, ("'ana' is now 'partner'", "'kofi' is now 'field' in B")):
        for button in drawn:
            with pytest.raises(HgWatchError, match=message):
                button()
    assert SECRET.encode() in buttons[2][0]()  # the provider's claims still make ana an analyst
    assert b"Case dossier" in buttons[2][2]()
