"""The shared answers of a view are each made under their own lock (``services.hgwatch._Answers``).

A slow answer, held here inside the real ``services.view.filter_layers`` until the test lets it go,
must keep no other session of the same view from its other answers (with one lock per view, as
before, a second analyst waited for a colleague's kriging surface before the sidebar drew); sessions
asking the same answer at once get one making of it; and an answer made while the store changed
is not kept for the new state. No test fails on time: each waits on events, with a long bound that
only a lock held across answers reaches."""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from layers.store.workspace import Workspace
from services import hgwatch as hgw
from services.auth import Identity
from services.hgwatch import HgWatch, Query
from services.view import Filters
from settings import Settings
from tests.api_kit import planted

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
    monkeypatch.setattr(hgw, "_SHARED", type(hgw._SHARED)())


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
