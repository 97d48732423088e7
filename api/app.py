"""The partner API: pygeoapi's Starlette app behind our API-key gate (an ASGI app for uvicorn).

``create_app(settings, host=, port=)`` writes pygeoapi's configuration and OpenAPI document
(``api.config``) into a private temporary folder, points ``PYGEOAPI_CONFIG`` / ``PYGEOAPI_OPENAPI``
at them, imports ``pygeoapi.starlette_app`` (it reads both at import, so once per process) and
wraps its app in ``KeyGate``:

- every request needs a valid key (``X-API-Key: KEY``, ``Authorization: Bearer KEY``, or the key
  as the password of ``Authorization: Basic``, the user name ignored: what QGIS before 3.26 can
  send; ``services.keys.verify``), on every path; otherwise 401 with a JSON body and nothing else. The
  answer for a key is kept one second (``KEY_RECHECK_S``): a revoked key or a disabled account is
  refused at most a second later. The check waits for a writer's commit as every reader does
  (``layers.store.files.READ_WAIT_S``); when the store still cannot be read (it is not a GeoPackage
  any more, the database is down) the answer is 503 with ``Retry-After`` and a fixed body, and the
  log line says what failed; so is a data page whose read of the store fails so
  (``api.provider.StoreUnreadable``: a writer kept a GeoPackage locked longer than that, say);
- ``filter`` on items is read here: as CQL2 text (``api.cql2_read``: the ``cql2`` library) when
  ``filter-lang`` is ``cql2-text`` or absent, as pygeoapi's ECQL (``cql-text``, a literal holding a quote put
  aside first: ``cql_literals``) when it is ``cql-text``; any other language is 400 naming those two (pygeoapi
  parses a GET's ``filter`` as text whatever its language: ``cql2-json`` got "Bad CQL text" however right its
  JSON), so is a ``filter-crs`` other than CRS84, and text that cannot be read (400 naming the parameter, the
  value and what was expected). The tree reaches the provider through ``Asking.filterq``; pygeoapi's own parse
  of the text is replaced by it (``api.provider.read_by_gate``), and ``filter-lang=cql2-text``, a name
  pygeoapi refuses, is taken out of the query it sees (the default), so its next links read the same; a
  ``datetime`` interval from ``0000-01-01`` (QGIS 3.22's "no start"; a year 0 pygeoapi refuses) is read as one
  with an open start (``../END``);
- a path ending in ``/`` (``/collections/ID/items/``) is answered as the path without it (pygeoapi
  read ``items/`` as the feature with an empty id: 404 "identifier not found");
- only GET and HEAD (405 otherwise), and only JSON (``f=html`` is 400; a browser's
  ``Accept: text/html`` gets JSON); items and one item come as ``application/geo+json`` (``geojson_type``;
  pygeoapi sent ``application/json``), every other answer, errors included, as ``application/json``;
  so pygeoapi's answers link to no HTML page and no path it does not
  serve, and ``/conformance`` claims no class whose requests it refuses (``api.claims``: the links
  are dropped from the body here, the classes from pygeoapi's lists at start); pygeoapi's paths with
  nothing of HgWatch behind them (``/processes``, ``/jobs``, ``/TileMatrixSets``, ``/stac``) get 404;
- only the query parameters the path accepts (``api.parameters``: the standard ones pygeoapi reads
  there and, on items, the collection's properties as the key's identity sees them; the other paths
  but one feature take those of items too, and ignore them, as QGIS 3.22 sends them); any other, a
  repeated one, one without a value or a value without a name gets 400 with a JSON body naming each,
  the closest accepted name and the names accepted (pygeoapi would drop an unknown name silently and
  answer as if it were not there); on items and one feature, a value its parameter cannot take gets 400 naming
  the parameter, the value and what is expected (``api.values``: pygeoapi named neither, or read the value as
  something else and answered 200). That answer is recorded in the audit trail as any answered request;
  ``<``, ``>`` and ``&`` in the gate's JSON bodies are JSON escapes;
- the request's identity reaches our provider (``api.provider.ASKING``) in pygeoapi's worker
  thread: the gate makes the event loop's default executor copy the request's context;
- an exception, in pygeoapi or in the gate itself, becomes a 500 with a JSON body (the traceback goes to the
  server log only); a path ending in ``/`` holding a character beyond Latin-1 (``/collections/%E2%82%AC/``)
  made the gate fail and uvicorn answer a plain-text "Internal Server Error" until 2026-11-28;
- the list of collections follows the store (``LiveCollections``): pygeoapi reads its configuration
  once, so when a layer type is imported while the service runs, the configuration and
  OpenAPI document are made again and pygeoapi's API object replaced, before the next request is
  answered (the store's layer table is read at most once a second for that, as for the data);
- each answered request is one row in the audit trail (``api request``: who, the collection, how
  many features, the path and status; outputs of the shipped demo workspace are not recorded, as
  for downloads), written a moment later by a background thread that appends the waiting rows in
  one transaction (``AuditWriter``; ``close`` writes the rest at shutdown); rows it could not write
  (another writer held the store longer than its lock wait) are kept and written with the next.
  A refused request (401) is logged, not recorded: a stranger could otherwise fill the trail;
- when each valid key was last used is noted in memory per request and written to the store at most once
  per key every few minutes (``api.uses.KeyUses``; ``cli.py keys list`` shows it), never in the request.
"""
from __future__ import annotations

