"""``HgWatch.shared``: the dashboard's sessions share their answers by view (role and admin areas),
never across views. Planted restricted values show what each view holds: a partner's or a field
coordinator's shared answers never hold what only an analyst may read, while two analysts read
the store once between them. What a service writes to the audit trail is signed by its own
identity, whoever made the answers it shares.

Each shared answer is made under its own lock (``services.hgwatch._Answers``). A slow answer, held
inside the real ``services.view.filter_layers`` until the test lets it go, must keep no other
session of the view from its other answers (with one lock per view, as before, a second analyst
waited for a colleague's kriging surface before the sidebar drew); sessions asking the same answer
at once get one making of it; an answer made while the store changed is not kept for the new
state. No test fails on time: each waits on events, with a long bound that only a lock held across
answers reaches."""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest

from layers.store.workspace import Workspace
from services import audit
from services import hgwatch as hgw
from services.auth import Identity
from services.hgwatch import HgWatch, Query, view_of
from services.view import Filters, choices, date_range
from settings import Settings
from tests.api_kit import SECRET, planted

BOUND_S = 60.0  # only reached when the answers wait for each other (the old one lock per view)
HELD = Filters(admin_areas=("A",))  # the answer the test holds while it is made


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    ws = Workspace(tmp_path / "ws.gpkg")
    layers = planted()
    ws.write_layers([("mining_sites", layers["mining_sites"]), ("water_bodies", layers["water_bodies"])],
                    source="planted.geojson", licence="CC-BY-4.0")
    return Settings.from_env({}, workspace=ws.path)


