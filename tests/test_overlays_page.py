"""The overlays page through AppTest on the demo workspace: every overlay, no exception."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from layers.store.workspace import DEFAULT_PATH

APP = str(Path(__file__).resolve().parent.parent / "app.py")
pytestmark = pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing "
                                "(make install builds it)")


@pytest.fixture()
def at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    path = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, path)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    app = AppTest.from_file(APP, default_timeout=120).run()
    app.switch_page("ui/pages/overlays.py").run()
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
    at.toggle(key="ov_uncertainty").set_value(True).run()
    assert not at.exception


def test_overlay_html_escapes_user_text_and_orders_the_layer_switcher() -> None:
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    from shapely.geometry import Point

    from geo.contamination import ClassSettings, Guideline, interpolate
    from geo.distance import local_tmerc
    from render.map import mapview
    from render.map import overlays as overlay_map
    water = Guideline("water", 6.0, "ug/L", "inorganic", "guideline", "WHO <GDWQ>")
    classed = gpd.GeoDataFrame({
        "sample_id": ["<script>alert(1)</script>"], "medium": ["water"], "hg_class": ["above"],
        "hg_text": ["7 ug/L"],
    }, geometry=[Point(-1.5, 6.0)], crs=4326)
    m = mapview.build_map({"samples": gpd.GeoDataFrame(geometry=[Point(-1.5, 6.0)], crs=4326)})
    surf = interpolate(np.array([[0.0, 0.0], [900.0, 0.0]]), np.array([1.0, 40.0]),
                       crs=local_tmerc(-1.5, 6.0), unit="ug/L", cell_m=100.0,
                       max_distance_m=500.0)
    legend = overlay_map.add_surface(m, surf, medium="water", guideline=water,
                                     settings=ClassSettings(0.5, 5.0), opacity=0.4)
    overlay_map.add_sample_classes(m, classed)
    overlay_map.add_reaches(m, [], pd.DataFrame(columns=["source_id", "area_id", "name",
                                                         "population", "along_river_m"]),
                            reach_m=20_000.0)
    html = m.get_root().render()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert "WHO &lt;GDWQ&gt;" in legend and "&gt; 6 ug/L (above guideline)" in legend
    assert "&ge; 30 ug/L" in legend
    assert html.index("L.control.layers(") > html.index("L.imageOverlay(")
    assert '"opacity": 0.4' in html


def test_overlay_tooltips_do_not_run_template_code_from_user_text() -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    from render.map import mapview
    from render.map import overlays as overlay_map
    classed = gpd.GeoDataFrame({"sample_id": ["{{ 7*7 }}zq"], "medium": ["water"],
                                "hg_class": ["above"], "hg_text": ["{% if 1 %}ran{% endif %}"]},
                               geometry=[Point(-1.5, 6.0)], crs=4326)
    m = mapview.build_map({"samples": gpd.GeoDataFrame(geometry=[Point(-1.5, 6.0)], crs=4326)})
    overlay_map.add_sample_classes(m, classed)
    html = m.get_root().render()
    assert "49zq" not in html and "&#123;&#123; 7*7 &#125;&#125;zq" in html
    assert "ran (" not in html
