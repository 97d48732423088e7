"""The inventory page says the possible re-surveys once, in the warning above their table, with the
search distance the report's line gives; it was said twice (a plain line from the report, then a
shorter warning without the distance)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from layers.store.workspace import DEFAULT_PATH

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")
def test_the_pairs_are_said_once_with_their_search_distance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(ws))
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("ui/pages/inventory.py").run()
    assert not at.exception, at.exception
    said = [m.value for m in at.markdown] + [w.value for w in at.warning]
    pairs = [s for s in said if "re-survey" in s and "2 pairs" in s or s.startswith("2 possible re-surveys")]
    assert len(pairs) == 1, pairs
    warning = [w.value for w in at.warning if w.value in pairs]
    assert warning and warning[0].startswith("Possible re-surveys, not linked: 2 pairs of sites of different survey"
                                             " rounds lie within 100 m of each other")
    assert warning[0].endswith("Once linked, import the layer again.")
    assert any(m.value.startswith("Sites: 150 (") for m in at.markdown)  # the other lines stay
