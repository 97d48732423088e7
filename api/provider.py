"""Our pygeoapi feature provider: every collection read through HgWatch's role-limited read path.

pygeoapi loads ``api.provider.HgWatchProvider`` (named in its config by this Python path) for
each request that touches a collection's data, in a worker thread. The request's identity comes
from the API-key gate (``api.app``) through ``ASKING``, a context variable the gate sets and the
worker thread inherits; without one the provider refuses to read anything. The features come
from ``services.features.FeatureSource`` with that identity, so a partner's request never reads a
restricted column, on either back end; pygeoapi's own GeoPackage and PostgreSQL providers never
touch the store.

The provider also notes which collection a request read and how many features it returned, for
the gate's one audit row per request, and why the store could not be read when it answers 503
(``StoreUnreadable``: the gate adds ``Retry-After`` and logs the reason).

A ``filter`` is read by the gate (``api.cql2_read`` for CQL2 text, pygeofilter's ECQL parser for
``cql-text``: ``Asking.filterq``) and evaluated here by ``api.cql2_mask`` over the collection's frame as the
identity is served it, the spatial functions over the geometries its features carry (``received``):
planar in CRS84, as CQL2 defines them. ``read_by_gate`` stands in for pygeoapi's own parse of ``filter``.
"""
from __future__ import annotations

import contextvars
import copy
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar

import numpy as np
import shapely
from pygeoapi.provider.base import (
    BaseProvider,
    ProviderConnectionError,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
)
from pygeofilter import ast

from api import cql2_mask
from geo.errors import HgWatchError
from layers.io.export import COORD_DECIMALS, described
from services.auth import Identity
from services.features import VIOLATIONS, FeatureSource, Served, case_counts_served, profile_of, select

LOGGER = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Asking:
    """One request: who asks, and what it read (filled in by the provider)."""

    identity: Identity
    collection: str | None = None
    features: int | None = None
    unreadable: str | None = None  # why the store could not be read (the request was answered 503)
    served: Served | None = None  # the collection looked up for this request (``served_to``), kept for the provider
    filterq: Any = None  # the request's filter, read by the gate (``api.app.KeyGate``: CQL2 text or ECQL)


class StoreUnreadable(ProviderConnectionError):
    """The store cannot be read now (a writer kept it locked too long, it is not a GeoPackage any more): 503."""

    http_status_code = HTTPStatus.SERVICE_UNAVAILABLE


ASKING: contextvars.ContextVar[Asking | None] = contextvars.ContextVar("hgwatch_api_asking", default=None)
_source: list[FeatureSource] = []  # the one source of this process (``use``)


def use(source: FeatureSource) -> None:
    """Serve the collections of ``source`` in this process."""
    _source[:] = [source]


def _read(asking: Asking, what: Callable[[FeatureSource], T]) -> T:
    """``what`` of this process's source; StoreUnreadable (503) when the store cannot be read now."""
    if not _source:
        raise ProviderConnectionError(user_msg="no collections are served by this process")
    try:
        return what(_source[0])
    except HgWatchError as exc:
        LOGGER.error("collections of %s: %s", asking.identity.name, exc)
        asking.unreadable = f"{type(exc).__name__}: {exc}"
        raise StoreUnreadable(user_msg="the store cannot be read now; try again later") from None


def served_to(asking: Asking, name: str) -> Served | None:
    """Collection ``name`` as the identity of ``asking`` may see it (None: not served to it), looked up
    once a request: the gate's parameter check (``api.parameters``) and the provider share it.

    Raises
    ------
    StoreUnreadable
        The store cannot be read now (the reason is noted in ``asking.unreadable``): 503.
    """
    if asking.served is not None and asking.served.name == name:
        return asking.served
    served = _read(asking, lambda source: source.collection(asking.identity, name))
    if served is not None:
        asking.collection, asking.served = name, served
    return served


def every_served(asking: Asking) -> list[Served]:
    """Every collection served to the identity of ``asking``, ``case_counts`` too (StoreUnreadable as
    ``served_to``)."""
    return _read(asking, lambda source: [*source.collections(asking.identity).values(),
                                         case_counts_served(source.store, asking.identity)])


def _served(name: str) -> tuple[Asking, Served]:
    asking = ASKING.get()
    if asking is None:
        raise ProviderConnectionError(user_msg="no identity for this request")
    served = served_to(asking, name)
    if served is None:
        raise ProviderItemNotFoundError(user_msg="Collection not found")
    return asking, served


def restored(node: Any, literals: dict[str, str]) -> Any:
    """The pygeofilter tree ``node`` with each string that is a placeholder of ``literals`` (the ECQL
    literals holding a quote, ``api.app.cql_literals``) its literal again."""
    if not literals:
        return node
    if isinstance(node, str):
        return literals.get(node, node)
    if isinstance(node, (list, tuple)):
        return type(node)(restored(n, literals) for n in node)
    if isinstance(node, ast.Node):  # (dataclasses, and plain classes such as Not)
        node = copy.copy(node)
        for name, value in vars(node).items():
            setattr(node, name, restored(value, literals))
    return node


def read_by_gate(text: str) -> Any:
    """The filter of this request as the gate read it (pygeoapi calls this for ``filter``'s text, in place
    of its ECQL parse: ``api.app.create_app``); ValueError (pygeoapi's 400) when the gate read none."""
    asking = ASKING.get()
    if asking is None or asking.filterq is None:
        raise ValueError(f"filter {text!r} was not read by the gate")
    return asking.filterq


