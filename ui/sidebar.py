"""Shared dashboard chrome, written once: the one service of this process, the sidebar (filters,
rule picker, "what if" distance) and the headline figures. ``app.py`` calls ``sidebar()`` on
every run before the page; pages call ``current()`` for the view it built. Widgets and drawing
only: every figure comes from ``services.hgwatch.HgWatch``, which also keeps the caches.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from geo.errors import HgWatchError
from geo.quantities import factor
from geo.rules import RuleSet
from geo.sites import MERCURY_USE
from geo.words import counted
from layers.store.workspace import LayerInfo
from services.auth import LOCAL
from services.hgwatch import HgWatch, Query
from services.view import Filters, Headline, zone_distance
from settings import Settings
from ui import login

_KEY = "_hgw_view"
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


@dataclass
class View:
    """Everything a page needs: the service, what the sidebar asked, and its answers. The rule run and
    the headline are made when a page first asks for them (the Map and the Violations workbench): every
    other page went without them, but ran the rules of its view first (9.7 s at 10,614 sites)."""

    service: HgWatch
    query: Query
    infos: list[LayerInfo]
    frames: dict[str, gpd.GeoDataFrame]
    problem: str | None = None  # the rule file's error, when it cannot be used

    @cached_property
    def _checked(self) -> tuple[gpd.GeoDataFrame, list[str]]:
        with st.spinner("Checking the rules..."):
            return self.service.violations(self.query)

    @property
    def violations(self) -> gpd.GeoDataFrame:
        """The violations of the chosen rules in view."""
        return self._checked[0]

    @property
    def notes(self) -> list[str]:
        """Notes on rules not run."""
        return self._checked[1]

    @cached_property
    def headline(self) -> Headline:
        """The headline figures of the view."""
        with st.spinner("Checking the rules..."):
            return self.service.headline(self.query)

    @property
    def filters(self) -> Filters:
        return self.query.filters

    @property
    def distance_m(self) -> float | None:
        return self.query.distance_m


def service() -> HgWatch:
    """The service for the store the environment names ($HGWATCH_DATABASE_URL, else
    $HGWATCH_WORKSPACE or the demo) and the signed-in identity. Its answers are shared with every
    session of the same role and admin areas (``HgWatch.shared``), so they hold only what that
    view may see (the store reads nothing else), and are computed once for all of them."""
    return HgWatch.shared(Settings.from_env(None), login.signed_in() or LOCAL)


def _own_areas(svc: HgWatch, choices: list[str]) -> list[str]:
    """The "Admin area" filter's first value: a field coordinator's own areas among ``choices`` (the
    Map opened on every area while the workbench starts on "My areas"), nothing for the other roles.
    It only narrows what the sidebar shows: what the role may read is the store's to decide."""
    who = svc.identity or LOCAL
    return [a for a in choices if a in who.areas] if who.rights.restricted == "areas" else []


def _filters(svc: HgWatch) -> Filters:
    st.sidebar.header("Filters")
    names = svc.choices("admin_area")
    own = _own_areas(svc, names)
    # the default is the same on every run, so the user's own choice (even none) is kept across reruns and pages
    areas = st.sidebar.multiselect("Admin area", names, default=own, key="f_admin",
                                   help="starts on your own areas; clear it to see every area" if own else None)
    status = st.sidebar.multiselect("Status", svc.choices("status"), key="f_status")
    methods = st.sidebar.multiselect("Processing method", svc.choices("processing_method"),
                                     key="f_method")
    mercury = st.sidebar.multiselect("Mercury use", list(MERCURY_USE), key="f_mercury")
    span = svc.date_range()
    start = end = None
    if span:
        picked = st.sidebar.date_input("Survey date", value=span, min_value=span[0],
                                       max_value=span[1], key="f_dates")
        if isinstance(picked, (tuple, list)) and len(picked) == 2:
            start, end = picked
    return Filters(tuple(areas), tuple(status), tuple(methods), tuple(mercury),
                   start if span and start != span[0] else None,
                   end if span and end != span[1] else None)