import asyncio
import base64
import contextvars
import importlib
import json
import logging
import os
import queue
import secrets
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode

from pygeofilter.parsers.ecql import parse as parse_ecql
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from api import claims, cql2_read, cql2_text, parameters, values
from api import config as api_config
from api.provider import ASKING, Asking, StoreUnreadable, every_served, read_by_gate, restored, served_to, use
from api.uses import KeyUses
from geo.words import one_of
from layers.catalogue import CATALOGUE
from layers.store.base import Store
from layers.store.open import open_store
from layers.store.visibility import wholly_restricted
from services import audit, keys
from services.auth import Identity
from services.features import FeatureSource
from settings import Settings

LOGGER = logging.getLogger("hgwatch.api")
HOST = "127.0.0.1"
PORT = 8502
FORMATS = claims.FORMATS
KEY_RECHECK_S = 1.0  # a key's answer is asked of the store again after this long: revoking takes effect within it
KEYS_KEPT = 4096  # answers kept (forgotten all at once when full)
RETRY_AFTER_S = 30  # the Retry-After of a 503 (the store could not be read), seconds
FILTER_LANGS = ("cql2-text", "cql-text")  # what filter= is read as (the OpenAPI document's enum, api.config)
CRS84 = api_config.CRS84  # the only filter-crs read
FILTER_SHOWN = 200  # characters of a refused filter repeated in the answer at most
ORIGINS_VARIABLE = "HGWATCH_API_ORIGINS"  # the web origins whose pages may call the API (comma-separated; '*' any; '' none)
CORS_HEADERS = ("X-API-Key", "Authorization", "Accept", "Accept-Language")  # what a browser's request may carry
NO_START = "0000-01-01"  # how QGIS 3.22 starts a datetime interval that has no start (the standard's is "..")
Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


class _ContextPool(ThreadPoolExecutor):
    """A thread pool whose tasks run in a copy of the submitting task's context variables."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


def _escaped(body: bytes) -> bytes:
    """A JSON document with ``<``, ``>`` and ``&`` written as JSON escapes (in JSON they occur only inside
    strings): an error that repeats what a request gave holds no markup, even to a client that sniffs."""
    return body.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")


def _json(status: int, code: str, description: str, extra: Sequence[tuple[bytes, bytes]] = ()) -> tuple[dict, dict]:
    body = _escaped(json.dumps({"code": code, "description": description}).encode("utf-8"))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    return ({"type": "http.response.start", "status": status, "headers": headers},
            {"type": "http.response.body", "body": body})


def _key(headers: dict[bytes, bytes]) -> str | None:
    given = headers.get(b"x-api-key")
    if given:
        return given.decode("latin-1").strip()
    auth = headers.get(b"authorization", b"").decode("latin-1").strip()
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "basic":  # QGIS before 3.26 can send no other: the key as the password, any user name
        try:
            token = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")[2]
        except ValueError:  # not base64, or not UTF-8
            return None
    elif scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _as_pygeoapi_reads(name: str, value: str) -> str:
    """A query parameter's value as pygeoapi reads it (``datetime``: see the module docstring)."""
    if name == "datetime" and value.startswith(NO_START) and "/" in value:
        return ".." + value[value.index("/"):]
    return value


