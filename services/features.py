"""The features the OGC API serves, per identity: each layer as the identity may read it, the
violations with their shortest lines, and the samples classed against the guidelines.

``FeatureSource(settings).collections(identity)`` reads through the HgWatch service with that
identity (``services.hgwatch.HgWatch``, so ``services.auth.read_layer``: a partner's read never
selects a restricted column, on PostGIS it runs as ``hgw_partner`` on the ``partner`` views).
A collection keeps its frame and gives the RFC 7946 GeoJSON features of a request (lon/lat, 7
decimals, counter-clockwise exterior rings; ``Served.features``): one of at most ``MADE_AHEAD``
features makes them all when it is built, a larger one makes those of each request from the rows it
returns, so a national layer of 1e6 sites costs its frame and not a million feature dicts. The collections
are kept per role and admin areas until the store's layers (source,
rows, import time, shareable marks), its data (``Store.change_stamp``: also rows edited in place, by
QGIS for instance) or a settings file change; they are read again at most once a second
(``RECHECK_S``), so new data is served within a second and a busy second costs one small read. The
audit rows the API writes do not count as a change.

Feature ids: a layer's own id field (``site_id``, ``sample_id``...); a violation's id is the first
20 hex digits of the SHA-256 of its ``violation_id`` (which contains ``/``), so it is URL-safe and
the same in every run; ``violation_id`` stays a property. A violation's geometry is its shortest
line to the water body or village when it has one (``nearest_line``, also kept as WKT as in the
violations export), else the flagged site's own geometry.

``surfaces`` (one feature per sampled medium: the footprint, sample count, settings and guideline
of the surface ``cli.py surface`` would write; ``services.surfaces``) comes from the same role-limited
samples read.

``case_counts`` (cases by admin area and status, no geometry) is counted by the store at each
request, never cached.

``select`` filters a collection (bbox, datetime, property values, a mask) and sorts it, in
positions of its features.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import HgWatchError, InputError
from layers.catalogue import CATALOGUE
from layers.io.export import COORD_DECIMALS, Provenance, apply_profile
from layers.io.violations import LINE_COLUMN, VIOLATION_SPEC
from layers.store.base import UNRECORDED, LayerInfo, Store
from layers.store.open import open_store
from services.auth import Identity
from services.cases import case_counts
from services.exports import provenance
from services.hgwatch import HgWatch, Query
from services.surfaces import surfaces_frame
from settings import Settings

VIOLATIONS = "violations"
CASE_COUNTS = "case_counts"
SURFACES = "surfaces"
ID = "id"  # the feature id member of each GeoJSON feature
CACHED = 8  # (role, areas) kept
MADE_AHEAD = 50_000
"""A collection of at most this many features makes them all once, when it is built (about 1 s and 0.1 GB
at this size); a larger one makes the features of each request from its rows (a national layer of 1e6 sites
would take some 20 s and 2 GB ahead)."""
RECHECK_S = 1.0  # how often the store's layer table is read again to see whether the data changed, seconds


@dataclass(frozen=True)
class Served:
    """One collection as one identity may see it.

    Attributes
    ----------
    name : the collection id (the layer name, or ``violations``).
    title : a title for people.
    frame : the attributes and geometry, in feature order (EPSG:4326).
    ids : the feature ids, in order.
    fields : JSON Schema of each property.
    time_field : the date property ``datetime`` filters on (None: the layer has none).
    provenance : source and licence of each layer the collection comes from.
    accuracy_m : the expected positional error of the layer in metres (None: unknown).
    """

    name: str
    title: str
    frame: gpd.GeoDataFrame
    ids: list[str]
    fields: dict[str, dict[str, str]]
    time_field: str | None
    provenance: list[Provenance]
    accuracy_m: float | None
    positions: dict[str, int] = field(default_factory=dict)
    made: tuple[dict[str, object], ...] | None = None  # every feature, made once (collections up to MADE_AHEAD)

    def position(self, feature_id: str) -> int | None:
        """Where feature ``feature_id`` is, or None."""
        return self.positions.get(feature_id)

    def features(self, positions: Sequence[int]) -> list[dict[str, object]]:
        """The GeoJSON features at ``positions`` (new dicts: the caller may change them), in that order.

        Each is made from its own row alone, so a feature is the same whichever page it is on:
        ``{"type": "Feature", "id": ..., "geometry": ..., "properties": ...}`` with the properties
        as pandas writes the row to JSON (numbers to 15 significant digits, days as YYYY-MM-DD,
        missing values as null) and the geometry in 2D, on a 1e-7 degree grid, exterior rings
        counter-clockwise, null when missing or empty. A collection of at most ``MADE_AHEAD``
        features made them all when it was built; a larger one makes those of each request.
        """
        if self.made is not None:
            return [{**f, "properties": dict(f["properties"])} for f in map(self.made.__getitem__, positions)]  # type: ignore[call-overload]
        return self._make(positions)

    def _make(self, positions: Sequence[int]) -> list[dict[str, object]]:
        at = np.asarray(positions, dtype=np.intp)
        rows = self.frame.iloc[at]
        attrs = pd.DataFrame(rows.drop(columns=rows.geometry.name))
        for col in attrs.columns:
            if pd.api.types.is_datetime64_any_dtype(attrs[col]):
                attrs[col] = attrs[col].dt.strftime("%Y-%m-%d").astype(object).where(attrs[col].notna(), None)
        records = json.loads(attrs.to_json(orient="records", double_precision=15, date_format="iso")) if len(attrs) else []
        geoms = shapely.force_2d(rows.geometry.to_numpy())
        geoms = shapely.orient_polygons(shapely.set_precision(geoms, 10.0 ** -COORD_DECIMALS, mode="pointwise"))
        shapes = [None if g is None or g.is_empty else shapely.geometry.mapping(g) for g in geoms]
        return [{"type": "Feature", ID: self.ids[i], "geometry": shape, "properties": props}
                for i, shape, props in zip(at.tolist(), shapes, records)]


def profile_of(identity: Identity) -> str:
    """The export profile whose fields ``identity`` gets: ``partner`` for a role that sees no
    restricted field, else ``internal`` (a field coordinator's restricted fields outside its areas
    are empty already)."""
    return "partner" if identity.rights.restricted == "none" else "internal"


def violation_feature_id(violation_id: str) -> str:
    """The URL-safe feature id of a violation: 20 hex digits of the SHA-256 of its id."""
    return hashlib.sha256(violation_id.encode("utf-8")).hexdigest()[:20]


class FeatureSource:
    """The collections of the store ``settings`` names, per identity, kept while the store's
    layers and the settings files stay the same."""

    def __init__(self, settings: Settings, *, recheck_s: float = RECHECK_S) -> None:
        self.settings = settings
        self.store = open_store(settings.workspace, settings.database_url)
        self.recheck_s = recheck_s
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple[object, ...], dict[str, Served]] = OrderedDict()
        self._checked: tuple[float, tuple[tuple[LayerInfo, ...], tuple[float, ...]]] | None = None

    def _stamp(self) -> tuple[tuple[LayerInfo, ...], tuple[float, ...]]:
        """What the collections depend on: the store's layer table, and the settings files' times with
        the store's change stamp, read again at most every ``recheck_s`` seconds."""
        now = time.monotonic()
        checked = self._checked
        if checked is not None and now - checked[0] < self.recheck_s:
            return checked[1]
        layers: tuple[LayerInfo, ...] = tuple(self.store.layers()) if self.store.exists() else ()
        stamps = self.settings.stamp() + tuple(float(x) for x in self.store.change_stamp())  # rows edited in place too
        self._checked = (now, (layers, stamps))
        return layers, stamps

    def layer_names(self) -> frozenset[str]:
        """The layer types the store holds now (read again at most every ``recheck_s`` seconds):
        what the list of collections depends on."""
        return frozenset(info.layer for info in self._stamp()[0])

    def collection(self, identity: Identity, name: str) -> Served | None:
        """Collection ``name`` as ``identity`` may see it, or None; ``case_counts`` is counted now."""
        if name == CASE_COUNTS:
            return case_counts_served(self.store, identity)
        return self.collections(identity).get(name)

    def collections(self, identity: Identity) -> dict[str, Served]:
        """Every layer and ``violations`` as ``identity`` may see them, by name (see the module docstring)."""
        stamp = self._stamp()
        key = (identity.role, identity.areas, stamp)
        with self._lock:
            if key not in self._kept:
                for old in [k for k in self._kept if k[2] != stamp]:  # made before a change: never asked again,
                    del self._kept[old]  # and a copy of 1e6 sites holds ~0.67 GB (up to CACHED of them were kept)
                self._kept[key] = _collections(HgWatch(self.settings, identity), profile_of(identity))
                while len(self._kept) > CACHED:
                    self._kept.popitem(last=False)
            self._kept.move_to_end(key)
            return self._kept[key]