def _rule_picker(ruleset: RuleSet | None) -> tuple[tuple[str, ...], float | None]:
    st.sidebar.header("Rules")
    if ruleset is None:
        st.sidebar.error("The rule file could not be used; no rules were run. See the Map page.")
        return (), None
    titles = {r.id: f"{r.id}: {r.title}" for r in ruleset.rules}
    picked = st.sidebar.multiselect("Rules to check", list(titles), default=list(titles),
                                    format_func=lambda k: titles[k], key="f_rules")
    whatif = st.sidebar.toggle("What if: override the distance", key="whatif_on",
                               help="Re-run the chosen distance rules with another distance.")
    own = zone_distance(ruleset, tuple(titles), None)
    start = int(min(500, max(50, own))) if own else 50
    metres = st.sidebar.slider("Distance (m)", min_value=50, max_value=500, value=start, step=1,
                               key="whatif_m", disabled=not whatif,
                               help="50, 100, 200, 500 m or anything in between.")
    return tuple(picked), float(metres) if whatif else None


def sidebar() -> View:
    """Draw the sidebar, ask the service for the filtered view (its rule run when a page asks), and
    remember the view for the page."""
    svc = service()
    try:
        with st.spinner("Reading the workspace..."):
            infos = svc.layers()  # reads every layer the identity may see (svc.frames() comes with it)
    except HgWatchError as exc:  # e.g. $HGWATCH_WORKSPACE names a file that is not a GeoPackage
        st.title("HgWatch")
        st.error("The workspace cannot be opened, so nothing can be shown.")
        st.code(str(exc), language=None)
        st.stop()
    try:
        ruleset, problem = svc.rules(), None
    except HgWatchError as exc:
        ruleset, problem = None, str(exc)
    st.sidebar.title("HgWatch")
    filters = _filters(svc)
    rule_ids, distance = _rule_picker(ruleset)
    view = View(svc, Query(filters, rule_ids, distance), infos, svc.view(filters), problem)
    st.session_state[_KEY] = view
    return view


def import_on_page(svc: HgWatch, what: str) -> str:
    """Where ``what`` (e.g. "the licences") gets imported, told to the role at hand: "Import ... on the
    Import data page" to a role that may import, else who can (a partner has no such page)."""
    if (svc.identity or LOCAL).rights.may_import:
        return f"Import {what} on the Import data page"
    return f"An analyst, an admin or a field coordinator can import {what} (your role cannot import)"