@pytest.fixture(autouse=True)
def _fresh_views(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no shared views (the registry is the process's)."""
    monkeypatch.setattr(hgw, "_SHARED", type(hgw._SHARED)())


def _holds_secret(frames: dict[str, gpd.GeoDataFrame]) -> bool:
    return any(SECRET in frame.drop(columns=frame.geometry.name).astype(str).to_csv() for frame in frames.values())


def test_two_analysts_read_once_and_sign_their_own_audit_rows(settings: Settings) -> None:
    ana, ben = Identity("ana", "analyst"), Identity("ben", "analyst")
    first, second = HgWatch.shared(settings, ana), HgWatch.shared(settings, ben)
    frames = first.frames()
    assert _holds_secret(frames)  # an analyst reads the restricted columns
    assert second.frames() is frames  # read once for both
    assert second.violations(Query()) is first.violations(Query())
    assert (first.identity, second.identity) == (ana, ben)
    second._audit("test", "shared", before=None, after={"by": "ben"})
    assert audit.trail(second.store)[-1].who == "ben"  # the answers are shared, the signature is not


def test_a_partner_never_shares_an_analyst_answers(settings: Settings) -> None:
    analyst = HgWatch.shared(settings, Identity("ana", "analyst"))
    assert _holds_secret(analyst.frames())
    partner = HgWatch.shared(settings, Identity("unep", "partner"))
    seen = partner.frames()
    assert seen and seen is not analyst.frames()
    assert not _holds_secret(seen)
    assert "informant_name" not in seen["mining_sites"].columns
    assert "informant_name" in analyst.frames()["mining_sites"].columns
    violations = partner.violations(Query())[0]
    assert len(violations) and SECRET not in violations.drop(columns="geometry").astype(str).to_csv()


def test_field_coordinators_share_only_with_the_same_areas(settings: Settings) -> None:
    a1, a2 = Identity("kofi", "field", ("A",)), Identity("ama", "field", ("A",))
    b = Identity("yaw", "field", ("B",))
    assert view_of(a1) == view_of(a2) != view_of(b)
    in_a = HgWatch.shared(settings, a1).frames()
    assert HgWatch.shared(settings, a2).frames() is in_a
    in_b = HgWatch.shared(settings, b).frames()
    assert in_b is not in_a
    sites_a, sites_b = in_a["mining_sites"], in_b["mining_sites"]
    # the restricted columns are filled in the coordinator's own area only (services.auth.read_layer)
    outside_a = sites_a[sites_a["admin_area"] != "A"]["informant_name"]
    outside_b = sites_b[sites_b["admin_area"] != "B"]["informant_name"]
    assert outside_a.isna().all() and outside_b.isna().all()
    assert sites_a[sites_a["admin_area"] == "A"]["informant_name"].notna().all()
    assert sites_b[sites_b["admin_area"] == "B"]["informant_name"].notna().all()


def test_views_follow_the_store_and_are_kept_to_a_bound(settings: Settings, tmp_path: Path) -> None:
    other = Workspace(tmp_path / "other.gpkg")
    other.write_layers([("mining_sites", planted()["mining_sites"])], source="planted.geojson")
    ana = Identity("ana", "analyst")
    here = HgWatch.shared(settings, ana).frames()
    there = HgWatch.shared(Settings.from_env({}, workspace=other.path), ana).frames()
    assert there is not here and set(there) == {"mining_sites"}
    for i in range(hgw.SHARED_VIEWS):  # as many other views as are kept: the first one goes
        HgWatch.shared(settings, Identity(f"f{i}", "field", (f"area {i}",))).layers()
    assert len(hgw._SHARED) == hgw.SHARED_VIEWS
    again = HgWatch.shared(settings, ana).frames()
    assert again is not here  # read again, the same data
    assert again["mining_sites"].equals(here["mining_sites"])


def test_a_layer_import_drops_the_shared_answers_for_every_session(settings: Settings) -> None:
    first, second = HgWatch.shared(settings, Identity("ana", "analyst")), HgWatch.shared(
        settings, Identity("ben", "analyst"))
    before = first.violations(Query())[0]
    sites = planted()["mining_sites"]
    sites = sites[sites["site_id"] != "S1"]  # S1 was the violation
    Workspace(settings.workspace).write_layers([("mining_sites", sites)], source="planted.geojson")
    after = second.violations(Query())[0]
    assert "S1" in set(before["subject_id"]) and "S1" not in set(after["subject_id"])
    assert first.violations(Query())[0] is after


def test_filter_options_are_answers_of_the_view(settings: Settings) -> None:
    """The sidebar's filter options (distinct values, survey-date span) are computed once per store
    state and view, as ``services.view`` computes them, and follow an import."""
    svc = HgWatch.shared(settings, Identity("ana", "analyst"))
    sites = svc.frames()["mining_sites"]
    areas = svc.choices("admin_area")
    assert areas == choices(sites, "admin_area") == ["A", "B"]
    assert svc.choices("admin_area") is areas  # kept, not computed on every rerun
    assert HgWatch.shared(settings, Identity("ben", "analyst")).choices("admin_area") is areas
    assert svc.choices("no such column") == []
    assert svc.date_range() == date_range(sites) == (date(2024, 3, 1), date(2024, 4, 15))
    more = planted()["mining_sites"].assign(admin_area=["A", "B", "C"], survey_date=["2023-01-02", None, None])
    Workspace(settings.workspace).write_layers([("mining_sites", more)], source="planted.geojson")
    assert svc.choices("admin_area") == ["A", "B", "C"]
    assert svc.date_range() == (date(2023, 1, 2), date(2023, 1, 2))


class Held:
    """``filter_layers`` as it is, but the ``HELD`` filters wait for ``release`` before they run."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.real: Callable[..., Any] = hgw.filter_layers
        self.started, self.release = threading.Event(), threading.Event()
        self.calls = 0
        monkeypatch.setattr(hgw, "filter_layers", self)

    def __call__(self, frames: Any, filters: Filters) -> Any:
        if filters == HELD:
            self.calls += 1
            self.started.set()
            self.release.wait(BOUND_S)
        return self.real(frames, filters)


def _in_thread(ask: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    got: list[Any] = []
    thread = threading.Thread(target=lambda: got.append(ask()), daemon=True)
    thread.start()
    return thread, got


def test_a_slow_answer_keeps_no_one_from_the_other_answers(settings: Settings,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    held = Held(monkeypatch)
    ana, ben = HgWatch.shared(settings, Identity("ana", "analyst")), HgWatch.shared(
        settings, Identity("ben", "analyst"))
    ana.frames()  # read once, as a dashboard's first rerun does
    slow, _ = _in_thread(lambda: ana.view(HELD))
    assert held.started.wait(BOUND_S)
    others, got = _in_thread(lambda: (ben.choices("admin_area"), ben.violations(Query())[0], ben.view(Filters())))
    others.join(BOUND_S)
    finished_while_held = not others.is_alive() and slow.is_alive()
    held.release.set()
    slow.join(BOUND_S)
    assert finished_while_held  # ben's answers came while ana's was still being made
    areas, violations, everything = got[0]
    assert areas == ["A", "B"] and "S1" in set(violations["subject_id"]) and len(everything["mining_sites"]) == 3
    assert ben.view(HELD) is ana.view(HELD)  # made once, kept for the view
    assert held.calls == 1


def test_sessions_asking_the_same_answer_at_once_get_one_making_of_it(settings: Settings,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    held = Held(monkeypatch)
    services = [HgWatch.shared(settings, Identity(name, "analyst")) for name in ("ana", "ben", "cy")]
    first, got = _in_thread(lambda: services[0].view(HELD))
    assert held.started.wait(BOUND_S)
    waiting = [_in_thread(lambda svc=svc: svc.view(HELD)) for svc in services[1:]]
    held.release.wait(0.5)  # let the others reach the answer's lock (were they late, they find it kept)
    held.release.set()
    for thread, _ in [(first, got), *waiting]:
        thread.join(BOUND_S)
        assert not thread.is_alive()
    answers = [got[0], *(g[0] for _, g in waiting)]
    assert held.calls == 1 and all(a is answers[0] for a in answers)
    assert set(answers[0]["mining_sites"]["admin_area"]) == {"A"}


def test_an_answer_made_while_the_store_changed_is_not_kept(settings: Settings,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    held = Held(monkeypatch)
    ana, ben = HgWatch.shared(settings, Identity("ana", "analyst")), HgWatch.shared(
        settings, Identity("ben", "analyst"))
    slow, got = _in_thread(lambda: ana.view(HELD))
    assert held.started.wait(BOUND_S)
    sites = planted()["mining_sites"]
    Workspace(settings.workspace).write_layers([("mining_sites", sites[sites["site_id"] != "S1"])],
                                               source="planted.geojson")
    assert ben.choices("admin_area") == ["A", "B"]  # ben's service sees the new state (the answers drop)
    held.release.set()
    slow.join(BOUND_S)
    assert "S1" in set(got[0]["mining_sites"]["site_id"])  # ana gets what she asked of the older state
    fresh = ben.view(HELD)  # but it was not kept for the new one
    assert "S1" not in set(fresh["mining_sites"]["site_id"]) and held.calls == 2


def test_a_failed_answer_leaves_no_lock_behind(settings: Settings) -> None:
    svc = HgWatch.shared(settings, Identity("ana", "analyst"))

    def broken() -> None:
        raise RuntimeError("a bug in an answer")

    with pytest.raises(RuntimeError):
        svc._cached("broken", None, broken)
    assert svc._answers.making == {}
    assert svc._cached("broken", None, lambda: "made") == "made"  # asked again, it is made again
    assert svc._answers.making == {}
