"""Shared dashboard chrome, written once: the sidebar (filters, rule picker, "what if" distance),
cached loads and rule runs, and the headline figures. ``app.py`` calls ``sidebar()`` on every
run before the page; pages call ``current()`` for the view it built.
"""
from __future__ import annotations

import os
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path

import folium
import geopandas as gpd
import streamlit as st

from geo.errors import HgWatchError
from geo.inventory.factors import Factors
from geo.rules.model import RuleSet
from layers.store.workspace import DEFAULT_PATH, LayerInfo, Workspace
from render.map import mapview
from services.exposure import Downstream
from services.people import PeopleFigure, people_figure, trace_view
from services.view import (
    MERCURY_CHOICES,
    SEVERITIES,
    Filters,
    Headline,
    choices,
    date_range,
    filter_layers,
    headline,
    violations_for,
    zone_distance,
)
from settings.exposure import DEFAULT_PATH as EXPOSURE_PATH
from settings.exposure import ExposureSettings, load_exposure
from settings.rules import DEFAULT_RULES, load_rules

WORKSPACE_ENV = "HGWATCH_WORKSPACE"
_KEY = "_hgw_view"


@dataclass
class View:
    """Everything a page needs: the workspace, the filtered layers and the rule run."""

    ws: Workspace
    infos: list[LayerInfo]
    frames: dict[str, gpd.GeoDataFrame]
    filters: Filters
    rule_ids: tuple[str, ...]
    distance_m: float | None
    violations: gpd.GeoDataFrame
    notes: list[str]
    headline: Headline
    problem: str | None = None
    key: tuple[object, ...] = field(default_factory=tuple)
    zone_m: float | None = None


