"""The query parameters each path of the partner API accepts, and the answer to any other (400).

OGC API - Features Part 1 (OGC 17-069r4), /req/core/query-param-unknown: "The server SHALL respond
with a response with the status code 400, if the request URI includes a query parameter that is not
specified in the API definition." pygeoapi 0.21 reads the names it knows and drops any other without a
word (its OpenAPI document even declares a free-form ``vendorSpecificParameters`` object, the
standard's way to allow any name; ``api.config`` takes it out), so a typo such as
``?minig_method=dredge`` used to get the whole collection with 200. The gate (``api.app.KeyGate``)
asks ``refusal`` before pygeoapi sees the request.

What each path accepts is what pygeoapi reads there and the OpenAPI document lists (``ACCEPTED``):
``f`` and ``lang`` everywhere; ``properties`` on ``queryables``; ``crs`` on one item;
on ``items`` the standard names of ``ITEMS``, ``datetime`` when the collection has a date field
(``Served.time_field``: a collection without one used to ignore it), and the collection's properties
as the asking identity sees them (``Served.fields``, the provider's own), each an equality filter. So
a partner's answer never names a restricted field, and a restricted name given by a partner is
answered as a made-up one. ``q`` (free-text search) is read by pygeoapi but not implemented here, and
``ui`` of ``/openapi`` only picks an HTML page: neither is accepted. Nor is ``profile`` of ``queryables``
(accepted until 2026-11-28): pygeoapi 0.21 does nothing for ``valid-domain`` and asks the provider for
``actual-domain``, which HgWatch's does not give, so either answer was the plain document, and a client asking
for the values a property takes would take it that there are no bounds. ``lang`` must name the one language the
service answers in (``LANGUAGES``, any case): ``lang=fr`` or ``lang=xx`` got English with 200, as if it had
been served; it gets 400 naming the value and ``en-US`` now (the OpenAPI document's enum; an
``Accept-Language`` header is negotiated as HTTP does it: English, said by ``Content-Language``).
Any other path (``/static``, an unknown one) is left to pygeoapi, as is a collection the identity is not served (404 first).

QGIS 3.22 sends the parameters of a layer's source URL (``url='http://HOST:8502/?uses_mercury=false'``,
the per-layer filter the README describes) with every request it makes for that layer: the landing
page, ``/openapi`` and the collection's description as well as its items. So the paths of ``CARRIED``
also take, and ignore, a parameter of a collection's items (of the collection named; on a path naming
none, of any collection the identity is served): a typo is still refused there, and a restricted
field of a partner too.

Also refused, because pygeoapi would read them other than as written: a name in other capitals
(names are case-sensitive, as pygeoapi reads them and OpenAPI declares them; ``BBOX`` suggests
``bbox``), a name given twice (pygeoapi keeps the last value silently), a name without a value
(``?bbox``, ``?status=``) and a value without a name (``?=x``). Every problem of a request is named
in one answer, with the closest accepted name (``difflib``) when there is a close one, and the names
the path accepts.

The values of ``sortby`` and ``properties`` (on items; ``properties`` on queryables too) are lists of
the collection's properties, and each name in them is checked here too (``listed_names``): pygeoapi
answered a name it does not know with "bad sort property" or "unknown properties specified", naming
neither the name nor what it expected, and an empty name (``sortby=status,``, a trailing comma) with
500 (an IndexError in its reading of ``sortby``). Now each gets a 400 naming the parameter, which of its
names is wrong (by position: a name that is no property the key may use, restricted or made up, is not
repeated, so no answer to a partner holds a restricted layer's field name, ``tests/test_attack_api.py``),
the closest property and the properties the key may use.
"""
from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from services.features import Served

COMMON = ("f", "lang")
LANGUAGES = ("en-US", "en")  # the values of lang: the one language the service answers in (api.config)
ITEMS = ("bbox", "bbox-crs", "crs", "filter", "filter-crs", "filter-lang", "limit", "offset", "properties",
         "resulttype", "skipGeometry", "sortby")