def read_filter(text: str, lang: str) -> Any:
    """The pygeofilter tree of ``filter`` text ``text`` in ``lang`` (``cql2-text`` or ``cql-text``).

    Raises
    ------
    CqlError
        The text cannot be read: the message says what was expected and where.
    """
    if lang == FILTER_LANGS[0]:
        return cql2_read.parse(text)
    ecql, literals = cql_literals(text)
    try:
        tree = restored(parse_ecql(ecql), literals)
    except Exception as exc:  # lark's errors: the first line says where
        said = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise cql2_text.CqlError(f"not ECQL ({said})") from None
    return cql2_text.shallow(tree)


def cql_literals(text: str) -> tuple[str, dict[str, str]]:
    """ECQL text ``text`` (``filter-lang=cql-text``) with each string literal that holds a quote (written
    ``''`` or ``\\'``) put as a placeholder literal, and the literal of each placeholder. pygeofilter's ECQL
    grammar reads no quote inside a literal: ``name = 'N''Zerekore'`` was "Bad CQL text" (400), so no place
    or site whose name has an apostrophe could be filtered on. ``read_filter`` puts the literals back into
    the parsed tree (``api.provider.restored``); the query pygeoapi sees, and so its next links, keep the
    text as given. Text with no such literal, or with one not closed, is returned as it is."""
    out: list[str] = []
    literals: dict[str, str] = {}
    stem = f"hgw-literal-{secrets.token_hex(8)}-"
    i = 0
    while i < len(text):
        char = text[i]
        if char == '"':  # a quoted name: to its closing quote
            end = text.find('"', i + 1)
            end = len(text) if end < 0 else end + 1
            out.append(text[i:end])
            i = end
            continue
        if char != "'":
            out.append(char)
            i += 1
            continue
        value: list[str] = []
        escaped, j = False, i + 1
        while j < len(text):
            if text[j] == "\\" and text[j + 1:j + 2] == "'" or text[j] == "'" and text[j + 1:j + 2] == "'":
                value.append("'")
                escaped, j = True, j + 2
            elif text[j] == "'":
                break
            else:
                value.append(text[j])
                j += 1
        if j >= len(text):  # not closed: the parser says so
            return text, {}
        if escaped:
            placeholder = f"{stem}{len(literals)}"
            literals[placeholder] = "".join(value)
            out.append(f"'{placeholder}'")
        else:
            out.append(text[i:j + 1])
        i = j + 1
    return ("".join(out), literals) if literals else (text, {})


def _collection(path: str) -> str | None:
    parts = path.strip("/").split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "collections" else None


GEOJSON_ANSWERS = ("items", "item")  # paths whose JSON answer is GeoJSON (OGC 17-069r4 /req/geojson/content)


