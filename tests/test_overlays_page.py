"""The overlays page through AppTest on the demo workspace: every overlay, no exception."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from layers.workspace import DEFAULT_PATH

APP = str(Path(__file__).resolve().parent.parent / "app.py")
pytestmark = pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing "
                                "(make install builds it)")


@pytest.fixture()
def at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    path = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, path)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    app = AppTest.from_file(APP, default_timeout=120).run()
    app.switch_page("pages/overlays.py").run()
    assert not app.exception, app.exception
    return app


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_overlays_page_surface_pressure_and_people(at: AppTest) -> None:
    assert at.title[0].value == "Contamination overlays and exposure"
    people = int(_metric(at, "People downstream").replace(",", ""))
    assert people > 0
    assert any("Leave-one-out error" in c.value for c in at.caption)
    assert any("monitoring" in s.value.lower() for s in at.subheader)
    at.radio(key="ov_overlay").set_value("Mercury pressure (estimate)").run()
    assert not at.exception
    assert any("not a measurement" in i.value for i in at.info)
    at.radio(key="ov_overlay").set_value("Measured mercury (interpolated)").run()
    at.radio(key="ov_method").set_value("kriging").run()
    assert not at.exception
    assert any("KRIGING surface" in c.value for c in at.caption)
