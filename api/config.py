"""pygeoapi's configuration and OpenAPI document, made from the store at startup.

One collection per layer a partner may see that the store holds (ids = layer names), plus
``violations`` and ``case_counts``. Each carries its catalogue title, and in its description and keywords the source,
licence and expected positional error of its layer (``hgw_layers``), with its extent (bbox and,
where the layer has a date, the first and last day at startup, in the description; the temporal
extent itself is left open). Every collection is served by
``api.provider.HgWatchProvider``; pygeoapi's own data providers are never named.

The metadata is made with a partner identity, so that nothing a partner may not see is in it or in
the OpenAPI document (which lists each collection's properties). When the store's layer types change
while the service runs, ``api.app.LiveCollections`` writes both files again; the data of the layers
listed is always current.

Both files are written as JSON (all strings quoted: pygeoapi's YAML loader expands ``${VAR}`` only
in plain scalars, so a source text cannot pull an environment variable into a page).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from api import claims
from api.parameters import LANGUAGES
from services.auth import Identity
from services.features import CASE_COUNTS, SURFACES, VIOLATIONS, FeatureSource, Served, case_counts_served, extent

PARTNER = Identity("api:metadata", "partner")  # whose view the published metadata describes
PROVIDER = "api.provider.HgWatchProvider"
DEFAULT_ITEMS = 100
# A page's most features: a larger limit gets this many and a next link (OGC API - Features' own example;
# QGIS sends its connection's page size as the limit, and it may be larger), not a 400.
MAX_ITEMS = 10_000
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
# Templates in place of pygeoapi's: collections/items/index.jsonld (the JSON-LD page of items), whose own was not
# JSON for a page without features (a comma before the closing brace) and wrote ids between quotes unescaped
TEMPLATES = Path(__file__).resolve().parent / "templates"


def _text(value: object) -> str:
    """``value`` as text that no template or loader expands."""
    return str(value).replace("${", "$ {")


def _description(served: Served, days: tuple[str | None, str | None]) -> str:
    sources = "; ".join(f"{p.layer}: {p.source} (licence {p.licence}{', synthetic' if p.synthetic else ''})"
                        for p in served.provenance) or "not recorded"
    error = "unknown" if served.accuracy_m is None else f"{served.accuracy_m:g} m"
    what = ("Rule violations of the current rule file on the current data; geometry: the shortest line to the"
            " water body or village (else the flagged site); feature id: 20 hex digits of SHA-256(violation_id)"
            if served.name == VIOLATIONS else "Number of cases by admin area and status, counted at each request;"
            " no geometry; feature id AREA|STATUS" if served.name == CASE_COUNTS else "Interpolated surfaces, not"
            " stored: one feature per sampled medium; geometry: the grid a surface would cover (samples' extent plus"
            " max_distance_m); feature id: the medium" if served.name == SURFACES else f"HgWatch layer {served.name}")
    dates = f" Dates ({served.time_field}) at startup: {days[0]} to {days[1]}." if days[0] else ""
    return _text(f"{what}. Source: {sources}. Expected positional error: {error}.{dates}")


def _resource(served: Served) -> dict[str, Any]:
    box, (begin, end) = extent(served)
    extents: dict[str, Any] = {"spatial": {"bbox": box, "crs": CRS84}}
    if served.time_field:  # open: pygeoapi would refuse (400) a datetime outside a closed one, and data grows
        extents["temporal"] = {"begin": None, "end": None}
    licences = sorted({p.licence for p in served.provenance})
    provider: dict[str, Any] = {"type": "feature", "name": PROVIDER, "data": served.name, "id_field": "id",
                                "crs": [CRS84], "storage_crs": CRS84}
    if served.time_field:
        provider["time_field"] = served.time_field
    return {
        "type": "collection",
        "title": _text(served.title),
        "description": _description(served, (begin, end)),
        "keywords": [_text(k) for k in ["HgWatch", served.name, *(f"licence: {v}" for v in licences),
                                        f"expected positional error: "
                                        f"{'unknown' if served.accuracy_m is None else f'{served.accuracy_m:g} m'}"]],
        "links": [],
        "extents": extents,
        "providers": [provider],
    }


def config(source: FeatureSource, *, host: str, port: int, url: str) -> dict[str, Any]:
    """pygeoapi's configuration for the collections of ``source`` served at ``url``."""
    collections = {**source.collections(PARTNER), CASE_COUNTS: case_counts_served(source.store, PARTNER)}
    return {
        "server": {
            "bind": {"host": host, "port": port},
            "url": url.rstrip("/"),
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["en-US"],
            "pretty_print": False,
            "limits": {"default_items": DEFAULT_ITEMS, "max_items": MAX_ITEMS, "on_exceed": "throttle"},
            "map": {"url": "", "attribution": ""},
            "templates": {"path": str(TEMPLATES)},  # searched before pygeoapi's own
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "HgWatch partner API",
                "description": "OGC API - Features: mercury in artisanal and small-scale gold mining, the layers"
                               " and rule violations of this HgWatch store as the key's account may see them",
                "keywords": ["mercury", "ASGM", "Minamata Convention"],
                "keywords_type": "theme",
                "terms_of_service": "",
                "url": url.rstrip("/"),
            },
            "license": {"name": "per collection (see each collection's description)", "url": url.rstrip("/")},
            "provider": {"name": "HgWatch", "url": url.rstrip("/")},
            "contact": {"name": "the agency that runs this HgWatch"},
        },
        "resources": {name: _resource(served) for name, served in collections.items()},
    }


