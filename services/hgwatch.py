"""HgWatch as one service: the store opened with its settings, answering what both faces ask.

``HgWatch(settings)`` reads the workspace and the four settings files ``settings`` names. The
CLI makes one per command. Every answer is cached here, once, and the cache is dropped when the
store's data (``Store.change_stamp``: layers, runs, shareable marks, cases; not an audit row, an
account or an API key) or a settings file (``Settings.stamp``) changes. A ``HgWatchError`` (a
user's bad file or value) goes to the face, which shows it; it is cached too, except ``StoreBusy`` (a
writer held the store longer than a reader waits), which is asked again next time. No Streamlit here.

The dashboard asks ``HgWatch.shared(settings, identity)`` on every rerun: a service for that
identity (its name signs what it writes to the audit trail) whose answers are shared by every
identity of the same **view** (``view_of``: the role and the admin areas, all that the store's
reads for an identity depend on). Twenty analysts then read the layers and run the rules once,
not twenty times, and hold one copy of them; a partner or a field coordinator of other areas
never shares an analyst's answers. The last ``SHARED_VIEWS`` views are kept.

Each answer is made under its own lock: sessions asking the same answer at once wait for one
making of it, while a slow answer (a kriging surface) keeps no one from the others.
"""
from __future__ import annotations

import os
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import geopandas as gpd
import pandas as pd

from geo.errors import HgWatchError, InputError, Problem, StoreBusy
from layers.io.readers import Loaded, load_layer
from layers.store.base import LayerInfo, Store, store_name
from layers.store.gpkg import Replacement
from layers.store.open import open_store
from services import audit
from services.areas import AREA_LAYER, with_units
from services.arguments import check_metres
from services.audit import audit_layer, audit_run
from services.view import (
    Filters,
    Headline,
    choices,
    date_range,
    filter_layers,
    headline,
    map_focus,
    violations_for,
    zone_distance,
)
from settings import Settings

if TYPE_CHECKING:  # the map, contamination, exposure, people, rule-run and sign-in modules load where they are
    import folium  # used (issue 13: `import` and `check` need few of them; importing them all cost ~1 s)

    from geo.contamination import Surface
    from geo.exposure import Pressure
    from geo.inventory import Factors
    from geo.rules import RuleSet
    from render.report.tables import Inventory
    from services import checks
    from services import exposure as ex
    from services.auth import Identity
    from services.people import PeopleFigure

T = TypeVar("T")
SHARED_VIEWS = 8  # views whose answers the process keeps for HgWatch.shared (as the API keeps 8 role/area sets)

View = tuple[str, tuple[str, ...]] | None


def view_of(identity: Identity | None) -> View:
    """What the store's reads for ``identity`` depend on, so what its answers depend on: its role
    (``services.auth.Rights``: which layers and columns) and its admin areas (which rows a field
    coordinator sees in full); None for the whole store (no identity). Not its name."""
    return None if identity is None else (identity.role, tuple(identity.areas))


@cache
def _empty(*columns: str) -> gpd.GeoDataFrame:
    """An empty layer in WGS84 with ``columns``: made when first answered, not at import (issue 13:
    ~3-8 ms of every command's start-up); one object per ``columns``, as the constants it replaces."""
    return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=4326)