def plain(text: object) -> str:
    """``text`` with every Markdown character backslash-escaped, for user values in messages
    (a file name cannot become a link, an image or a formatting trick)."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def day_columns(frame: pd.DataFrame) -> dict[str, Any]:
    """``st.dataframe`` column settings that show a column of dates (datetimes all at midnight, as a
    ``date`` field of the catalogue is read) as ``YYYY-MM-DD``, not with a time of ``00:00:00``."""
    out: dict[str, Any] = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_datetime64_any_dtype(column) and (column.dropna() == column.dropna().dt.normalize()).all():
            out[str(name)] = st.column_config.DateColumn(format="YYYY-MM-DD")
    return out


def current() -> View:
    """The view ``sidebar()`` built in this run (built here when a page is opened on its own)."""
    view = st.session_state.get(_KEY)
    return view if isinstance(view, View) else sidebar()


# the headline's range is not the inventory page's: say which it is wherever it is shown
RANGE_MEANS = ("the range puts every site at the low, then at the high end of its factor range together, so it is"
               " wider than the 5th-95th percentile of the Monte Carlo on the Mercury inventory page.")


def not_estimable(h: Headline) -> str:
    """Why the mercury range is "not estimable": no operating site in view has a figure to add up
    ("none of the 1 operating sites ... so their" was said of one site until 2026-11-28)."""
    which, n = unestimated(h), h.not_estimable
    if n == 1:
        return (f"the one operating site {which} in view has no measured mercury figure (mercury_kg_per_year) and"
                " no gold figure (gold_kg_per_year) to estimate it from, so its mercury use is unknown, not zero;"
                " import those figures to estimate it.")
    return (f"none of the {n:,} operating sites {which} in view has a measured mercury figure (mercury_kg_per_year)"
            " or a gold figure (gold_kg_per_year) to estimate it from, so their mercury use is unknown, not zero;"
            " import those figures to estimate it.")


def unestimated(h: Headline) -> str:
    """Which sites the not-estimable ones are: "using mercury", or not recorded as using it or not (on
    national footprints without uses_mercury the headline said "685 sites using mercury" beside "Using
    mercury 0")."""
    if not h.not_estimable_unrecorded:
        return "using mercury"
    if h.not_estimable_unrecorded == h.not_estimable:
        return "whose mercury use is not recorded"
    return f"using mercury or not recording it ({h.not_estimable_unrecorded:,} not recorded)"


def using_mercury(h: Headline) -> str:
    """The help of the "Using mercury" figure: what it counts, and which sites the mercury range counts."""
    in_range = h.measured_sites + h.estimated_sites + h.not_estimable
    idle = h.mercury_not_operating
    return ("sites whose record says they use mercury, whatever their status. The mercury range counts the"
            f" operating sites that use it, do not say, or have a measured figure: {counted(in_range, 'site')}"
            f" ({h.measured_sites:,} measured, {h.estimated_sites:,} estimated from gold, {h.not_estimable:,} not"
            f" estimable)." + (f" Sites marked as using it that are not operating add nothing: {counted(idle, 'site')}."
                               if idle else ""))


def _masses(*kg: float) -> tuple[str, list[str]]:
    """Kilograms as the headline shows them, with their unit: in tonnes, to one decimal, when the
    largest is 10,000 kg or more, so that a national range fits its column."""
    if max(kg) >= 10_000:
        to_t = factor("kg", "t")
        return "t", [f"{v * to_t:,.1f}" for v in kg]
    return "kg", [f"{v:,.0f}" for v in kg]


def headline_row(view: View) -> None:
    """The headline figures: sites, mercury-using sites, violations by severity, mercury use,
    people downstream of the mercury sources in view."""
    h = view.headline
    # the mercury range gets the widest column: a range is longer than a count, and a value that
    # does not fit is cut off with an ellipsis (the demo's "214-1,104" showed as "214-1,...")
    cols = st.columns([1.0, 1.0, 1.0, 1.0, 1.7, 1.2])
    cols[0].metric("Sites in view", f"{h.sites:,}")
    cols[1].metric("Using mercury", f"{h.mercury_sites:,}", help=using_mercury(h) if not h.problem else None)
    cols[2].metric("Violations", f"{sum(h.violations.values()):,}",
                   help=", ".join(f"{k}: {v:,}" for k, v in h.violations.items()))
    cols[3].metric("Critical / high", f"{h.violations.get('critical', 0):,} / "
                   f"{h.violations.get('high', 0):,}")
    unknown = not h.problem and h.not_estimable and not h.measured_sites + h.estimated_sites
    if h.problem:
        cols[4].metric("Hg used (kg/yr)", "n/a", help=h.problem)
    elif unknown:  # no figure to add up: "0-0" would read as "no mercury used" (found on national footprints)
        cols[4].metric("Hg used (kg/yr)", "not estimable", help=not_estimable(h))
    else:
        unit, (low, central, high) = _masses(h.hg_low, h.hg_central, h.hg_high)
        cols[4].metric(f"Hg used ({unit}/yr)", f"{low}-{high}",
                       help=f"central {central} {unit}/yr; {RANGE_MEANS} {h.basis}")
    with st.spinner("Tracing downstream..."):
        people = view.service.people(view.filters)
    if isinstance(people, str):
        cols[5].metric("People downstream", "n/a", help=people)
    else:
        cols[5].metric("People downstream", f"{people.people:,}", help=people.help())
    if h.problem:
        st.warning("Mercury use cannot be estimated: the factor file could not be used.")
        st.code(h.problem, language=None)
    elif unknown:
        with st.expander(f"Estimated mercury use in view: not estimable; {counted(h.not_estimable, 'site')}"
                         f" {unestimated(h)} without a gold or mercury figure"):
            st.caption(not_estimable(h) + (f" Basis: {h.basis}." if h.basis else ""))
    elif h.basis:  # the basis is long: folded, so that the map below stays in sight on a laptop screen
        with st.expander(f"Estimated mercury use in view: {h.hg_central:,.0f} kg/yr (range {h.hg_low:,.0f}-"
                         f"{h.hg_high:,.0f}); {counted(h.measured_sites, 'site')} measured, {h.estimated_sites:,}"
                         f" estimated from gold, {h.not_estimable:,} not estimable"):
            st.caption(f"The range: {RANGE_MEANS} Basis: {h.basis}.")
    if view.distance_m is not None:
        st.info(f"What if: distance rules re-run with {view.distance_m:g} m instead of their "
                "own distances. This is not the rule file's result.")