def geojson_type(headers: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` of a GeoJSON answer (items, one item) with ``Content-Type: application/json`` made
    ``application/geo+json`` (RFC 7946; OGC API - Features Part 1, /req/geojson/content). pygeoapi 0.21 links
    to items as ``application/geo+json`` but sends them as ``application/json`` (its ``FORMAT_TYPES``; pygeoapi
    issue 1108); a JSON-LD answer (``application/ld+json``) is left as it is."""
    return [(k, b"application/geo+json" if k.lower() == b"content-type" and v.split(b";")[0].strip().lower()
             == b"application/json" else v) for k, v in headers]


LINKING = ("landing", "collections", "collection", "schema", "queryables", "items", "item")  # answers with links


class LiveCollections:
    """pygeoapi's configuration and OpenAPI document for the layer types the store holds now.

    Written into ``folder`` (a private temporary folder) at start; called before each answered
    request, it writes both again and replaces the API object of pygeoapi's app (``module.api_``,
    which every pygeoapi route reads at each call) when the store's layer types have changed since.
    Requests already running finish on the object they started with."""

    def __init__(self, source: FeatureSource, folder: Path, *, host: str, port: int, url: str) -> None:
        self.source, self.folder = source, folder
        self.host, self.port, self.url = host, port, url
        self._lock = threading.Lock()
        self.module: Any = None  # pygeoapi.starlette_app, once imported
        self.names = source.layer_names()
        self.paths = self._write()

    def _write(self) -> tuple[Path, Path]:
        return api_config.write(self.folder, self.source, host=self.host, port=self.port, url=self.url)

    def __call__(self) -> None:
        names = self.source.layer_names()
        if names == self.names or self.module is None:
            return
        with self._lock:
            if names == self.names:
                return
            from pygeoapi.api import API
            from pygeoapi.config import get_config
            from pygeoapi.openapi import load_openapi_document

            self._write()
            self.module.api_ = API(get_config(), load_openapi_document())  # the files of PYGEOAPI_CONFIG/OPENAPI
            LOGGER.warning("collections made again for the store's layer types: %s", ", ".join(sorted(names)))
            self.names = names


class KeyGate:
    """The API-key gate in front of pygeoapi's app (see the module docstring)."""

    def __init__(self, app: Callable[..., Any], store: Store, refresh: Callable[[], None] | None = None,
                 base: str = "", origins: Sequence[str] = ("*",)) -> None:
        self.app = app
        # a partner's web map (Leaflet, OpenLayers) calls the API from its own page: the browser asks first
        # (a preflight OPTIONS, which carries no key) and shows the answer only when it names the page's origin.
        # Starlette answers the preflight before the gate and names the origins on every answer; nothing is
        # read without a key, and no cookie is ever involved (a key is sent only by code that holds it).
        self._http: Callable[..., Any] = CORSMiddleware(
            cast(ASGIApp, self._gated), allow_origins=list(origins), allow_methods=["GET", "HEAD", "OPTIONS"],
            allow_headers=list(CORS_HEADERS), max_age=600) if origins else self._gated
        self.base = base.rstrip("/")  # the service's URL, which its links start with (api.claims)
        self.store = store
        self.refresh = refresh
        self.audit = AuditWriter(store)
        self.uses = KeyUses(store)  # when each key was last used: noted per request, written every few minutes
        self._known: dict[str, tuple[float, Identity | None]] = {}
        self._asking: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Task[Identity | None]] = {}
        self._loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()

    async def _identity(self, key: str | None) -> Identity | None:
        """Who ``key`` is (``services.keys.verify``), asked of the store again after ``KEY_RECHECK_S``.
        Requests with a key whose check is under way share its answer: while a writer keeps the store's
        readers waiting, one thread of the pool waits per key, not one per request."""
        now = time.monotonic()
        known = self._known.get(key or "")
        if known is not None and now - known[0] < KEY_RECHECK_S:
            return known[1]
        ask = (asyncio.get_running_loop(), key or "")
        asking = self._asking.get(ask)
        if asking is None:
            asking = self._asking[ask] = asyncio.ensure_future(self._check(ask, key, now))
        return await asyncio.shield(asking)  # a request given up on leaves the check to the others

    async def _check(self, ask: tuple[asyncio.AbstractEventLoop, str], key: str | None, now: float) -> Identity | None:
        try:
            identity = await asyncio.to_thread(keys.verify, self.store, key)
        finally:
            del self._asking[ask]
        if len(self._known) >= KEYS_KEPT:
            self._known.clear()
        self._known[key or ""] = (now, identity)
        return identity

    def _context_pool(self) -> None:
        loop = asyncio.get_running_loop()
        if loop not in self._loops:
            loop.set_default_executor(_ContextPool(thread_name_prefix="hgwatch-api"))
            self._loops.add(loop)

    async def _reply(self, send: Send, status: int, code: str, description: str,
                     extra: Sequence[tuple[bytes, bytes]] = ()) -> None:
        start, body = _json(status, code, description, extra)
        await send(start)
        await send(body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            return  # no websockets
        await self._http(scope, receive, send)

    async def _gated(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An HTTP request through the gate; a failure of the gate itself becomes a JSON 500."""
        started: list[bool] = []

        async def sending(message: dict[str, Any]) -> None:
            started.append(True)
            await send(message)

        try:
            await self._answer(scope, receive, sending)
        except Exception:  # a failure of the gate itself: uvicorn's plain-text 500 is no answer for a JSON client
            LOGGER.exception("%s %s failed in the API gate", scope.get("method"), scope.get("path", ""))
            if not started:
                await self._reply(send, 500, "ServerError", "the request failed on the server; it is logged")

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer an HTTP request (see the module docstring)."""
        self._context_pool()
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        try:
            key = _key(headers)
            identity = await self._identity(key)
        except Exception as exc:  # the body stays fixed: the reason may name the store; it goes to the log
            LOGGER.error("API key check failed, %s %s answered 503: the store %s cannot be read: %s: %s",
                         scope["method"], scope.get("path", ""), self.store.path, type(exc).__name__, exc,
                         exc_info=True)
            await self._reply(send, 503, "ServiceUnavailable", "the store cannot be read now; try again later",
                              [(b"retry-after", str(RETRY_AFTER_S).encode())])
            return
        if identity is not None and key is not None:
            self.uses.used(key)  # (in memory; api.uses writes it at most every few minutes)
        if identity is None:
            await self._reply(send, 401, "Unauthorized", "a valid API key is required: send the header"
                              " 'X-API-Key: KEY' or 'Authorization: Bearer KEY', or the key as the password of a"
                              " Basic authentication (cli.py keys create NAME)",
                              [(b"www-authenticate", b'Bearer realm="HgWatch"')])
            return
        if scope["method"] not in ("GET", "HEAD"):
            await self._reply(send, 405, "MethodNotAllowed", f"method {scope['method']}: this API is read-only;"
                              " expected GET or HEAD", [(b"allow", b"GET, HEAD")])
            return
        if claims.refused_path(scope.get("path", "")):  # pygeoapi's processes, jobs, tiling schemes, STAC: empty here
            await self._reply(send, 404, "NotFound", f"{scope.get('path', '')}: not served by this API; it serves"
                              " OGC API - Features: /, /conformance, /openapi, /collections")
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if query.get("f", "json") not in FORMATS:
            await self._reply(send, 400, "InvalidParameterValue",
                              f"f={query['f']!r}: this service answers in JSON only; expected {one_of(FORMATS)}")
            return
        if query.get("filter-lang", FILTER_LANGS[0]) not in FILTER_LANGS:  # pygeoapi: "Bad CQL text" for cql-json
            await self._reply(send, 400, "InvalidParameterValue",
                              f"filter-lang={query['filter-lang']!r}: this service reads filter= as CQL2 text only"
                              f" (e.g. filter=miners > 10 AND status = 'active'); expected {one_of(FILTER_LANGS)}")
            return
        if query.get("filter-lang") == FILTER_LANGS[0] or query.get("datetime", "").startswith(NO_START):
            pairs = [(k, _as_pygeoapi_reads(k, v)) for k, v in parse_qsl(scope["query_string"].decode("latin-1"),
                                                                        keep_blank_values=True)
                     if (k, v) != ("filter-lang", FILTER_LANGS[0])]  # pygeoapi's default: read as CQL2 text here
            scope = {**scope, "query_string": urlencode(pairs).encode("latin-1")}
        path = scope.get("path", "")
        if len(path) > 1 and path.endswith("/"):  # /collections/ID/items/ is /collections/ID/items
            trimmed = path.rstrip("/") or "/"  # (raw_path: as sent, percent-encoded; the path may hold any character)
            raw = scope.get("raw_path") or path.encode("utf-8")
            scope = {**scope, "path": trimmed, "raw_path": raw.rstrip(b"/") or b"/"}
        if b"text/html" in headers.get(b"accept", b""):
            scope = {**scope, "headers": [(k, b"application/json" if k.lower() == b"accept" else v)
                                          for k, v in scope["headers"]]}
        if self.refresh is not None:
            try:
                await asyncio.to_thread(self.refresh)
            except Exception:  # the request is answered from the collections made last
                LOGGER.exception("the collection list could not be made again")
        asking = Asking(identity)
        answered = await self._unserved(scope, asking, send)
        if answered is None:
            answered = await self._parameters(scope, asking, send)
        if answered is None and "filter" in query:
            answered = await self._filter(scope, query, asking, send)
        status = await self._pygeoapi(scope, receive, send, asking) if answered is None else answered
        path = scope.get("path", "")
        if status == 503 and asking.unreadable:
            LOGGER.error("%s %s answered 503: the store %s cannot be read: %s", scope["method"], path,
                         self.store.path, asking.unreadable)
        self.audit.put((asking.identity.name, "api request", asking.collection or _collection(path) or path,
                        {"path": path, "status": status, "features": asking.features}))

    async def _unserved(self, scope: Scope, asking: Asking, send: Send) -> int | None:
        """404 naming the collection and the collections served to this identity, for a path naming a collection
        it is not served (one that does not exist, or a wholly restricted layer for a partner: the same answer,
        which names only what is served; such a layer is served to no key, and the name asked for is not
        repeated: tests/test_attack_api.py). pygeoapi's own 404 said "Collection not found", naming nothing."""
        where = parameters.route(scope.get("path", ""))
        if where is None or where.collection is None:
            return None
        try:
            if await asyncio.to_thread(served_to, asking, where.collection) is not None:
                return None
            served = await asyncio.to_thread(every_served, asking)  # a wholly restricted layer is served to no key
            names = sorted(c.name for c in served if c.name not in CATALOGUE or not wholly_restricted(c.name))
        except StoreUnreadable:
            await self._reply(send, 503, "ServiceUnavailable", "the store cannot be read now; try again later",
                              [(b"retry-after", str(RETRY_AFTER_S).encode())])
            return 503
        await self._reply(send, 404, "NotFound", "the collection this path names is not served to this key (nor to"
                          f" any: not repeated); expected one of {names} (see /collections)")
        return 404

    async def _parameters(self, scope: Scope, asking: Asking, send: Send) -> int | None:
        """Answer a request whose query ``api.parameters`` refuses: 400 naming each problem (or 503 when
        the store cannot be read to look up the collection's properties). Returns the status answered, or
        None when pygeoapi is to answer (every parameter accepted, or a collection not served: 404)."""
        where = parameters.route(scope.get("path", ""))
        pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if where is None or not pairs:
            return None
        refused = parameters.refusal(where, pairs, None)  # the names every collection's path accepts
        valued = where.kind in ("items", "item")  # whose values are checked too (api.values)
        if refused is not None or valued or parameters.lists_names(where, pairs):  # then with the properties as
            # this identity sees them (and the names a sortby or properties value gives checked against them)
            try:
                if where.collection is None:
                    collections = await asyncio.to_thread(every_served, asking)
                else:
                    served = await asyncio.to_thread(served_to, asking, where.collection)
                    if served is None:  # a collection it is not served: pygeoapi's 404, whatever the query
                        return None
                    collections = [served]
            except StoreUnreadable:
                await self._reply(send, 503, "ServiceUnavailable", "the store cannot be read now; try again later",
                                  [(b"retry-after", str(RETRY_AFTER_S).encode())])
                return 503
            refused = parameters.refusal(where, pairs, collections)
            if refused is None and valued:
                bad = values.problems(where, pairs, collections[0])
                refused = f"query parameters: {'; '.join(bad[:parameters.SHOWN])}." if bad else None
        if refused is None:
            return None
        await self._reply(send, 400, "InvalidParameterValue", refused)
        return 400

    async def _filter(self, scope: Scope, query: dict[str, str], asking: Asking, send: Send) -> int | None:
        """Read the ``filter`` of an items request into ``asking.filterq``; 400 when it cannot be read or its
        ``filter-crs`` is not CRS84 (returns the status answered, or None when pygeoapi is to answer)."""
        where = parameters.route(scope.get("path", ""))
        if where is None or where.kind != "items":
            return None  # (the paths that take an items parameter ignore it)
        crs = query.get("filter-crs", CRS84)
        if crs not in (CRS84, "[OGC:CRS84]", "OGC:CRS84"):
            await self._reply(send, 400, "InvalidParameterValue", f"filter-crs={crs!r}: the coordinates in filter="
                              f" are read as CRS84 (longitude, latitude in degrees) only; expected {CRS84}")
            return 400
        text, lang = query["filter"], query.get("filter-lang", FILTER_LANGS[0])
        try:
            asking.filterq = await asyncio.to_thread(read_filter, text, lang)
        except (cql2_text.CqlError, RecursionError) as exc:
            said = str(exc) if isinstance(exc, cql2_text.CqlError) else "nested too deeply"
            example = ("miners > 10 AND NOT (status = 'active'), S_WITHIN(geometry, POLYGON((-2 5, -1 5, -1 6, -2 5)))"
                       " or T_AFTER(survey_date, DATE('2025-01-01'))" if lang == FILTER_LANGS[0] else
                       "miners > 10 AND status = 'active'")
            shown = text if len(text) <= FILTER_SHOWN else text[:FILTER_SHOWN] + "..."
            await self._reply(send, 400, "InvalidParameterValue", f"filter={shown!r} (filter-lang={lang}) cannot be"
                              f" read: {said}. A filter is {'CQL2 text' if lang == FILTER_LANGS[0] else 'ECQL'},"
                              f" e.g. {example}")
            return 400
        return None

    async def _pygeoapi(self, scope: Scope, receive: Receive, send: Send, asking: Asking) -> int:
        """pygeoapi's answer, with the identity of ``asking`` for the provider; returns its status (0: none)."""
        status: list[int] = []
        held: list[dict[str, Any]] = []  # a start and body so far, changed by ``changed`` before they are sent
        where = parameters.route(scope.get("path", ""))
        jsonld = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))).get("f") == "jsonld"
        linking = where is not None and where.kind in LINKING and self.base and not (jsonld and where.kind == "items")
        changed: list[Callable[[bytes], bytes]] = []

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
                if status[0] == 503:  # the provider could not read the store (StoreUnreadable): ask again later
                    message = {**message, "headers": [*message.get("headers", []),
                                                      (b"retry-after", str(RETRY_AFTER_S).encode())]}
                elif status[0] == 200 and where is not None and where.kind in GEOJSON_ANSWERS:
                    message = {**message, "headers": geojson_type(message.get("headers", []))}
                json_body = any(k.lower() == b"content-type" and b"json" in v for k, v in message.get("headers", []))
                if status[0] >= 400 and json_body:
                    changed.append(_escaped)
                elif status[0] == 200 and json_body and linking and where is not None:
                    tail_first = where.kind in ("items", "item") and not jsonld  # (JSON-LD: no links on items)
                    changed.append(lambda body: claims.without_refused(body, self.base, tail_first=tail_first))
                if changed:
                    held.append(message)
                    return
            elif held:
                held.append(message)
                if message.get("more_body"):
                    return
                start, given = held[0], b"".join(m.get("body", b"") for m in held[1:])
                body = changed[0](given)
                if given:  # (a HEAD's start keeps the length its GET has)
                    start = {**start, "headers": [(k, str(len(body)).encode() if k.lower() == b"content-length"
                                                   else v) for k, v in start["headers"]]}
                await send(start)
                message = {"type": "http.response.body", "body": body}
            await send(message)

        token = ASKING.set(asking)
        try:
            await self.app(scope, receive, sending)
        except Exception:
            LOGGER.exception("request %s failed", scope.get("path"))
            if not status:
                status.append(500)
                await self._reply(send, 500, "ServerError", "the request failed on the server; it is logged")
        finally:
            ASKING.reset(token)
        return status[0] if status else 0

    def close(self) -> None:
        """Write the audit rows still queued and the keys' last uses noted (at shutdown)."""
        self.audit.close()
        self.uses.close()


class AuditWriter:
    """One audit row per answered request, written by one background thread: the rows waiting are
    appended together in one transaction (``services.audit.record_outputs``), so a request never
    waits for the trail and a busy minute costs a few transactions, not one per request. Rows that
    could not be written (an import held the store's writer lock longer than the store's lock wait)
    are kept, in order, and written with the next rows, or tried again ``RETRY_S`` later."""

    BATCH = 500
    RETRY_S = 5.0  # after a failed write, the kept rows are tried again this long after, seconds

    def __init__(self, store: Store) -> None:
        self.store = store
        self.unwritten: list[tuple[str, str, str, object]] = []  # rows a write failed for, kept for the next
        self._queue: queue.Queue[tuple[str, str, str, object] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="hgwatch-api-audit", daemon=True)
        self._thread.start()

    def put(self, entry: tuple[str, str, str, object]) -> None:
        """Queue one row: (who, action, target, after)."""
        self._queue.put(entry)

    def _run(self) -> None:
        while True:
            try:
                batch = [self._queue.get(timeout=self.RETRY_S if self.unwritten else None)]
            except queue.Empty:
                batch = []
            while len(batch) < self.BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            rows = self.unwritten + [b for b in batch if b is not None]
            try:
                audit.record_outputs(self.store, rows)
                self.unwritten = []
            except Exception as exc:  # the answers were sent; a failed audit write is logged, never shown
                self.unwritten = rows
                LOGGER.error("%d audit row(s) of API requests not written yet (%s: %s); kept, tried again%s",
                             len(rows), type(exc).__name__, exc, " no more: the server stops" if None in batch
                             else f" within {self.RETRY_S:g} s", exc_info=True)
            if None in batch:
                return

    def close(self, timeout: float = 60.0) -> None:
        """Write what is queued, then stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout)


def started(gate: KeyGate, address: str) -> str:
    """What the server logs once it listens at ``address`` (``http://HOST:PORT``): where, the store, the
    collections (as pygeoapi's configuration lists them: every key is served these, each as its account's role
    may see them), those served to no key, and how many valid keys each role has (never a key or its hash).
    Until 2026-11-28 ``python -m api`` logged nothing until a request failed."""
    live = gate.refresh if isinstance(gate.refresh, LiveCollections) else None
    names = sorted(json.loads(live.paths[0].read_text(encoding="utf-8"))["resources"]) if live else []
    hidden = sorted(n for n in (live.names if live else ()) if n in CATALOGUE and wholly_restricted(n))
    roles: dict[str, int] = {}
    for key in keys.listed(gate.store):  # a key a request can use: not revoked, its account there and enabled
        if key.usable:
            roles[key.role] = roles.get(key.role, 0) + 1
    links = f" (its links point at {gate.base})" if gate.base and gate.base != address else ""
    lines = [f"HgWatch partner API (OGC API - Features) listening on {address}{links}; store {gate.store.path}",
             f"{len(names)} collection(s): {', '.join(names) or 'none'}; each served to every valid key as its"
             " account's role may see it: partner keys without restricted fields, field keys with those of their"
             " areas only, analyst and admin keys with every field",
             f"served to no key: {', '.join(hidden)} (wholly restricted)" if hidden else "",
             "" if gate.store.exists() else f"the store {gate.store.path} does not exist (yet): no collection but"
             " case_counts and no key until it is made (a misspelt --workspace or --database-url?)",
             ("valid keys by role: " + ", ".join(f"{r} {n}" for r, n in sorted(roles.items()))) if roles else
             "no valid key: every request gets 401 until one is made (python cli.py keys create NAME)"]
    return "\n".join(line for line in lines if line)


async def _http_error(_request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (an unknown path: 404) as JSON."""
    code = exc.status_code if isinstance(exc, HTTPException) else 500
    return JSONResponse({"code": "NotFound" if code == 404 else "HTTPError", "description": str(exc.detail)
                         if isinstance(exc, HTTPException) else "error"}, status_code=code)


async def _server_error(request: Request, _exc: Exception) -> Response:
    """An exception inside pygeoapi: a 500 with a JSON body (the traceback is logged by the gate)."""
    return JSONResponse({"code": "ServerError", "description": "the request failed on the server; it is logged"},
                        status_code=500)


class _ClientErrors(logging.Filter):
    """Leaves out pygeoapi's log record of an answer refused to the client (a provider error whose status is below
    500: a filter naming an unknown property, an unknown feature id): pygeoapi logged each at ERROR with its
    traceback, so a partner's typo filled the operator's log with tracebacks. The refusal is in the audit trail."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return exc is None or int(getattr(exc, "http_status_code", 500)) >= 500


def create_app(settings: Settings, *, host: str = HOST, port: int = PORT, url: str | None = None) -> KeyGate:
    """The API for the store of ``settings``, its links pointing at ``url`` (default
    ``http://host:port``). Importing pygeoapi's app happens here, once per process."""
    source = FeatureSource(settings)
    use(source)
    folder = Path(tempfile.mkdtemp(prefix="hgwatch-api-"))
    live = LiveCollections(source, folder, host=host, port=port, url=url or f"http://{host}:{port}")
    os.environ["PYGEOAPI_CONFIG"], os.environ["PYGEOAPI_OPENAPI"] = (str(p) for p in live.paths)
    live.module = importlib.import_module("pygeoapi.starlette_app")
    if not any(isinstance(f, _ClientErrors) for f in logging.getLogger("pygeoapi.api").filters):
        logging.getLogger("pygeoapi.api").addFilter(_ClientErrors())
    pygeoapi_app = live.module.APP
    pygeoapi_app.debug = False
    pygeoapi_app.add_exception_handler(HTTPException, _http_error)
    pygeoapi_app.add_exception_handler(Exception, _server_error)
    claims.configure()
    from pygeoapi.api import itemtypes  # its filter= parse and CRS rewrite: the gate read the filter already

    itemtypes.parse_ecql_text = read_by_gate
    itemtypes.modify_pygeofilter = lambda tree, **_: tree
    return KeyGate(pygeoapi_app, open_store(settings.workspace, settings.database_url), live, base=live.url,
                   origins=origins())


def origins() -> tuple[str, ...]:
    """The web origins whose pages may call the API (``$HGWATCH_API_ORIGINS``, comma-separated): any (``*``)
    when unset, none when empty."""
    given = os.environ.get(ORIGINS_VARIABLE, "*")
    return tuple(o.strip().rstrip("/") for o in given.split(",") if o.strip())
