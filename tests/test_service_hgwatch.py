"""The HgWatch service on a hand-made workspace with known answers: people downstream counted
once for both places that show them, the headline's basis and its factor-file errors, the caches
following the files. No Streamlit."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point

from geo.inventory import Factors
from layers.store.workspace import Workspace
from services.hgwatch import HgWatch, Query
from services.view import Filters
from settings import Settings

DEG = 6378137.0 * math.pi / 180.0  # metres per degree of longitude on the equator

# a river flowing east along the equator; the mercury site (West) enters it at lon 0.05, and the
# only village downstream within 1 km of it lies in the East admin area
WATER = gpd.GeoDataFrame({"water_id": ["R"], "name": ["River"], "kind": ["river"]},
                         geometry=[LineString([(0.0, 0.0), (0.3, 0.0)])], crs=4326)
AREAS = gpd.GeoDataFrame({"area_id": ["V-below", "V-above"], "name": ["Below", "Above"],
                          "population": [1200, 5000], "admin_area": ["East", "West"]},
                         geometry=[Point(0.1, -0.005), Point(0.02, 0.003)], crs=4326)
SITES = gpd.GeoDataFrame({
    "site_id": ["S-hg", "S-ore", "S-meas"], "name": ["a", "b", "c"],
    "status": ["active", "active", "active"], "admin_area": ["West", "West", "East"],
    "amalgamation": ["concentrate", "whole_ore", "concentrate"],
    "gold_kg_per_year": [2.0, 1.0, None], "mercury_kg_per_year": [None, None, 4.0],
}, geometry=[Point(0.05, 0.0005), Point(0.2, 0.05), Point(0.25, 0.05)], crs=4326)


def _service(tmp_path: Path, **paths: Path) -> HgWatch:
    ws = Workspace(tmp_path / "ws.gpkg")
    ws.write_layers([("mining_sites", SITES), ("water_bodies", WATER),
                     ("residential_areas", AREAS)], source="hand-made test layers")
    return HgWatch(Settings.from_env({}, workspace=ws.path, **paths))


def test_people_downstream_are_one_figure_under_an_admin_filter(tmp_path: Path) -> None:
    """The sidebar headline and the overlays page ask the same figure: settlements count
    wherever they lie, so the East village below a West site counts under a West filter."""
    svc = _service(tmp_path)
    west = Filters(admin_areas=("West",))
    assert list(svc.view(west)["residential_areas"]["area_id"]) == ["V-above"]  # the map's view
    headline = svc.people(west)  # what the sidebar shows
    cfg = svc.settings.exposure.downstream
    page = svc.people(west, float(cfg["reach_m"]), float(cfg["settlement_buffer_m"]))  # overlays
    assert not isinstance(headline, str) and not isinstance(page, str)
    assert headline.people == page.people == 1200
    down = svc.downstream(west, float(cfg["reach_m"]), float(cfg["settlement_buffer_m"]))
    assert down is svc.downstream(west)  # computed once, whichever way it is asked
    assert down is not None and down.people_total() == (1200, 1)
    assert svc.people(Filters(admin_areas=("East",))).people == 0  # type: ignore[union-attr]


def test_headline_basis_quotes_every_ratio_applied(tmp_path: Path) -> None:
    h = _service(tmp_path).headline(Query())
    assert (h.measured_sites, h.estimated_sites, h.not_estimable) == (1, 2, 0)
    assert h.hg_central == pytest.approx(4.0 + 2.0 * 0.5 + 1.0 * 3.0)  # measured + 2 ratios
    assert "1 site concentrate: 0.5 (0.2-1) g/g, source 003" in h.basis
    assert "1 site whole ore: 3 (1-5) g/g, source assumption" in h.basis
    assert "partial" not in h.basis and "unknown" not in h.basis  # ratios nobody used


def test_a_bad_factor_file_is_a_message_not_a_silent_gap(tmp_path: Path) -> None:
    bad = tmp_path / "factors.toml"
    bad.write_text("[settings]\ndraws = 'many'\n", encoding="utf-8")
    h = _service(tmp_path, factors_path=bad).headline(Query())
    assert h.problem is not None and "factors.toml" in h.problem and "hg_au_ratio" in h.problem
    assert (h.sites, h.hg_central, h.basis) == (3, 0.0, "")


@dataclass(frozen=True)
class _BrokenCode(Settings):
    """Settings whose factor loading has a programming error (not a user's file problem)."""

    @property
    def factors(self) -> Factors:
        raise ImportError("cannot import name 'x' from 'settings.factors'")


def test_a_programming_error_in_the_factors_surfaces(tmp_path: Path) -> None:
    ws = _service(tmp_path).store.path
    with pytest.raises(ImportError):
        HgWatch(_BrokenCode(workspace=ws)).headline(Query())


def test_caches_follow_the_workspace_file(tmp_path: Path) -> None:
    svc = _service(tmp_path)
    q = Query(rule_ids=("HG-WATER-100",))
    first = svc.violations(q)[0]
    assert list(first["site_id"]) == ["S-hg"] and svc.violations(q)[0] is first  # cached
    moved = SITES.assign(geometry=[Point(0.05, 0.01), *SITES.geometry[1:]])  # 1.1 km away
    svc.store.write_layer("mining_sites", moved, source="moved")
    Path(svc.store.path).touch()  # a new modification time even on a coarse clock
    assert svc.violations(q)[0].empty
    assert svc.layers()[0].source == "moved"


def test_downloads_name_the_layers_the_rules_read(tmp_path: Path) -> None:
    svc = _service(tmp_path)
    q = Query(rule_ids=("HG-WATER-100",))
    assert sorted(svc.read_by_rules(q)) == ["mining_sites", "water_bodies"]
    text = svc.violations_file(q, "csv", "partner").decode()
    assert "hand-made test layers" in text and "residential_areas" not in text


def test_monitoring_gaps_are_made_once_per_question_and_again_after_a_change(tmp_path: Path) -> None:
    """The overlays page asks for the gaps on every click: 0.3-0.5 s each at 5,382 sites until
    2026-11-27, when they were made anew every time."""
    svc = HgWatch.shared(_service(tmp_path).settings, None)  # as a page gets it
    west, today = Filters(admin_areas=("West",)), date(2026, 11, 27)
    by_site, by_reach = svc.gaps(west, today)
    assert by_site is not None and set(by_site["site_id"]) == {"S-hg", "S-ore"}  # West's mercury sites, no sample
    again = svc.gaps(west, today)
    assert again[0] is by_site and again[1] is by_reach  # the same answer, not made again
    assert HgWatch.shared(svc.settings, None).gaps(west, today)[0] is by_site  # the page's next run: a new object
    assert svc.gaps(Filters(), today)[0] is not by_site  # another question, another answer
    moved = SITES.assign(status=["abandoned", "active", "active"])
    svc.store.write_layer("mining_sites", moved, source="moved")
    Path(svc.store.path).touch()
    after = svc.gaps(west, today)[0]
    assert after is not None and set(after["site_id"]) == {"S-ore"}  # the abandoned site is no longer a gap