@dataclass
class _Answers:
    """The cached answers of one view of one store, shared by the services of that view.

    ``lock`` guards the fields and is held only to look up or store; an answer is made under its
    own lock in ``making`` (re-entrant: an answer may ask another). ``generation`` counts the
    times ``memo`` was dropped, so an answer made from an older store state is never kept."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    stamp: tuple[float, ...] | None = None
    settings: Settings | None = None
    memo: dict[str, OrderedDict[Any, tuple[bool, Any]]] = field(default_factory=dict)
    making: dict[tuple[str, Any], threading.RLock] = field(default_factory=dict)
    generation: int = 0

    def found(self, kind: str, key: object) -> tuple[bool, Any] | None:
        """The kept answer for ``(kind, key)``, if any (marked as the latest used); hold ``lock``."""
        memo = self.memo.get(kind)
        if memo is None or key not in memo:
            return None
        memo.move_to_end(key)
        return memo[key]


_SHARED: OrderedDict[tuple[Settings, View], _Answers] = OrderedDict()
_SHARED_LOCK = threading.Lock()


@dataclass(frozen=True)
class Query:
    """What the sidebar asks: the filters, the rules to run (None: all) and a "what if"
    distance in metres for the distance rules (None: the rule file's own)."""

    filters: Filters = field(default_factory=Filters)
    rule_ids: tuple[str, ...] | None = None
    distance_m: float | None = None


class HgWatch:
    """The workspace and settings of ``settings``, and every answer the faces ask of them."""

    def __init__(self, settings: Settings, identity: Identity | None = None, *,
                 answers: _Answers | None = None) -> None:
        self._base = settings
        self.identity = identity  # who asks (None: the whole store); its reads are limited by the store
        self._answers = answers or _Answers()  # its own, unless ``shared`` gives those of its view

    @classmethod
    def shared(cls, settings: Settings, identity: Identity | None) -> HgWatch:
        """A service for ``identity`` whose answers are those every service of the same
        ``settings`` and ``view_of(identity)`` made in this process (see the module docstring)."""
        key = (settings, view_of(identity))
        with _SHARED_LOCK:
            answers = _SHARED.get(key)
            if answers is None:
                answers = _SHARED[key] = _Answers()
                while len(_SHARED) > SHARED_VIEWS:
                    _SHARED.popitem(last=False)
            _SHARED.move_to_end(key)
        return cls(settings, identity, answers=answers)

    @classmethod
    def from_env(cls, *, database_url: str | None = None, **paths: Path | str | None) -> HgWatch:
        """The service of ``Settings.from_env(**paths)`` ($HGWATCH_DATABASE_URL, $HGWATCH_WORKSPACE,
        shipped files); ``database_url`` selects a PostGIS store."""
        return cls(Settings.from_env(None, database_url=database_url, **paths))

    # ------------------------------------------------------------------ plumbing
    @property
    def settings(self) -> Settings:
        """The settings, re-read from their files when one changed since the last call; the cached
        answers (of every service of this view) go then, and when the store's change stamp moved."""
        stamp = self._base.stamp() + self._store_stamp()
        shared = self._answers
        with shared.lock:
            if stamp != shared.stamp or shared.settings is None:
                shared.stamp, shared.settings = stamp, replace(self._base)
                shared.memo.clear()
                shared.generation += 1
            return shared.settings

    @cached_property
    def store(self) -> Store:
        """The store: the PostGIS database of ``settings.database_url``, else the workspace GeoPackage
        (opened once per service: its change stamp is read before every cached answer)."""
        return open_store(self._base.workspace, self._base.database_url)

    def source_label(self) -> str:
        """Where a report's sites came from, as the report prints it: the store's short name (its file
        name, or its database URL without the password) for a role that sees the whole store; for any
        other (a partner, a field coordinator) no file path, host or user of the server."""
        if self.identity is None or self.identity.rights.restricted == "all":
            return store_name(self.store)
        return "the agency's HgWatch store"

    def _store_stamp(self) -> tuple[float, ...]:
        """The store's change stamp (``Store.change_stamp``, both back ends): it moves when the layers,
        runs, shareable marks or cases may have changed, not for audit rows, accounts or API keys;
        (-2,) while the store cannot be read."""
        try:
            return self.store.change_stamp()
        except HgWatchError:
            return (-2.0,)

    def _cached(self, kind: str, key: object, make: Callable[[], T], size: int = 8) -> T:
        """``make()`` once per ``key`` (the last ``size`` kept); a HgWatchError is kept too.

        Made under the answer's own lock (see ``_Answers``): who asks it meanwhile waits and gets
        the same answer; other answers are not held up."""
        _ = self.settings  # drops the caches when a file changed
        shared = self._answers
        with shared.lock:
            kept = shared.found(kind, key)
        ok, value = self._make(kind, key, make, size) if kept is None else kept
        if not ok:
            raise value
        return value

    def kept(self, kind: str, key: Hashable, make: Callable[[], T], size: int = 8) -> T:
        """``make()``, or the answer it gave before for ``(kind, key)`` in this view and store state: an
        answer a page makes from this service's answers (the inventory page's maps, the overlays base
        map, a roll-up), kept with them. It is found by the page's next run (``shared`` gives each run a
        new service of the same answers), made anew once the store or a settings file changed, never
        given to another view; ``key`` must hold whatever else it depends on (filters, day, choices).
        The last ``size`` of each ``kind`` are kept; a HgWatchError is kept as ``_cached`` keeps it."""
        return self._cached(f"page: {kind}", key, make, size)

    def _make(self, kind: str, key: object, make: Callable[[], T], size: int) -> tuple[bool, Any]:
        """``make()``'s outcome, made under the answer's own lock and kept unless the store changed
        meanwhile; whoever held that lock first may have made it already."""
        shared = self._answers
        with shared.lock:
            making = shared.making.setdefault((kind, key), threading.RLock())
        with making:
            try:
                with shared.lock:
                    kept, generation = shared.found(kind, key), shared.generation
                if kept is not None:
                    return kept
                try:
                    kept = (True, make())
                except StoreBusy:  # a writer held the store too long: asked again next time, not kept
                    raise
                except HgWatchError as exc:
                    kept = (False, exc)
                with shared.lock:
                    if shared.generation == generation:  # the store did not change while it was made
                        memo = shared.memo.setdefault(kind, OrderedDict())
                        memo[key] = kept
                        while len(memo) > size:
                            memo.popitem(last=False)
                return kept
            finally:
                with shared.lock:
                    if shared.making.get((kind, key)) is making:
                        del shared.making[(kind, key)]

    # ------------------------------------------------------------------ layers and settings
    def _read(self) -> tuple[list[LayerInfo], dict[str, gpd.GeoDataFrame]]:
        ws = self.store
        if not ws.exists():
            return [], {}
        infos = ws.layers()
        if self.identity is not None:  # only the layers and columns the identity may see are read
            from services.auth import may_see_layer, read_layer

            infos = [i for i in infos if may_see_layer(self.identity, i.layer)]
            return infos, {i.layer: read_layer(ws, i.layer, self.identity) for i in infos}
        return infos, {i.layer: ws.read(i.layer) for i in infos}

    def layers(self) -> list[LayerInfo]:
        """Provenance of every layer in the workspace (empty when there is no workspace)."""
        return self._cached("store", None, self._read, 1)[0]

    def frames(self) -> dict[str, gpd.GeoDataFrame]:
        """Every layer of the workspace, whole."""
        return self._cached("store", None, self._read, 1)[1]

    def choices(self, column: str) -> list[str]:
        """The distinct values of ``column`` of the whole mining_sites layer (``services.view.choices``),
        for the filters: once per store state, not on every rerun (1e6 sites: each is a pass over them)."""
        return self._cached("choices", column, lambda: choices(self.frames().get("mining_sites", _empty()), column))

    def date_range(self) -> tuple[date, date] | None:
        """The earliest and latest survey date of the mining sites (``services.view.date_range``), once."""
        return self._cached("date range", None, lambda: date_range(self.frames().get("mining_sites", _empty())), 1)

    def view(self, filters: Filters) -> dict[str, gpd.GeoDataFrame]:
        """Every layer as the sidebar ``filters`` select it (see ``services.view.filter_layers``)."""
        return self._cached("view", filters, lambda: filter_layers(self.frames(), filters), 16)

    def rules(self) -> RuleSet:
        """The rule set (ConfigError when the rule file is unusable)."""
        return self._cached("rules", None, lambda: self.settings.rules, 1)

    def factors(self) -> Factors:
        """The inventory factors (ConfigError when the factor file is unusable)."""
        return self._cached("factors", None, lambda: self.settings.factors, 1)

    def _rule_ids(self, q: Query) -> tuple[str, ...]:
        return tuple(r.id for r in self.rules().rules) if q.rule_ids is None else q.rule_ids

    # ------------------------------------------------------------------ the rules in view
    def violations(self, q: Query) -> tuple[gpd.GeoDataFrame, list[str]]:
        """The violations of the chosen rules in the filtered view, and notes on rules not run
        (an empty frame and no notes when the rule file is unusable: see ``rules``)."""
        def run() -> tuple[gpd.GeoDataFrame, list[str]]:
            try:
                ruleset, ids = self.rules(), self._rule_ids(q)
            except HgWatchError:
                return _empty("severity"), []
            if not ids:
                return _empty("severity"), []
            try:
                return violations_for(ruleset, self.view(q.filters), ids, q.distance_m, threads=self.settings.threads)
            except HgWatchError as exc:
                return _empty("severity"), [str(exc)]
        return self._cached("violations", q, run, 32)

    def zone_m(self, q: Query) -> float | None:
        """The rule buffer drawn around water, in metres (see ``services.view.zone_distance``)."""
        try:
            return zone_distance(self.rules(), self._rule_ids(q), q.distance_m)
        except HgWatchError:
            return None

    def read_by_rules(self, q: Query) -> list[str]:
        """The layers the chosen rules read, for the provenance of a violations file."""
        try:
            ids = set(self._rule_ids(q))
            return list(dict.fromkeys(lay for r in self.rules().rules if r.id in ids for lay in r.layers))
        except HgWatchError:
            return []

    def headline(self, q: Query) -> Headline:
        """Sites, mercury-using sites, violations by severity and the mercury-use range; the
        range is left out, and ``problem`` says why, when the factor file is unusable."""
        def make() -> Headline:
            sites = self.view(q.filters).get("mining_sites", gpd.GeoDataFrame(geometry=[], crs=4326))
            violations = self.violations(q)[0]
            try:
                return headline(sites, violations, self.factors())
            except HgWatchError as exc:
                return headline(sites, violations, None, problem=str(exc))
        return self._cached("headline", q, make, 16)

    def map(self, q: Query) -> folium.Map:
        """A fresh folium map of ``q`` as the dashboard shows it: the layers of the filtered view
        (``view``), the chosen rules' violations and buffer, and a first view framed on what the
        filters keep (``services.view.map_focus``: the sites in view, or one rule's violations). Every
        face (the pages, the HTML download, the ``tiles`` command) draws through here; until 2026-11-28
        only the pages framed the map, by a second function around this one, and ``HgWatch.map`` kept
        the whole workspace's extent under any filter. Built once per query and kept pickled, since
        ``st_folium`` rewrites element ids while rendering (one Map must never render twice)."""
        from services.tiles import draw_map

        def make() -> bytes:
            violations = self.violations(q)[0]
            focus = map_focus(rules_narrowed=self._narrowed(q), flagged=len(violations))
            return pickle.dumps(draw_map(self.view(q.filters), violations=violations, zone_m=self.zone_m(q),
                                         focus=focus))

        return pickle.loads(self._cached("map", q, make))  # our own bytes, made just above

    def _narrowed(self, q: Query) -> bool:
        """True when ``q`` picks fewer rules than the rule file holds (an unusable file: any pick)."""
        if q.rule_ids is None:
            return False
        try:
            every = {r.id for r in self.rules().rules}
        except HgWatchError:
            every = set()
        return set(q.rule_ids) != every

    # ------------------------------------------------------------------ people downstream
    def downstream(self, filters: Filters, reach_m: float | None = None,
                   buffer_m: float | None = None) -> ex.Downstream | None:
        """The reach downstream of the mercury sources in view, and the settlements near it
        wherever they lie (a river crosses admin boundaries); None without river lines.
        ``reach_m`` / ``buffer_m`` (metres) default to the exposure settings."""
        from services.people import trace_view

        cfg = self.settings.exposure.downstream
        reach, buffer = float(reach_m or cfg["reach_m"]), float(buffer_m or cfg["settlement_buffer_m"])
        return self._cached("downstream", (filters, reach, buffer), lambda: trace_view(
            self.view(filters), self.settings.exposure, areas=self.frames().get("residential_areas"),
            reach_m=reach, buffer_m=buffer))

    def people(self, filters: Filters, reach_m: float | None = None,
               buffer_m: float | None = None) -> PeopleFigure | str:
        """The people-downstream figure of ``downstream``, or the exposure settings' error."""
        from services.people import people_figure

        try:
            down = self.downstream(filters, reach_m, buffer_m)
            return people_figure(down, self.settings.exposure, reach_m=reach_m, buffer_m=buffer_m)
        except HgWatchError as exc:
            return str(exc)

    # ------------------------------------------------------------------ inventory, overlays
    def inventory(self, area: str | None, today: date) -> Inventory:
        """Every inventory table for ``area`` (None: all sites), targets judged on ``today``."""
        from render.report.tables import inventory_tables
        from services.inspection import inspection_table

        def make() -> Inventory:
            sites = self.frames().get("mining_sites")
            if sites is None:
                raise HgWatchError(f"workspace {self.store.path} holds no mining_sites layer")
            sites = with_units(sites, self.frames().get(AREA_LAYER))  # admin units by location
            every_case = self.identity is None or self.identity.rights.restricted == "all"  # reads case rows
            error = next((i.accuracy_m for i in self.layers() if i.layer == "mining_sites"), None)
            return inventory_tables(sites, self.factors(), area=area, today=today,  # issue 12: cases per area
                                    inspection=inspection_table(self.store) if every_case else None,
                                    expected_error_m=error)  # widens the re-survey search (geo.inventory.resurvey)
        return self._cached("inventory", (area, today), make)

    def classed_samples(self, filters: Filters) -> gpd.GeoDataFrame | None:
        """The samples in view in guideline units and classed; None without samples."""
        from services import contamination

        samples = self.view(filters).get("samples")
        if samples is None or samples.empty:
            return None
        guidelines, classes = self.settings.guidelines
        return self._cached("classed", filters, lambda: contamination.classed_samples(
            samples, guidelines, classes, source="samples layer"))

    def surface(self, filters: Filters, medium: str, method: str, cell_m: float,
                max_distance_m: float) -> Surface:
        """The interpolated surface of ``medium`` from the samples in view."""
        from services import contamination

        def make() -> Surface:
            classed = self.classed_samples(filters)
            if classed is None:
                raise HgWatchError("no samples in view to interpolate")
            return contamination.medium_surface(classed, medium=medium, exposure=self.settings.exposure,
                                                method=method, cell_m=cell_m, max_distance_m=max_distance_m)
        return self._cached("surface", (filters, medium, method, cell_m, max_distance_m), make)

    def pressure(self, filters: Filters, kernel_width_m: float) -> Pressure | None:
        """Estimated mercury use of the sites in view, spread by a kernel (None without sites)."""
        from services import exposure as ex

        return self._cached("pressure", (filters, kernel_width_m), lambda: ex.pressure(
            self.view(filters).get("mining_sites"), self.settings.exposure, self.factors(),
            kernel_width_m=kernel_width_m))

    def gaps(self, filters: Filters, today: date, reach_m: float | None = None,
             buffer_m: float | None = None) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        """Ranked monitoring gaps: of the mercury-using sites in view (None without sites) and of
        the downstream reaches (None without any). A site is covered by any sample the identity may
        see, wherever it lies: a sample just across an admin boundary monitors it too (as the
        settlements downstream are found wherever they lie)."""
        from services import exposure as ex

        def make() -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
            sites, samples = self.view(filters).get("mining_sites"), self.frames().get("samples")
            down = self.downstream(filters, reach_m, buffer_m)
            cfg = self.settings.exposure
            by_site = None if sites is None or sites.empty else ex.gaps(
                sites, samples, cfg, self.factors(), today=today,
                people=down.people_by_source() if down is not None else None)
            by_reach = ex.river_gaps(down, samples, cfg, today=today) if down and down.reaches else None
            return by_site, by_reach

        return self._cached("gaps", (filters, today, reach_m, buffer_m), make)  # 0.3-0.5 s a click at 5,382 sites

    # ------------------------------------------------------------------ runs, files, writes
    def runs(self, limit: int = 2, *, with_ids: bool = True) -> list[dict[str, object]]:
        """The newest recorded rule runs, newest first (none without a workspace); ``with_ids=False``
        leaves out each run's violation ids."""
        return self.store.runs(limit, with_ids=with_ids) if self.store.exists() else []

    def check(self, *, only: Sequence[str] | None = None, files: Sequence[tuple[str, str]] = (),
              set_values: dict[str, dict[str, str]] | None = None, repair: bool = False,
              record: bool = True, chunk_rows: int | None = None) -> checks.CheckOutcome:
        """Run the rules on the workspace (recorded) or on ``files``; see ``services.checks.check``.
        Recording a run of the store is refused to a role without ``Rights.record_runs`` (a field
        coordinator, a partner): it reads every area and opens cases in each."""
        from services import checks

        if record and not files and self.identity is not None and not self.identity.rights.record_runs:
            raise InputError(f"account {self.identity.name!r} ({self.identity.role}) may not record a rule run of the"
                             " whole store: an analyst or an admin records runs; a check of files (--layer) or"
                             " with --no-record is open to every role")

        before = self.runs(1, with_ids=False) if record and not files else []  # the audit's run id and counts
        read, visible = None, None
        if (ident := self.identity) is not None and ident.rights.restricted != "all":  # as the role sees it
            from services.auth import may_see_layer, read_layer

            def read(store: Store, layer: str) -> gpd.GeoDataFrame:
                return read_layer(store, layer, ident)

            def visible(layer: str) -> bool:
                return may_see_layer(ident, layer)
        outcome = checks.check(self.settings, only=only, files=files, set_values=set_values, repair=repair,
                               record=record, chunk_rows=chunk_rows, read=read, visible=visible,
                               who=f"role {ident.role!r}" if ident is not None else "")
        if outcome.run_id is not None:
            after = audit_run([{"run_id": outcome.run_id, "rules_hash": outcome.rules_hash,
                                "counts": outcome.evaluation.counts}])
            if after is not None and outcome.cases is not None:  # what the run did to the cases (issue 12)
                after["cases"] = outcome.cases.audit()
            self._audit("rule run", f"run {outcome.run_id}", before=audit_run(before), after=after)
        return outcome

    def diff(self) -> checks.RunComparison:
        """The last two recorded runs and what changed between them."""
        from services import checks

        return checks.diff_last_runs(self.store)

    def add_layers(self, loaded: Sequence[Loaded], **meta: Any) -> list[LayerInfo]:
        """Store validated layers with their provenance (``Store.write_layers``), atomically;
        an ``accuracy_m`` must be a finite number of metres >= 0 (or None: unknown)."""
        if meta.get("accuracy_m") is not None:
            check_metres(float(meta["accuracy_m"]), name="accuracy_m", what="an expected error",
                         positive=False, example="10")
        store = self.store
        before = {item.layer: audit_layer(store, item.layer) for item in loaded}
        infos = store.write_layers([(item.layer, item.gdf) for item in loaded], **meta)
        for info in infos:
            self._audit("import", info.layer, before=before[info.layer], after={
                "rows": info.rows, "source": info.source, "licence": info.licence,
                "append": bool(meta.get("append"))})
        return infos

    def add_layer_chunks(self, layer: str, chunks: Iterable[gpd.GeoDataFrame], **meta: Any) -> LayerInfo:
        """Store one layer given in chunks of rows (``Store.write_layer_chunks``: a file larger than
        memory), atomically, audited as ``add_layers`` is."""
        store = self.store
        if meta.get("accuracy_m") is not None:
            check_metres(float(meta["accuracy_m"]), name="accuracy_m", what="an expected error",
                         positive=False, example="10")
        before = audit_layer(store, layer)
        info = store.write_layer_chunks(layer, chunks, **meta)
        self._audit("import", info.layer, before=before, after={
            "rows": info.rows, "source": info.source, "licence": info.licence, "append": bool(meta.get("append"))})
        return info

    def replacement(self, layer: str, incoming: int) -> Replacement:
        """What storing ``incoming`` rows as ``layer`` would replace (read only), so a face can
        ask before most of a layer goes."""
        return self.store.replacement(layer, incoming)

    def _may_export(self, profile: str) -> None:
        """Refuse a profile the identity may not use (a partner: internal), and every export of an
        account disabled, or given another role or areas, since this service was made
        (``services.auth.refuse_if_changed``: a download button runs its export with the service
        of the page that drew it)."""
        from services.auth import profiles_for, refuse_if_changed

        if self.identity is not None:
            refuse_if_changed(self.store, self.identity)
        if self.identity is not None and profile not in profiles_for(self.identity):
            raise HgWatchError(f"role {self.identity.role!r} may not export under profile {profile!r};"
                               f" expected one of {list(profiles_for(self.identity))}")

    def layer_file(self, filters: Filters, layer: str, fmt: str, profile: str) -> bytes:
        """One layer of the view as a download (``services.exports.layer_file``)."""
        from services import exports

        self._may_export(profile)
        frame = self.view(filters)[layer]
        data = exports.layer_file(frame, layer, fmt, profile=profile, infos=self.layers())
        self.downloaded(layer, fmt, profile, rows=len(frame))
        return data

    def downloaded(self, what: str, fmt: str, profile: str, *, rows: int | None = None) -> None:
        """Record in the audit trail that ``what`` was downloaded as ``fmt`` under ``profile``
        (a face calls it when the download happens, e.g. from a button's ``on_click``)."""
        audit.record_output(self.store, "download", what, after={"format": fmt, "profile": profile, "rows": rows},
                            who=self.identity.name if self.identity is not None else None)

    def _audit(self, action: str, target: str, *, before: object = None, after: object = None) -> None:
        """One row in the audit trail, by the service's identity if it has one, else by the actor
        of this context (``services.audit.actor``: a download runs outside the page's script)."""
        audit.record(self.store, action, target, before=before, after=after,
                     who=self.identity.name if self.identity is not None else None)

    def violations_file(self, q: Query, fmt: str, profile: str) -> bytes:
        """The violations of ``q`` as a download, in the layout of ``cli.py check --out``."""
        from services import exports

        self._may_export(profile)
        found = self.violations(q)[0]
        data = exports.violations_file(found, fmt, profile=profile, infos=self.layers(),
                                       layers=self.read_by_rules(q))
        self.downloaded("violations", fmt, profile, rows=len(found))
        return data

    def report(self, out: str | os.PathLike[str], *, area: str | None,
               layer_paths: dict[str, str] | None = None, today: date | None = None
               ) -> tuple[Path, Inventory]:
        """Write the inventory report of ``area`` to ``out`` (``services.exports``)."""
        from services import exports

        return exports.write_inventory_report(out, factors=self.settings.factors, workspace=self.store,
                                              area=area, layer_paths=layer_paths, today=today, identity=self.identity)

    def write_surface(self, out: str | os.PathLike[str], *, medium: str, samples_path: str | None = None,
                      method: str | None = None, cell_m: float | None = None,
                      max_distance_m: float | None = None) -> tuple[Surface, Path, list[Problem]]:
        """Interpolate ``medium`` from the samples in the file at ``samples_path`` (else the
        workspace's) and write a Cloud-Optimized GeoTIFF to ``out``; returns the surface, the
        path and the warnings: the file's, and one per sample left out because its unit (or
        medium) cannot be used (a row stored before imports checked units), which no longer
        refuses the surface of every medium. Unset options come from the exposure settings."""
        from services import contamination

        item = load_layer(samples_path, "samples") if samples_path else None
        if item is not None:
            samples = item.gdf
        elif self.identity is not None:  # what the account may see, and only that, is read (as --as gives it)
            from services.auth import read_layer

            samples = read_layer(self.store, "samples", self.identity)
        else:
            samples = self.store.read("samples")
        source = item.source if item else f"{self.store.path} (samples)"
        guidelines, classes = self.settings.guidelines
        classed, refused = contamination.usable_classed(samples, guidelines, classes, source=source)
        left_out = [replace(p, severity="warning", expected=f"{p.expected}; the sample was left out")
                    for p in (refused.problems if refused is not None else [])]
        surface = contamination.medium_surface(
            classed, medium=medium, exposure=self.settings.exposure, method=method, cell_m=cell_m,
            max_distance_m=max_distance_m, source=source)
        path = contamination.write_surface(surface, Path(out), medium=medium, guidelines=guidelines)
        return surface, path, (item.warnings if item else []) + left_out