DATETIME = "datetime"  # on items of a collection with a date field
ACCEPTED: dict[str, tuple[str, ...]] = {
    "landing": COMMON, "openapi": COMMON, "conformance": COMMON, "collections": COMMON, "collection": COMMON,
    "schema": COMMON, "queryables": (*COMMON, "properties"), "items": (*COMMON, *ITEMS),
    "item": (*COMMON, "crs"),
}
LISTS: dict[str, tuple[str, ...]] = {"items": ("sortby", "properties"), "queryables": ("properties",)}
SHOWN = 10  # problems named in one answer at most
NAME_CHARS = 80  # characters of a given name repeated in the answer at most


@dataclass(frozen=True)
class Route:
    """A path of the API: its kind (a key of ``ACCEPTED``) and the collection it names, if any."""

    kind: str
    collection: str | None = None


def route(path: str) -> Route | None:
    """What ``path`` (percent-decoded, as ASGI gives it) is; None for a path this module leaves to pygeoapi."""
    parts = path.lstrip("/").split("/")
    if len(parts) == 1:
        kind = {"": "landing", "openapi": "openapi", "conformance": "conformance", "collections": "collections"}
        return Route(kind[parts[0]]) if parts[0] in kind else None
    if parts[0] != "collections" or not parts[1]:
        return None
    if len(parts) == 2:
        return Route("collection", parts[1])
    if len(parts) == 3 and parts[2] in ("schema", "queryables", "items"):
        return Route(parts[2], parts[1])
    return Route("item", parts[1]) if parts[2] == "items" else None


CARRIED = ("landing", "openapi", "conformance", "collections", "collection", "schema", "queryables")


@dataclass(frozen=True)
class Accepted:
    """What a path accepts: its own standard names and properties (what the OpenAPI document lists for
    it), and the parameters of items it takes and ignores (``CARRIED``)."""

    names: list[str]
    properties: list[str]
    carried: list[str]


def accepted(where: Route, collections: Sequence[Served] | None) -> Accepted:
    """The names ``where`` accepts, with ``collections`` those whose items parameters count (on items,
    and on a ``CARRIED`` path naming one: that one; on one naming none, all the identity is served).
    Without them (not looked up yet): only the names every collection's path accepts."""
    names = list(ACCEPTED[where.kind])
    items = sorted({*COMMON, *ITEMS, *([DATETIME] if any(c.time_field for c in collections or ()) else [])},
                   key=str.lower)
    fields = sorted({str(f) for c in collections or () for f in c.fields})
    if where.kind == "items":
        return Accepted(items, fields, [])
    carried = sorted(set(items + fields) - set(names), key=str.lower) if where.kind in CARRIED else []
    return Accepted(sorted(names, key=str.lower), [], carried)


def shown(name: str) -> str:
    """``name`` quoted, cut to ``NAME_CHARS`` characters: a value of the request repeated in an answer."""
    return repr(name if len(name) <= NAME_CHARS else name[:NAME_CHARS] + "...")


def _closest(name: str, names: Sequence[str]) -> str | None:
    lower = {n.lower(): n for n in names}
    close = difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=0.6)
    return lower[close[0]] if close else None


def lists_names(where: Route, pairs: Sequence[tuple[str, str]]) -> bool:
    """Whether ``pairs`` give a parameter whose value is a list of the collection's properties on
    ``where`` (``LISTS``): its names are checked against the collection's (``refusal`` with it)."""
    return any(name in LISTS.get(where.kind, ()) for name, _ in pairs)