_received: dict[int, tuple[weakref.ref[Served], np.ndarray]] = {}  # id(served) -> its geometries, while it lives
_received_lock = threading.Lock()


def received(served: Served) -> np.ndarray:
    """The geometries of ``served`` as its features carry them (``Served.features``: 2D, on the 1e-7 degree
    grid; orientation aside, which no predicate reads), in feature order: what a spatial filter reads. Made
    once per collection (100,000 points: 0.8 s) and kept while the collection is (``FeatureSource`` keeps it
    until the store or settings change)."""
    with _received_lock:
        kept = _received.get(id(served))
        if kept is not None and kept[0]() is served:
            return kept[1]
    geoms = shapely.force_2d(served.frame.geometry.to_numpy())
    geoms = np.asarray(shapely.set_precision(geoms, 10.0 ** -COORD_DECIMALS, mode="pointwise"))
    key = id(served)

    def forget(_ref: weakref.ref[Served]) -> None:
        with _received_lock:
            if _received.get(key, (None,))[0] is _ref:
                del _received[key]
    with _received_lock:
        _received[key] = (weakref.ref(served, forget), geoms)
    return geoms


def _mask(served: Served, filterq: Any) -> np.ndarray:
    """The filter ``filterq`` (a pygeofilter tree, ``api.cql2_mask``) over the collection as this identity is
    served it: its own columns, and the geometries it receives."""
    try:
        return cql2_mask.mask(served.frame, filterq, geometry=lambda: received(served))
    except cql2_mask.FilterError as exc:
        raise ProviderInvalidQueryError(user_msg=str(exc)) from None
    except Exception:  # a tree the evaluator cannot apply to these columns: logged, and a 400 that names nothing
        LOGGER.exception("filter %r on %s", filterq, served.name)
        raise ProviderInvalidQueryError(user_msg="filter: this CQL2 expression cannot be applied here") from None


def not_found(served: Served) -> str:
    """The 404 of a feature id that is not one of ``served`` (pygeoapi's said "identifier not found", naming
    neither the collection nor what an id is). The id is not repeated: the answer is the same for every id no
    feature of the key has, a personal row's (a hair sample) as a made-up one's, and holds neither
    (tests/test_attack_personal_rows.py searches every answer for such ids)."""
    which = ("the first 20 hex digits of the SHA-256 of its violation_id" if served.name == VIOLATIONS
             else "its id")
    return (f"no feature of {served.name} served to this key has the id this path names (not repeated); expected"
            f" the id of one of its features ({which}: the 'id' of each feature of /collections/{served.name}/items;"
            " percent-encode a '/' in it as %2F)")


class HgWatchProvider(BaseProvider):
    """A collection of HgWatch (``data`` is the collection id), as the requesting identity may see it."""

    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        self.asking, self.served = _served(str(self.data))
        self._fields = dict(self.served.fields)

    def get_fields(self) -> dict[str, dict[str, str]]:
        """The properties of the collection for this identity, as JSON Schema types."""
        return dict(self.served.fields)

    def _meta(self) -> dict[str, object]:
        return {"generator": "HgWatch", "profile": profile_of(self.asking.identity),
                "expected_error_m": self.served.accuracy_m,
                "layers": [described(p) for p in self.served.provenance]}

    def query(self, offset: int = 0, limit: int = 10, resulttype: str = "results", bbox: list[float] | None = None,
              datetime_: str | None = None, properties: list[tuple[str, str]] | None = None,
              sortby: list[dict[str, str]] | None = None, select_properties: list[str] | None = None,
              skip_geometry: bool = False, q: str | None = None, filterq: Any = None,
              **kwargs: Any) -> dict[str, object]:
        """A page of the features that pass the filters (bbox, datetime, properties, CQL2)."""
        if q:
            raise ProviderInvalidQueryError(user_msg="q (free-text search) is not supported; use filter=")
        try:
            positions = select(self.served, bbox=bbox or (), datetime_=datetime_, properties=properties or (),
                               mask=_mask(self.served, filterq) if filterq is not None else None,
                               sortby=[(s["property"], s.get("order", "+") != "-") for s in sortby or ()])
        except HgWatchError as exc:
            raise ProviderInvalidQueryError(user_msg=str(exc)) from None
        page = [] if resulttype == "hits" else positions[offset:offset + limit]
        features = [self._trimmed(f, select_properties, skip_geometry) for f in self.served.features(page)]
        self.asking.features = len(features)
        return {"type": "FeatureCollection", "features": features, "numberMatched": len(positions),
                "numberReturned": len(features), "hgwatch": self._meta()}

    def get(self, identifier: str, **kwargs: Any) -> dict[str, object]:
        """One feature by its id; 404 when there is none."""
        position = self.served.position(str(identifier))
        if position is None:
            raise ProviderItemNotFoundError(user_msg=not_found(self.served))
        self.asking.features = 1
        return self.served.features([position])[0]

    @staticmethod
    def _trimmed(feature: dict[str, Any], select_properties: list[str] | None, skip_geometry: bool) -> dict[str, Any]:
        if select_properties:
            feature["properties"] = {k: v for k, v in feature["properties"].items() if k in select_properties}
        if skip_geometry:
            feature["geometry"] = None
        return feature

    def __repr__(self) -> str:
        return f"<HgWatchProvider> {self.data}"
