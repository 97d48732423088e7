"""The dashboard through streamlit.testing.v1.AppTest: filters, rule picker, the "what if"
slider, every page, and an upload with a bad file. No browser."""
from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from layers.store.workspace import DEFAULT_PATH, Workspace
from services.people import trace_view
from services.view import mercury_use
from settings.exposure import load_exposure

APP = str(Path(__file__).resolve().parent.parent / "app.py")
pytestmark = pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing "
                                "(make install builds it)")


class _NavigationPagesManager(PagesManager):
    """AppTest (streamlit 1.67) re-detects the ``pages/`` folder before every run and then
    runs the app the old multipage way, so a second run of an ``st.navigation`` app executes
    nothing. A real server keeps the flag ``st.navigation`` cleared; do the same here."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        PagesManager.uses_pages_directory = False


@pytest.fixture()
def ws_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(app_test_module, "PagesManager", _NavigationPagesManager)
    path = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, path)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    return path


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    return at


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _violations(at: AppTest) -> int:
    return int(_metric(at, "Violations").replace(",", ""))


def test_map_page_headline_and_filters(ws_path: Path) -> None:
    sites = Workspace(ws_path).read("mining_sites")
    at = _app()
    everything = _violations(at)
    assert _metric(at, "Sites in view") == f"{len(sites):,}"
    hg = int((mercury_use(sites) == "uses mercury").sum())
    assert _metric(at, "Using mercury") == f"{hg:,}"
    assert "-" in _metric(at, "Hg used (kg/yr)")  # a range, never a bare number
    assert any("g/g, source 003" in c.value for c in at.caption)
    people = next(m for m in at.metric if m.label == "People downstream")
    total = int(people.value.replace(",", ""))
    assert total > 0 and "config/exposure.toml" in people.help and "20 km" in people.help

    area = sorted(sites["admin_area"].dropna().unique())[0]
    at.multiselect(key="f_admin").set_value([area]).run()
    assert not at.exception
    assert _metric(at, "Sites in view") == f"{int((sites['admin_area'] == area).sum()):,}"
    assert int(_metric(at, "People downstream").replace(",", "")) <= total

    at.multiselect(key="f_admin").set_value([]).run()
    dates = pd.to_datetime(sites["survey_date"])
    lo, hi = dt.date(2022, 7, 1), dt.date(2024, 6, 30)
    at.date_input(key="f_dates").set_value((lo, hi)).run()
    assert not at.exception
    kept = (dates.isna() | ((dates >= pd.Timestamp(lo)) & (dates <= pd.Timestamp(hi)))).sum()
    assert 0 < kept < len(sites)
    assert _metric(at, "Sites in view") == f"{int(kept):,}"
    at.date_input(key="f_dates").set_value((dates.min().date(), dates.max().date())).run()
    at.multiselect(key="f_mercury").set_value(["no mercury"]).run()
    assert not at.exception
    assert _metric(at, "Using mercury") == "0"
    assert _violations(at) < everything
    at.multiselect(key="f_rules").set_value(["HG-WATER-100"]).run()
    assert _violations(at) == 0  # no mercury used, so no mercury-near-water flag


def test_rule_picker_and_what_if_slider(ws_path: Path) -> None:
    at = _app()
    at.multiselect(key="f_rules").set_value(["HG-WATER-100"]).run()
    base = _violations(at)
    assert base > 0 and _metric(at, "Critical / high") == f"{base} / 0"
    counts = {}
    at.toggle(key="whatif_on").set_value(True).run()
    for metres in (50, 100, 237, 500):
        at.slider(key="whatif_m").set_value(metres).run()
        assert not at.exception
        counts[metres] = _violations(at)
    assert counts[100] == base  # the rule's own distance gives the rule's own answer
    assert counts[50] <= counts[100] <= counts[237] <= counts[500]
    assert counts[50] < counts[500]
    assert any("What if" in i.value for i in at.info)


def test_every_page_runs(ws_path: Path) -> None:
    at = _app()
    at.switch_page("ui/pages/violations.py").run()
    assert not at.exception
    assert at.dataframe and any("violations" in m.value for m in at.markdown)
    # a selected violation's detail names the people downstream of its site, with distances
    ws = Workspace(ws_path)
    down = trace_view({i.layer: ws.read(i.layer) for i in ws.layers()}, load_exposure())
    by_source = down.people_by_source()
    table = at.dataframe(key="wb_table").value
    row = next(i for i, s in enumerate(table["site"]) if by_source.get(s, 0) > 0)
    at.session_state["wb_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    detail = next(t.value for t in at.text if t.value.startswith("People downstream"))
    assert detail.startswith(f"People downstream: {by_source[table['site'][row]]:,} in ")
    assert "km along the river" in detail
    at.selectbox(key="wb_area").set_value(at.selectbox(key="wb_area").options[-1]).run()
    assert not at.exception
    at.switch_page("ui/pages/provenance.py").run()
    assert not at.exception
    assert any("hundreds of metres" in m.value for m in at.markdown)
    at.switch_page("ui/pages/imports.py").run()
    assert not at.exception


def _geojson(features: list[dict]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def _site(props: dict, lon: float = -1.5, lat: float = 6.0) -> dict:
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def test_upload_bad_file_shows_grouped_problems(ws_path: Path) -> None:
    at = _app()
    at.switch_page("ui/pages/imports.py").run()
    bad = _geojson([_site({"site_id": "A1", "status": "bogus", "name": "<b>x</b>"}),
                    _site({"site_id": "A1", "status": "active"}),
                    _site({"site_id": "A3", "status": "closed-ish", "miners": -4})])
    name = "mining_sites ![x](evil.png).geojson"
    at.file_uploader[0].set_value((name, bad, "application/geo+json")).run()
    assert not at.exception
    assert any("was not imported" in e.value for e in at.error)
    # the user's file name is shown as text, never as a Markdown image or link
    assert all("![x](" not in e.value for e in at.error)
    assert any("\\!\\[x\\]\\(evil" in e.value for e in at.error)
    headings = [e.label for e in at.expander]
    assert any("'status'" in h for h in headings), headings
    assert any("site_id" in h for h in headings), headings
    assert len(Workspace(ws_path).read("mining_sites")) > 3  # nothing was stored


def test_upload_good_file_and_add(ws_path: Path) -> None:
    at = _app()
    at.switch_page("ui/pages/imports.py").run()
    good = _geojson([_site({"site_id": "N1", "status": "active", "uses_mercury": True}),
                     _site({"site_id": "N2", "status": "inactive"}, lon=-1.6)])
    at.file_uploader[0].set_value(("mining_sites.geojson", good, "application/geo+json")).run()
    assert not at.exception and any("are valid" in s.value for s in at.success)
    at.button(key="imp_add").click().run()
    assert not at.exception
    assert sorted(Workspace(ws_path).read("mining_sites")["site_id"]) == ["N1", "N2"]