# Query parameters pygeoapi reads on items but its OpenAPI document does not list (api.parameters.ITEMS accepts them)
UNLISTED: dict[str, tuple[str, dict[str, Any]]] = {
    "filter": ("A CQL2 text expression on the collection's properties (see /queryables) and its geometry, e.g."
               " miners > 10 AND NOT (status = 'active'), S_WITHIN(geometry, POLYGON((-2 5, -1 5, -1 6, -2 5))) or"
               " T_AFTER(survey_date, DATE('2025-01-01')); spatial functions are planar in CRS84",
               {"type": "string"}),
    "filter-lang": ("The language of filter", {"type": "string", "enum": ["cql2-text", "cql-text"],
                                               "default": "cql2-text"}),
    "filter-crs": ("The CRS of the coordinates in filter: CRS84 only", {"type": "string", "format": "uri",
                                                                       "enum": [CRS84], "default": CRS84}),
    "resulttype": ("results: the features; hits: only their number (numberMatched)",
                   {"type": "string", "enum": ["results", "hits"], "default": "results"}),
}
# Listed by pygeoapi but refused by the API: any name at all (the standard's free-form object), and the HTML page
# choice of /openapi (only JSON is served)
NOT_ACCEPTED = ("vendorSpecificParameters", "ui", "profile")  # (profile: api.parameters says why)
OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")  # OpenAPI 3.0's


def _name(parameter: dict[str, Any]) -> str:
    ref = str(parameter.get("$ref", ""))
    return str(parameter["name"]) if "name" in parameter else ref.rsplit("/", 1)[-1].removesuffix(".yaml")


def as_accepted(oas: dict[str, Any]) -> dict[str, Any]:
    """pygeoapi's OpenAPI document ``oas`` changed to list the query parameters the API accepts
    (``api.parameters``), no more and no fewer: without ``NOT_ACCEPTED``, and with ``UNLISTED`` on items;
    and only what it serves (``api.claims``): no ``html`` among the values of ``f``, no path of
    ``claims.UNSERVED`` (pygeoapi's ``/jobs``), no operation but GET (pygeoapi lists OPTIONS, DELETE)."""
    parameters = oas.get("components", {}).get("parameters", {})
    parameters.pop("vendorSpecificParameters", None)
    if isinstance(parameters.get("lang"), dict):  # pygeoapi's says another language falls back to the default
        parameters["lang"]["description"] = ("The language of the answer: English only (another value is refused"
                                             " with 400); without lang, English")
        parameters["lang"]["schema"] = {"type": "string", "enum": list(LANGUAGES), "default": LANGUAGES[0]}
    values = parameters.get("f", {}).get("schema", {}).get("enum")
    if isinstance(values, list):
        parameters["f"]["schema"]["enum"] = [v for v in values if v in claims.FORMATS]
    oas["paths"] = {path: item for path, item in oas.get("paths", {}).items() if not claims.refused_path(path)}
    for path, item in oas["paths"].items():
        for method in [m for m in item if m in OPERATIONS and m != "get"]:
            del item[method]
        operation = item.get("get")
        if not isinstance(operation, dict):
            continue
        listed = [p for p in operation.get("parameters", []) if _name(p) not in NOT_ACCEPTED]
        if path.startswith("/collections/") and path.endswith("/items"):
            listed += [{"name": name, "in": "query", "required": False, "description": text, "schema": schema,
                        "style": "form", "explode": False} for name, (text, schema) in UNLISTED.items()]
        operation["parameters"] = listed
    return oas


def write(folder: Path, source: FeatureSource, *, host: str, port: int, url: str) -> tuple[Path, Path]:
    """Write the configuration and the OpenAPI document into ``folder``; returns both paths.

    The OpenAPI document is made by pygeoapi from the configuration; its providers are loaded with
    the partner identity (``PARTNER``), so the properties it lists are a partner's.
    """
    from pygeoapi.openapi import get_oas

    from api.provider import ASKING, Asking

    cfg = config(source, host=host, port=port, url=url)
    cfg_path, oas_path = folder / "pygeoapi-config.json", folder / "openapi.json"
    cfg_path.write_text(json.dumps(cfg, ensure_ascii=False), encoding="utf-8")
    token = ASKING.set(Asking(PARTNER))
    try:
        oas = get_oas(cfg)
    finally:
        ASKING.reset(token)
    oas_path.write_text(json.dumps(as_accepted(oas), ensure_ascii=False, default=str), encoding="utf-8")
    return cfg_path, oas_path
