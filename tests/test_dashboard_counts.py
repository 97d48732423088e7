"""Counts said with the right number on the dashboard ("1 site", "2 sites"; never "1 sites" or
"site(s)"), through ``geo.words.counted``: the headline's figures and their help, the folded mercury
estimate, the people-downstream figure and a site's detail, the map's overlay legends, the basis of
the mercury range. Known answers on a hand-made workspace of one mercury site 50 m from a river with
one settlement of one person downstream.

Found reading the pages' text (2026-11-28): "1 sites using mercury have no gold or mercury figure",
"none of the 1 operating sites ... so their mercury use", "1 settlement(s)", "1 site(s) whole ore".
"""
from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from geo.words import counted
from render.map.overlays import add_reaches
from services import auth
from services.auth import Identity
from services.hgwatch import HgWatch, Query
from services.people import detail_lines, people_figure, source_people
from services.view import Headline, ratio_basis
from settings import Settings
from ui import login, sidebar

APP = str(Path(__file__).resolve().parent.parent / "app.py")
ANALYST = Identity("ana", "analyst")
WRONG = re.compile(r"\(s\)|\b1 (sites|violations|settlements|people|areas|rows|features|samples|rules|"
                   r"mercury sources|residential areas|miners|problems|warnings)\b")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Site S1 (active, mercury, whole-ore, no gold figure) 50 m east of a river flowing south;
    village V1 (1 person) 300 m west of the river, 2 km downstream."""
    path = tmp_path_factory.mktemp("counts") / "ws.gpkg"
    svc = HgWatch(Settings(workspace=path))
    sites = gpd.GeoDataFrame(
        {"site_id": ["S1"], "name": ["Nkwanta"], "status": ["active"], "uses_mercury": [True],
         "amalgamation": ["whole_ore"], "admin_area": ["South"]},
        geometry=[shapely.Point(-2.0 + 50 / 110_600, 5.3)], crs=4326)
    water = gpd.GeoDataFrame({"water_id": ["W1"], "name": ["Ankobra"], "kind": ["river"], "flow": ["forward"]},
                             geometry=[shapely.LineString([(-2.0, 5.31), (-2.0, 5.25)])], crs=4326)
    places = gpd.GeoDataFrame({"area_id": ["V1"], "name": ["Bogoso"], "population": [1]},
                              geometry=[shapely.Point(-2.0 - 300 / 110_600, 5.282)], crs=4326)
    svc.store.write_layers([("mining_sites", sites), ("water_bodies", water), ("residential_areas", places)],
                           source="hand-made")
    auth.add_account(svc.store, "ana", "analyst", "a long password")
    return path


def test_the_map_page_says_one_site_and_one_settlement(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(workspace))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[login._KEY] = ANALYST
    at.run()
    assert not at.exception, at.exception
    texts = [str(e.value) for e in [*at.markdown, *at.caption, *at.info, *at.warning, *at.error]]
    texts += [str(e.label) for e in at.expander]
    texts += [str(m.proto.help) for m in at.metric]
    text = "\n".join(texts)
    assert "not estimable; 1 site using mercury without a gold or mercury figure" in text, text
    assert "the one operating site using mercury in view has no measured mercury figure" in text, text
    assert "so its mercury use is unknown" in text, text
    assert "Known population of the 1 residential area within" in text, text
    assert "the 1 mercury source in view" in text, text
    assert "counts the operating sites that use it, do not say, or have a measured figure: 1 site" in text, text
    assert WRONG.search(text) is None, WRONG.search(text)


def test_people_downstream_and_its_legend_count_in_words(workspace: Path) -> None:
    svc = HgWatch(Settings(workspace=workspace))
    down = svc.downstream(Query().filters)
    assert down is not None and len(down.reaches) == 1
    figure = people_figure(down, svc.settings.exposure)
    assert figure.people == 1 and figure.settlements == 1
    lines = detail_lines(source_people(down, "S1"), figure)
    assert lines[0].startswith("People downstream: 1 in 1 settlement within"), lines
    assert lines[1].startswith("  Bogoso (V1): 1 person, "), lines
    import folium

    geoms = dict(zip(svc.frames()["residential_areas"]["area_id"], svc.frames()["residential_areas"].geometry))
    m = folium.Map()
    legend = add_reaches(m, down.reaches, down.people, reach_m=figure.reach_m, areas=geoms,
                         buffer_m=figure.buffer_m) or ""
    assert "Bogoso: 1 person" in m.get_root().render()
    assert "downstream of 1 mercury source<br>" in legend, legend
    assert WRONG.search("\n".join(lines) + legend) is None


def test_the_headline_help_and_the_ranges_basis() -> None:
    one = Headline(sites=1, mercury_sites=1, not_estimable=1)
    two = Headline(sites=2, mercury_sites=2, not_estimable=2, not_estimable_unrecorded=2, mercury_not_operating=1,
                   measured_sites=0)
    assert sidebar.not_estimable(one).startswith("the one operating site using mercury in view has no measured")
    assert sidebar.not_estimable(two).startswith("none of the 2 operating sites whose mercury use is not recorded")
    assert "or have a measured figure: 1 site (0 measured" in sidebar.using_mercury(one)
    assert "not operating" not in sidebar.using_mercury(one)
    assert sidebar.using_mercury(two).endswith("that are not operating add nothing: 1 site.")
    from settings import Settings as S

    factors = S().factors
    basis = ratio_basis(pd.Series(["whole_ore", "concentrate", "concentrate"]), factors)
    assert "1 site whole ore: " in basis and "2 sites concentrate: " in basis, basis
    assert counted(12_480, "site") == "12,480 sites"
