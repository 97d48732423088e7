"""What the partner API claims and links to: only what it serves.

The gate (``api.app.KeyGate``) answers JSON only (``f=html`` is 400) and is read-only (405 for any
method but GET and HEAD), but pygeoapi 0.21 hard-codes, whatever its configuration says:

- in ``/conformance``, the classes of HTML pages (``.../conf/html`` of OGC API - Common, Features and
  Records) and of OGC API - Features Part 4 (``create-replace-delete``). ``configure`` keeps them out
  of its lists; its ``conformance`` also extended its module-level list at every request (a list that
  grew by about ten entries per collection per request): ``Classes`` adds only a class not yet there;
- on the landing page, the collections, a collection, an items page and one feature, links to
  ``?f=html`` alternates and to HTML pages (``type: text/html``: the OpenAPI page, ``about``), and on
  the landing page to ``/processes``, ``/jobs`` and ``/TileMatrixSets``: there are no processes, jobs
  or tiles here (pygeoapi answered empty lists; the gate now answers 404); the same as the
  ``distribution`` entries of the JSON-LD of the collections. ``without_refused`` drops those links
  from a body (a JSON-LD page of items has none);
- nothing of OGC API - Features Part 3 (filter) or CQL2, which the service reads (``api.cql2_read``): the
  classes of ``FILTER_CLASSES`` are added to its list of features classes;
- in the OpenAPI document, ``html`` among the values of ``f``, the ``/jobs`` paths and OPTIONS and
  DELETE operations (``api.config.as_accepted`` drops them, with ``refused_path``).

A body is rewritten only when it holds a refused link. A page of items (up to ``api.config.MAX_ITEMS``
features) is not parsed: when ``"links":[`` occurs once in it (inside a JSON string a ``"`` is
always escaped, so those bytes are a member named links), that member, the last but the time stamp,
is the page's, and only that tail (the links and the time stamp) is parsed and written again. A page
with more (a feature with links) or whose tail does not parse as the end of the top-level object is
parsed whole. Links kept are written as pygeoapi writes them (compact, ASCII), so ``next`` and ``prev``
are byte for byte the same.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

FORMATS = ("json", "jsonld")  # the values of f the gate accepts
HTML = "text/html"
UNSERVED = ("/processes", "/jobs", "/TileMatrixSets", "/stac")  # pygeoapi's, with nothing of HgWatch behind them
REFUSED_CLASS_ENDS = ("/conf/html", "/conf/create-replace-delete")
TAIL = b',"links":['
CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
FILTER_CLASSES = (  # OGC API - Features Part 3 and CQL2 (OGC 21-065r2) classes met by filter= (api.cql2_read, cql2_mask)
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    *(CQL2 + name for name in (
        "cql2-text", "basic-cql2", "advanced-comparison-operators", "case-insensitive-comparison",
        "accent-insensitive-comparison", "basic-spatial-functions", "basic-spatial-functions-plus",
        "spatial-functions", "temporal-functions", "property-property")),
)  # not claimed: cql2-json (filter-lang is refused), arithmetic (no %, div, ^), array-functions, functions


def refused_class(uri: str) -> bool:
    """Whether conformance class ``uri`` is one whose requests the gate refuses (HTML pages, writes)."""
    return uri.rstrip("/").endswith(REFUSED_CLASS_ENDS)


class Classes(list[str]):  # pygeoapi's module list: extended at each /conformance
    """pygeoapi's list of conformance classes: extending it adds only a class not there yet and not refused."""

    def extend(self, classes: Iterable[str]) -> None:
        super().extend(c for c in classes if c not in self and not refused_class(c))


def configure() -> None:
    """Keep the refused classes out of pygeoapi's conformance lists, and add the filter classes the gate
    and provider meet (``FILTER_CLASSES``), once pygeoapi is imported."""
    import pygeoapi.api
    from pygeoapi.api import itemtypes

    classes = Classes()
    classes.extend(pygeoapi.api.CONFORMANCE_CLASSES)
    pygeoapi.api.CONFORMANCE_CLASSES = classes
    for listed in (itemtypes.CONFORMANCE_CLASSES_FEATURES, itemtypes.CONFORMANCE_CLASSES_RECORDS):
        listed[:] = [c for c in listed if not refused_class(c)]
    features = itemtypes.CONFORMANCE_CLASSES_FEATURES
    features.extend(c for c in FILTER_CLASSES if c not in features)


def refused_path(path: str) -> bool:
    """Whether ``path`` (from the service's root) is one of pygeoapi's that HgWatch does not serve."""
    return any(path == p or path.startswith(p + "/") for p in UNSERVED)


def refused_link(link: dict[str, Any], base: str) -> bool:
    """Whether ``link`` leads to what the gate refuses or does not serve: an HTML page, an ``f`` it refuses,
    a path of ``UNSERVED`` under ``base`` (the service's URL). A link elsewhere (a licence) is kept."""
    if link.get("type") == HTML:
        return True
    href = link.get("href")
    if not isinstance(href, str) or not href.startswith(base) or href[len(base):len(base) + 1] not in ("", "/", "?"):
        return False
    parts = urlsplit(href[len(base):])
    if refused_path(parts.path):
        return True
    return any(name == "f" and value not in FORMATS for name, value in parse_qsl(parts.query, keep_blank_values=True))


def _kept(node: Any, base: str) -> int:
    """Drop the refused links of ``node`` and of every object in it; returns how many were dropped."""
    dropped = 0
    if isinstance(node, dict):
        links = node.get("links")
        if isinstance(links, list):
            kept = [k for k in links if not (isinstance(k, dict) and refused_link(k, base))]
            dropped += len(links) - len(kept)
            node["links"] = kept
        given = node.get("distribution")  # JSON-LD (schema.org) of a collection: its links as DataDownload
        if isinstance(given, list):
            kept = [d for d in given if not (isinstance(d, dict) and refused_link(
                {"type": d.get("encodingFormat"), "href": d.get("contentURL")}, base))]
            dropped += len(given) - len(kept)
            node["distribution"] = kept
        for value in node.values():
            dropped += _kept(value, base)
    elif isinstance(node, list):
        for value in node:
            dropped += _kept(value, base)
    return dropped


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode("ascii")  # as pygeoapi's to_json writes


def without_refused(body: bytes, base: str, *, tail_first: bool) -> bytes:
    """``body`` (a JSON document of pygeoapi's) without its refused links; ``body`` itself when it has
    none or is not JSON. ``tail_first``: a page of features, whose top-level links are its last member
    but the time stamp; only that tail is parsed when it is so."""
    if tail_first and body.count(TAIL[1:]) == 1:  # no links member but the top-level one
        at = body.rfind(TAIL)
        if at > 0:
            try:
                tail = json.loads(b"{" + body[at + 1:])
            except ValueError:  # a links member nested deeper: the whole document
                tail = None
            if isinstance(tail, dict):
                links = tail.get("links")
                if not isinstance(links, list):
                    return body
                kept = [k for k in links if not (isinstance(k, dict) and refused_link(k, base))]
                if len(kept) == len(links):
                    return body
                tail["links"] = kept
                return b"".join((memoryview(body)[:at], b",", memoryview(_dumps(tail))[1:]))  # one copy
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    return _dumps(doc) if _kept(doc, base) else body