def listed_names(where: Route, pairs: Sequence[tuple[str, str]], collections: Sequence[Served]) -> list[str]:
    """A problem for each ``sortby`` or ``properties`` value (``LISTS``) of ``pairs`` that names an empty or
    unknown property of ``collections`` (as the identity is served them): the parameter, the position of
    each bad name, the closest property and the names expected. ``sortby`` takes ``-`` (descending) or
    ``+`` (ascending) before a name; a ``+`` written as is in a URL reads as a space, so a name with a
    space before it is told to write ``%2B``."""
    fields = sorted({str(f) for c in collections for f in c.fields}, key=str.lower)
    problems: list[str] = []
    for name, value in pairs:
        if name not in LISTS.get(where.kind, ()) or value == "":
            continue  # (an empty value is refused by its name)
        items = value.split(",")
        wrong: list[str] = []
        for k, item in enumerate(items, 1):
            prop = item[1:] if name == "sortby" and item[:1] in ("-", "+") else item
            if prop == "":
                wrong.append(f"name {k} of {len(items)} is empty (a comma at the start or the end, or two commas"
                             " in a row)")
            elif prop not in fields:
                close = _closest(prop.strip(), fields)
                hint = f" (did you mean {close!r}?)" if close else ""
                if name == "sortby" and prop.startswith(" ") and prop.strip() in fields:
                    hint = f" (a '+' written as is in a URL reads as a space: write %2B{prop.strip()})"
                wrong.append(f"name {k} of {len(items)} is not a property of {where.collection}{hint}")
        if wrong:
            order = " each with '-' before it for descending order or '+' (%2B) for ascending," if name == "sortby" else ""
            problems.append(f"{name}: {'; '.join(wrong)}; expected property names separated by commas,{order} of:"
                            f" {', '.join(fields)}")
    return problems


def refusal(where: Route, pairs: Sequence[tuple[str, str]], collections: Sequence[Served] | None) -> str | None:
    """The description of the 400 answer to the query ``pairs`` (name, value) on ``where``, or None
    when ``where`` accepts every one of them (see the module docstring and ``accepted``); with
    ``collections``, also the names in the values of ``sortby`` and ``properties`` (``listed_names``)."""
    taken = accepted(where, collections)
    allowed = [*taken.names, *taken.properties, *taken.carried]
    counts = Counter(name for name, _ in pairs)
    empty = {name for name, value in pairs if value == ""}
    problems: list[str] = []
    for name, count in counts.items():
        if name == "":
            problems.append("a value without a parameter name")
        elif name == DATETIME and where.kind == "items" and collections and name not in allowed:
            problems.append(f"unknown parameter {DATETIME!r} ({where.collection} has no date field to filter on)")
        elif name not in allowed:
            close = _closest(name, allowed)
            problems.append(f"unknown parameter {shown(name)}" + (f" (did you mean {close!r}?)" if close else ""))
        elif count > 1:
            problems.append(f"{name!r} is given {count} times; expected once")
        elif name in empty:
            problems.append(f"{name!r} has no value; expected {name}=VALUE")
        elif name == "lang" and dict(pairs)[name].lower() not in {n.lower() for n in LANGUAGES}:
            problems.append(f"lang={shown(dict(pairs)[name])}: this service answers in English only; expected"
                            f" {' or '.join(LANGUAGES)}, or no lang")
    once = [(n, v) for n, v in pairs if counts[n] == 1 and n in allowed]
    values = listed_names(where, once, collections) if collections else []
    if not problems and values:
        return f"query parameters: {'; '.join(values[:SHOWN])}."
    problems += values
    if not problems:
        return None
    more = f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
    expected = f"expected only: {', '.join(taken.names)}"
    if taken.properties:
        expected += f"; or, to filter on a property of {where.collection} by its value: {', '.join(taken.properties)}"
    if where.kind in CARRIED:
        expected += (" (a parameter of a collection's items is taken here too, and ignored: QGIS 3.22 sends those"
                     " of a layer's source URL with each request for that layer)")
    return f"query parameters: {'; '.join(problems[:SHOWN])}{more}. Names are case-sensitive; {expected}."