def _mtime(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


def workspace_path() -> Path:
    """The workspace file: $HGWATCH_WORKSPACE, else the demo workspace."""
    return Path(os.environ.get(WORKSPACE_ENV) or DEFAULT_PATH)


@st.cache_resource(show_spinner="Reading the workspace...")
def _frames(path: str, mtime: float) -> tuple[list[LayerInfo], dict[str, gpd.GeoDataFrame]]:
    ws = Workspace(path)
    if not ws.exists():
        return [], {}
    infos = ws.layers()
    return infos, {i.layer: ws.read(i.layer) for i in infos}


@st.cache_resource(show_spinner="Loading the rules...")
def _rules(mtime: float) -> RuleSet | str:
    try:
        return load_rules(DEFAULT_RULES)
    except HgWatchError as exc:
        return str(exc)


@st.cache_resource(show_spinner=False)
def _factors() -> Factors | None:
    try:
        from settings.factors import load_factors
        return load_factors()
    except (HgWatchError, ImportError):
        return None


@st.cache_data(show_spinner="Checking the rules...", max_entries=32)
def _run(path: str, mtime: float, rules_mtime: float, filters: Filters,
         rule_ids: tuple[str, ...], distance_m: float | None) -> tuple[gpd.GeoDataFrame, list[str]]:
    _, frames = _frames(path, mtime)
    ruleset = _rules(rules_mtime)
    if isinstance(ruleset, str) or not rule_ids:
        return gpd.GeoDataFrame({"severity": []}, geometry=[], crs=4326), []
    try:
        return violations_for(ruleset, filter_layers(frames, filters), rule_ids, distance_m)
    except HgWatchError as exc:
        return gpd.GeoDataFrame({"severity": []}, geometry=[], crs=4326), [str(exc)]


@st.cache_resource(show_spinner="Drawing the map...", max_entries=8)
def _map_bytes(key: tuple[object, ...]) -> bytes:
    path, mtime, rules_mtime, filters, rule_ids, distance_m = key
    _, frames = _frames(path, mtime)
    violations, _ = _run(path, mtime, rules_mtime, filters, rule_ids, distance_m)
    ruleset = _rules(rules_mtime)
    zone = None if isinstance(ruleset, str) else zone_distance(ruleset, rule_ids, distance_m)
    m = mapview.build_map(filter_layers(frames, filters), violations=violations, zone_m=zone)
    return pickle.dumps(m)


@st.cache_resource(show_spinner=False)
def _exposure(mtime: float) -> ExposureSettings | str:
    try:
        return load_exposure(EXPOSURE_PATH)
    except HgWatchError as exc:
        return str(exc)


@st.cache_resource(show_spinner="Tracing downstream...", max_entries=8)
def _downstream(path: str, mtime: float, exposure_mtime: float,
                filters: Filters) -> Downstream | None:
    _, frames = _frames(path, mtime)
    settings = _exposure(exposure_mtime)
    if isinstance(settings, str):
        return None
    return trace_view(filter_layers(frames, filters), settings,
                      areas=frames.get("residential_areas"))


def downstream_in_view(view: View) -> tuple[Downstream | None, PeopleFigure | str]:
    """The downstream reach of the mercury sources in view (cached) and its headline figure,
    or the exposure settings' error message instead of the figure."""
    path, mtime = view.key[0], view.key[1]
    exposure_mtime = _mtime(EXPOSURE_PATH)
    settings = _exposure(exposure_mtime)
    if isinstance(settings, str):
        return None, settings
    down = _downstream(path, mtime, exposure_mtime, view.filters)
    return down, people_figure(down, settings)


def cached_map(key: tuple[object, ...]) -> folium.Map:
    """A fresh folium map of the view identified by ``key`` (see ``View.key``).

    The map is built once per view and kept pickled: ``st_folium`` rewrites element ids while
    rendering, so one Map object must never be rendered twice.
    """
    return pickle.loads(_map_bytes(key))


def _filters(sites: gpd.GeoDataFrame) -> Filters:
    st.sidebar.header("Filters")
    areas = st.sidebar.multiselect("Admin area", choices(sites, "admin_area"), key="f_admin")
    status = st.sidebar.multiselect("Status", choices(sites, "status"), key="f_status")
    methods = st.sidebar.multiselect("Processing method", choices(sites, "processing_method"),
                                     key="f_method")
    mercury = st.sidebar.multiselect("Mercury use", list(MERCURY_CHOICES), key="f_mercury")
    span = date_range(sites)
    start = end = None
    if span:
        picked = st.sidebar.date_input("Survey date", value=span, min_value=span[0],
                                       max_value=span[1], key="f_dates")
        if isinstance(picked, (tuple, list)) and len(picked) == 2:
            start, end = picked
    return Filters(tuple(areas), tuple(status), tuple(methods), tuple(mercury),
                   start if span and start != span[0] else None,
                   end if span and end != span[1] else None)


def _rule_picker(ruleset: RuleSet | str) -> tuple[tuple[str, ...], float | None]:
    st.sidebar.header("Rules")
    if isinstance(ruleset, str):
        st.sidebar.error("The rule file could not be used; no rules were run. See the Map page.")
        return (), None
    titles = {r.id: f"{r.id}: {r.title}" for r in ruleset.rules}
    picked = st.sidebar.multiselect("Rules to check", list(titles), default=list(titles),
                                    format_func=titles.get, key="f_rules")
    whatif = st.sidebar.toggle("What if: override the distance", key="whatif_on",
                               help="Re-run the chosen distance rules with another distance.")
    own = zone_distance(ruleset, tuple(titles), None)
    start = int(min(500, max(50, own))) if own else 50
    metres = st.sidebar.slider("Distance (m)", min_value=50, max_value=500, value=start, step=1,
                               key="whatif_m", disabled=not whatif,
                               help="50, 100, 200, 500 m or anything in between.")
    return tuple(picked), float(metres) if whatif else None


def sidebar() -> View:
    """Draw the sidebar, run the rules on the filtered view (cached) and remember the view."""
    path = workspace_path()
    mtime, rules_mtime = _mtime(path), _mtime(DEFAULT_RULES)
    infos, frames = _frames(str(path), mtime)
    ruleset = _rules(rules_mtime)
    st.sidebar.title("HgWatch")
    sites = frames.get("mining_sites", gpd.GeoDataFrame(geometry=[], crs=4326))
    filters = _filters(sites)
    rule_ids, distance = _rule_picker(ruleset)
    violations, notes = _run(str(path), mtime, rules_mtime, filters, rule_ids, distance)
    view_frames = filter_layers(frames, filters)
    head = headline(view_frames.get("mining_sites", sites), violations, _factors())
    view = View(Workspace(path), infos, view_frames, filters, rule_ids, distance, violations,
                notes, head, ruleset if isinstance(ruleset, str) else None,
                (str(path), mtime, rules_mtime, filters, rule_ids, distance),
                None if isinstance(ruleset, str) else zone_distance(ruleset, rule_ids, distance))
    st.session_state[_KEY] = view
    return view


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: object) -> str:
    """``text`` with every Markdown character backslash-escaped, for user values in messages
    (a file name cannot become a link, an image or a formatting trick)."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def current() -> View:
    """The view ``sidebar()`` built in this run."""
    return st.session_state[_KEY]


def headline_row(view: View) -> None:
    """The headline figures: sites, mercury-using sites, violations by severity, mercury use,
    people downstream of the mercury sources in view."""
    h = view.headline
    cols = st.columns(4 + len(SEVERITIES) - 2)
    cols[0].metric("Sites in view", f"{h.sites:,}")
    cols[1].metric("Using mercury", f"{h.mercury_sites:,}")
    cols[2].metric("Violations", f"{sum(h.violations.values()):,}",
                   help=", ".join(f"{k}: {v}" for k, v in h.violations.items()))
    cols[3].metric("Critical / high", f"{h.violations.get('critical', 0)} / "
                   f"{h.violations.get('high', 0)}")
    cols[4].metric("Hg used (kg/yr)", f"{h.hg_low:,.0f}-{h.hg_high:,.0f}",
                   help=f"central {h.hg_central:,.0f} kg/yr. {h.basis}")
    _, people = downstream_in_view(view)
    if isinstance(people, str):
        cols[5].metric("People downstream", "n/a", help=people)
    else:
        cols[5].metric("People downstream", f"{people.people:,}", help=people.help())
    st.caption("Violations by severity: " + ", ".join(f"{k} {v:,}" for k, v in h.violations.items())
               + ".")
    if h.basis:
        st.caption(f"Estimated mercury use in view: {h.hg_central:,.0f} kg/yr "
                   f"(range {h.hg_low:,.0f}-{h.hg_high:,.0f}); {h.measured_sites} sites measured, "
                   f"{h.estimated_sites} estimated from gold, {h.not_estimable} not estimable. "
                   f"Basis: {h.basis}.")
    if view.distance_m is not None:
        st.info(f"What if: distance rules re-run with {view.distance_m:g} m instead of their "
                "own distances. This is not the rule file's result.")