def _classed(hg: HgWatch, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The samples ``frame`` (as the profile gives it) with each sample's class columns, as the app
    shows them: a sample whose unit or medium cannot be used keeps its row with no class (the others
    are still classed: one bad unit served every sample unclassed); the whole frame unclassed only
    when the guideline settings cannot be read. The columns are the profile's own and the classes."""
    from services import contamination

    try:
        guidelines, classes = hg.settings.guidelines
    except HgWatchError:  # the guideline settings cannot class them: served unclassed
        return frame
    if not {"medium", "hg", "unit"} <= set(frame.columns):
        return frame
    classed, _ = contamination.usable_classed(frame.drop(columns=["_row"], errors="ignore"), guidelines, classes,
                                              source="samples layer")
    added = [c for c in classed.columns if c not in frame.columns and c not in ("_row", classed.geometry.name)]
    return frame.join(pd.DataFrame(classed[added]))


def _collections(hg: HgWatch, profile: str) -> dict[str, Served]:
    infos = hg.layers()
    frames = hg.frames()
    out: dict[str, Served] = {}
    for info in infos:
        spec = CATALOGUE[info.layer]
        frame = frames[info.layer]
        frame = apply_profile(frame, spec, profile, info.shareable)
        if info.layer == "samples" and not frame.empty:  # classed as the app shows them
            frame = _classed(hg, frame)
        ids = [str(v) for v in frame[spec.id_field]] if spec.id_field in frame else [str(i) for i in range(len(frame))]
        dates = [f.name for f in spec.fields if f.dtype == "date" and f.name in frame.columns]
        out[info.layer] = _served(info.layer, spec.title, frame, ids, dates[0] if dates else None,
                                  provenance(infos, [info.layer]), info.accuracy_m)
    if "samples" in frames and not frames["samples"].empty:  # issue 14: what each medium's surface would be
        media = surfaces_frame(frames["samples"], hg.settings.guidelines[0], hg.settings.exposure)
        out[SURFACES] = _served(SURFACES, "Interpolated surfaces (metadata; cli.py surface writes one)", media,
                                [str(m) for m in media["medium"]], None, provenance(infos, ["samples"]), None)
    found = hg.violations(Query())[0]
    if len(found) or any(i.layer == "mining_sites" for i in infos):
        out[VIOLATIONS] = _violations(found, profile, provenance(infos, hg.read_by_rules(Query())))
    return out


def case_counts_served(store: Store, identity: Identity) -> Served:
    """The number of cases by admin area and status (``services.cases.case_counts``: counted by the
    store, no case row read, so every role may have them), counted at each request. Features
    without geometry; id ``AREA|STATUS`` (``-`` for no area)."""
    counts = case_counts(store, identity, ("admin_area", "status"))
    frame = gpd.GeoDataFrame(counts.astype({"cases": "int64"}), geometry=[None] * len(counts), crs=4326)
    ids = [f"{'-' if pd.isna(a) or a is None else a}|{st}" for a, st in zip(counts["admin_area"], counts["status"])]
    prov = [Provenance(CASE_COUNTS, "the case register of this store (cases opened by recorded rule runs)", UNRECORDED)]
    return _served(CASE_COUNTS, "Case counts by admin area and status", frame, ids, None, prov, None)


def _violations(found: gpd.GeoDataFrame, profile: str, prov: list[Provenance]) -> Served:
    frame = apply_profile(found.to_crs(4326) if found.crs else found, VIOLATION_SPEC, profile)
    frame = frame.reset_index(drop=True)
    if LINE_COLUMN in frame.columns:
        lines = gpd.GeoSeries(frame[LINE_COLUMN], index=frame.index, crs=4326)
        has = (lines.notna() & ~lines.is_empty).to_numpy()
        geometry = np.where(has, lines.to_numpy(), frame.geometry.to_numpy())
        frame[LINE_COLUMN] = pd.Series(
            shapely.to_wkt(shapely.set_precision(lines.to_numpy(), 10.0 ** -COORD_DECIMALS, mode="pointwise"),
                           rounding_precision=COORD_DECIMALS, trim=True), index=frame.index, dtype=object)
        frame = frame.set_geometry(gpd.GeoSeries(geometry, index=frame.index, crs=4326))
    ids = [violation_feature_id(str(v)) for v in frame.get("violation_id", pd.Series(dtype=object))]
    return _served(VIOLATIONS, "Rule violations", frame, ids, None, prov, None)


def _schema(series: pd.Series) -> dict[str, str]:
    if pd.api.types.is_bool_dtype(series):
        return {"type": "boolean"}
    if pd.api.types.is_integer_dtype(series):
        return {"type": "integer"}
    if pd.api.types.is_numeric_dtype(series):
        return {"type": "number"}
    if pd.api.types.is_datetime64_any_dtype(series):
        return {"type": "string", "format": "date"}
    return {"type": "string"}


def _served(name: str, title: str, frame: gpd.GeoDataFrame, ids: list[str], time_field: str | None,
            prov: list[Provenance], accuracy_m: float | None) -> Served:
    frame = frame.reset_index(drop=True)
    fields = {str(c): _schema(frame[c]) for c in frame.columns if c != frame.geometry.name}
    served = Served(name, title, frame, ids, fields, time_field, prov, accuracy_m, dict(zip(ids, range(len(ids)))))
    if len(frame) > MADE_AHEAD:
        return served
    return replace(served, made=tuple(served._make(range(len(frame)))))


# ---------------------------------------------------------------- selecting
def _boxes(bbox: Sequence[float]) -> list[shapely.Geometry]:
    west, south, east, north = (float(v) for v in (bbox[0], bbox[1], bbox[-2], bbox[-1]))
    if west <= east:
        return [shapely.box(west, south, east, north)]
    return [shapely.box(west, south, 180.0, north), shapely.box(-180.0, south, east, north)]  # across 180°


def _day(text: str) -> pd.Timestamp | None:
    text = text.strip()
    if text in ("", ".."):
        return None
    try:
        return pd.Timestamp(text).tz_localize(None) if pd.Timestamp(text).tzinfo else pd.Timestamp(text)
    except ValueError:
        raise InputError(f"datetime {text!r}: expected an RFC 3339 date or date-time, e.g. 2024-05-01") from None


def _in_time(values: pd.Series, datetime_: str) -> np.ndarray:
    when = pd.to_datetime(values, errors="coerce")
    if "/" in datetime_:
        start_text, end_text = datetime_.split("/", 1)
        start, end = _day(start_text), _day(end_text)
        keep = when.notna().to_numpy().copy()
        if start is not None:
            keep &= (when >= start.normalize()).to_numpy()
        if end is not None:
            keep &= (when <= end).to_numpy()
        return keep
    day = _day(datetime_)
    if day is None:
        return np.ones(len(values), dtype=bool)
    return (when.dt.normalize() == day.normalize()).to_numpy()


def _equals(values: pd.Series, text: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values):
        if text.lower() not in ("true", "false"):
            raise InputError(f"value {text!r}: expected true or false")
        return (values == (text.lower() == "true")).fillna(False).to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(values):
        try:
            number = float(text)
        except ValueError:
            raise InputError(f"value {text!r}: expected a number") from None
        return (values.astype(float) == number).fillna(False).to_numpy(dtype=bool)
    if pd.api.types.is_datetime64_any_dtype(values):
        return (values.dt.strftime("%Y-%m-%d") == text).fillna(False).to_numpy(dtype=bool)
    return (values.astype(object) == text).to_numpy(dtype=bool)


def select(served: Served, *, bbox: Sequence[float] = (), datetime_: str | None = None,
           properties: Sequence[tuple[str, str]] = (), mask: np.ndarray | None = None,
           sortby: Sequence[tuple[str, bool]] = ()) -> Sequence[int]:
    """Positions of the features of ``served`` that pass every filter, sorted: a list, or with no
    filter and no sort ``range(len(served.frame))`` (a page of a national layer makes no million ints).

    Parameters
    ----------
    bbox : W, S, E, N in degrees (a 6-number box: its 2D corners); features intersecting it. W > E
        crosses the antimeridian.
    datetime_ : a day or date-time, or an interval ``start/end`` (``..`` or empty: open), on the
        collection's ``time_field``; rows without a date are left out. A collection without one
        ignores it.
    properties : (field, value) pairs, each equal (text compared as given; numbers, true/false and
        days by value).
    mask : a boolean array in feature order (a CQL2 filter's result).
    sortby : (field, ascending) pairs.

    Raises
    ------
    InputError
        A value that cannot be compared with its field, or a bad datetime.
    """
    frame = served.frame
    if not (len(bbox) or (datetime_ and served.time_field) or properties or mask is not None or sortby):
        return range(len(frame))
    keep = np.ones(len(frame), dtype=bool)
    if len(bbox) and len(frame):
        hits = np.zeros(len(frame), dtype=bool)
        for box in _boxes(bbox):
            hits |= np.asarray(shapely.intersects(frame.geometry.to_numpy(), box), dtype=bool)
        keep &= hits
    if datetime_ and served.time_field:
        keep &= _in_time(frame[served.time_field], datetime_)
    for name, value in properties:
        keep &= _equals(frame[name], str(value))
    if mask is not None:
        keep &= np.asarray(mask, dtype=bool)
    positions = np.flatnonzero(keep)
    if sortby and len(positions):
        order = frame.iloc[positions].sort_values([n for n, _ in sortby], ascending=[a for _, a in sortby],
                                                  kind="stable", na_position="last")
        return order.index.to_numpy(dtype=np.intp).tolist()  # Python ints, made in C (1e6: 16 ms, not 160)
    return positions.tolist()


def extent(served: Served) -> tuple[list[float], tuple[str | None, str | None]]:
    """The bbox (W, S, E, N; the whole world when empty) and the first and last day of ``served``."""
    geoms = served.frame.geometry
    geoms = geoms[geoms.notna() & ~geoms.is_empty]
    box = [float(v) for v in geoms.total_bounds] if len(geoms) else [-180.0, -90.0, 180.0, 90.0]
    if not served.time_field:
        return box, (None, None)
    days = pd.to_datetime(served.frame[served.time_field], errors="coerce").dropna()
    if days.empty:
        return box, (None, None)
    return box, (days.min().date().isoformat(), days.max().date().isoformat())

