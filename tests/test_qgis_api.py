"""QGIS itself (headless, Debian's ``python3-qgis``, run by ``tests/qgis_driver.py``) as a partner uses
the partner API: a *WFS / OGC API - Features* connection to the real server (``python -m api``) with the
partner's key in an authentication configuration, every collection its browser lists opened as a layer.

The server runs on loopback behind a recording proxy (also on loopback; the server's ``--url`` is the
proxy's, as behind an agency's reverse proxy), which keeps every byte QGIS sent and received. The store
(a GeoPackage, then PostGIS) is one the project's own code wrote: the planted layers
(``tests.api_kit.planted``) with 250 more sites (more than a page: QGIS must follow the paging),
planted restricted values in every layer, a wholly restricted layer (``mercury_trade``) and one
recorded rule run (its cases).

What was found with QGIS 3.22.16: it has no *API Header* authentication (3.26 added it) and its OAPIF
data source takes no HTTP header, so a 3.22 user can only send the key as a *Basic* authentication's
password, which the API refused until 2026-11-27 (401 to every request: no collection, no layer); it
now reads the key from there too. With it, QGIS lists the partner's collections and nothing else, opens
each with its fields, EPSG:4326 and its declared extent, pages (100 features a page, ``next`` links
through the proxy's host) and sends its map extent as ``bbox``.

The tests that run QGIS are skipped, with the reason, only when ``/usr/bin/python3`` cannot import
``qgis.core``; those that ask the server by hand what QGIS asks always run."""
from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.geometry

from api.config import MAX_ITEMS
from services import audit
from services.auth import Identity
from services.features import CASE_COUNTS, FeatureSource, Served, case_counts_served
from settings import Settings
from tests.api_kit import (
    PASSWORD,
    SECRET,
    fill,
    free_port,
    get,
    make_keys,
    new_key,
    open_location,
    planted,
    run_cli,
    serving,
)
from tests.test_qgis import DRIVER, QGIS_PYTHON, REASON, _env

needs_qgis = pytest.mark.skipif(REASON is not None, reason=REASON or "")

PARTNER = Identity("api:metadata", "partner")
MORE = 250  # sites beyond the planted three: 253 > the API's page of 100
ID_FIELDS = {"mining_sites": "site_id", "water_bodies": "water_id", "tailings": "tailings_id", "samples": "sample_id",
             "violations": "violation_id", "surfaces": "medium", "case_counts": "admin_area"}
TRADE_SECRET = f"{SECRET}-trade"
GRID = (-1.9005, 5.1995, -1.8955, 5.2025)  # the extra sites at lon -1.900..-1.896, lat 5.200..5.202
IN_GRID = sorted(f"L{row * 25 + col}" for row in range(3) for col in range(5))  # 15 sites, by hand
SUBSETS = {"mining_sites": "\"survey_date\" >= '2024-04-01'", "samples": "\"sampled_on\" < '2025-01-01'"}
IN_SUBSETS = {"mining_sites": sorted(["S2", *(f"L{i}" for i in range(0, MORE, 2))]), "samples": ["W1"]}  # by hand


def more_sites() -> gpd.GeoDataFrame:
    """The planted sites and ``MORE`` more on a 25-column grid of 0.001 degrees from (-1.9, 5.2),
    every one with planted restricted values (the first named in Twi, French, Chinese and an emoji)."""
    base = planted()["mining_sites"]
    n = np.arange(MORE)
    more = gpd.GeoDataFrame({
        "site_id": [f"L{i}" for i in n], "name": [f"Site {i}" if i else "Nkwanta – Ɔdɔ é 金 🙂" for i in n],
        "status": "active", "uses_mercury": True, "miners": n % 50, "admin_area": "B",
        "survey_date": np.where(n % 2 == 0, "2024-06-01", "2023-06-01"),
        **{c: [f"{SECRET}-more-{c}-{i}" for i in n] for c in base.columns
           if str(c).startswith(("informant", "inspector", "local", "Enumerator", "interview"))}},
        geometry=shapely.points(-1.9 + (n % 25) * 1e-3, 5.2 + (n // 25) * 1e-3), crs=4326)
    return gpd.GeoDataFrame(pd.concat([base, more], ignore_index=True), crs=4326)


@dataclass
class Recording:
    """What went through the proxy: the bytes each way, per connection."""

    sent: list[bytearray] = field(default_factory=list)  # client -> server
    received: list[bytearray] = field(default_factory=list)  # server -> client

    def exchanges(self) -> list[tuple[str, int, bytes]]:
        """Every request QGIS sent and the answer it got (one at a time on a connection, as QGIS asks):
        the request target, the status and the body (a chunked body joined)."""
        return [(target, status, body) for sent, received in zip(self.sent, self.received)
                for target, (status, body) in zip(_targets(bytes(sent)), _responses(bytes(received)))]

    def everything(self) -> bytes:
        return b"".join(bytes(c) for c in self.received)


def _targets(data: bytes) -> list[str]:
    """The request targets in a client's bytes."""
    return [m.decode("latin-1") for m in re.findall(rb"(?:^|\r\n)[A-Z]+ (\S+) HTTP/1\.[01]\r\n", data)]


def _responses(data: bytes) -> list[tuple[int, bytes]]:
    """The responses in a server's bytes: status and body."""
    answers = []
    while data:
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        assert "content-encoding" not in headers, headers  # the bytes searched are the bytes QGIS reads
        if "content-length" in headers:
            n = int(headers["content-length"])
            body, data = data[:n], data[n:]
        elif headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                size, _, data = data.partition(b"\r\n")
                n = int(size.split(b";")[0], 16)
                body, data = body + data[:n], data[n + 2:]
                if n == 0:
                    break
        else:
            body, data = data, b""
        answers.append((int(lines[0].split()[1]), body))
    return answers


@contextlib.contextmanager
def recording_proxy(upstream: int, port: int, prefix: str = "") -> Iterator[Recording]:
    """A TCP relay on loopback ``port`` to loopback ``upstream`` that records both directions; with a
    ``prefix`` (``/hgwatch``), it serves the API under that path, as an agency's reverse proxy may:
    the prefix is taken off each request's target on its way to the server (what QGIS sent is recorded)."""
    record = Recording()
    listener = socket.create_server(("127.0.0.1", port))
    listener.settimeout(0.2)
    stop = threading.Event()
    threads: list[threading.Thread] = []
    sockets: list[socket.socket] = []
    request_line = re.compile(rb"(^|\r\n)([A-Z]+ )" + re.escape(prefix.encode()) + rb"(/\S*)? (HTTP/1\.[01]\r\n)")

    def pump(src: socket.socket, dst: socket.socket, into: bytearray, to_server: bool) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                into.extend(data)
                dst.sendall(request_line.sub(lambda m: m[1] + m[2] + (m[3] or b"/") + b" " + m[4], data)
                            if to_server and prefix else data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            server = socket.create_connection(("127.0.0.1", upstream))
            sockets.extend((client, server))
            sent, received = bytearray(), bytearray()
            record.sent.append(sent)
            record.received.append(received)
            for args in ((client, server, sent, True), (server, client, received, False)):
                thread = threading.Thread(target=pump, args=args, daemon=True)
                thread.start()
                threads.append(thread)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield record
    finally:
        stop.set()
        acceptor.join()
        listener.close()
        for thread in threads:
            thread.join(timeout=10)
        for sock in sockets:
            sock.close()


@contextlib.contextmanager
def serving_behind_proxy(location: str, folder: Path, prefix: str = "") -> Iterator[tuple[str, Recording]]:
    """The real API server on a loopback port, its public URL that of a recording proxy in front of it
    (under ``prefix``): (the URL QGIS is given, what went through the proxy). Stopped (and waited for)
    afterwards."""
    public = free_port()
    url = f"http://127.0.0.1:{public}{prefix}"
    with serving(location, folder, public_url=url + "/") as local, \
            recording_proxy(int(local.rsplit(":", 1)[1]), public, prefix) as record:
        yield url, record


def qgis_as_partner(folder: Path, url: str, password: str | None, subsets: dict[str, str] | None = None,
                    page_size: int | None = None) -> dict[str, Any]:
    """QGIS in a fresh profile (its settings and auth database under ``folder``): a connection to ``url``
    with a Basic authentication whose password is ``password`` (none at all for None), every layer its
    browser lists opened, with the features in ``GRID`` asked for as the map canvas does (and then
    filtered with ``subsets``, collection id -> expression, as the Query Builder does); ``page_size``:
    the connection's *Page size*."""
    home = folder / f"qgis-home-{time.monotonic_ns()}"
    (home / "auth").mkdir(parents=True)
    env = {**_env(), "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local"),
           "XDG_CACHE_HOME": str(home / ".cache"), "QGIS_AUTH_DB_DIR_PATH": str(home / "auth"),
           "NO_PROXY": "*", "no_proxy": "*"}
    job: dict[str, Any] = {"browse": {"url": url + "/", "id_fields": ID_FIELDS, "extent": list(GRID), "wkt": "*",
                                      "subsets": subsets or {}, "page_size": page_size}}
    if password is not None:
        job["auth"] = {"method": "Basic", "username": "unep", "password": password}
    done = subprocess.run([QGIS_PYTHON, str(DRIVER)], input=json.dumps(job), capture_output=True, text=True, env=env,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.fixture
def store(location: str, tmp_path: Path) -> tuple[str, str, Path]:
    """The store (a GeoPackage, then PostGIS), a partner's key and a folder: (location, key, folder)."""
    folder = tmp_path
    fill(open_location(location))
    trade = gpd.GeoDataFrame({"record_id": ["M1"], "record_type": ["seizure"], "kg": [2.5], "seller": [TRADE_SECRET],
                              "place": [f"{TRADE_SECRET}-place"]}, geometry=[shapely.Point(-1.95, 5.30)], crs=4326)
    open_location(location).write_layers([("mining_sites", more_sites()), ("mercury_trade", trade)],
                                         source="planted.geojson", licence="CC-BY-4.0", accuracy_m=5.0)
    code, _, err = run_cli(location, "check")  # a recorded run: its cases are counted in case_counts
    assert code == 0, err
    return location, new_key(location, "unep"), folder


def _text(value: Any) -> str | None:
    """A property value as the driver reports QGIS's (None for null; booleans as Python writes them)."""
    return None if value is None else str(value)


def partner_view(location: str) -> dict[str, list[list[str | None]]]:
    """Every collection as the store's partner view holds it: per feature, its id and its properties
    (in the collection's field order), as text."""
    view = {}
    for name, served in partner_collections(location).items():
        features = served.features(range(len(served.frame)))
        view[name] = [[_text(f["id"]), *(_text(f["properties"].get(k)) for k in served.fields)] for f in features]
    return view


def partner_collections(location: str) -> dict[str, Served]:
    """The collections the API serves a partner (``api.config``): the partner's layers, ``violations``,
    ``surfaces`` and ``case_counts``."""
    where = {"database_url": location} if location.startswith("postgresql") else {"workspace": location}
    source = FeatureSource(Settings.from_env({}, **where), recheck_s=0.0)
    return {**source.collections(PARTNER), CASE_COUNTS: case_counts_served(source.store, PARTNER)}


@needs_qgis
def test_qgis_loads_every_partner_collection_through_the_api_with_a_key(store: tuple[str, str, Path]) -> None:
    location, key, folder = store
    expected = partner_view(location)
    assert len(expected["mining_sites"]) == 3 + MORE and expected["case_counts"]  # not vacuous
    with serving_behind_proxy(location, folder) as (url, record):
        answer = qgis_as_partner(folder, url, key)
    served = partner_collections(location)
    listed = [item["typename"] for item in answer["browsed"]]
    assert sorted(listed) == sorted(expected)  # every collection a partner may see, and only those
    for item, layer in zip(answer["browsed"], answer["layers"]):
        name = item["typename"]
        assert layer["valid"], (name, layer)
        assert layer["count"] == len(expected[name]) == len(layer["values"]), name
        assert layer["fields"] == ["id", *served[name].fields], name
        assert sorted(layer["values"], key=str) == sorted(expected[name], key=str), name
        if name != CASE_COUNTS:  # no geometry; the others: the CRS, the extent the collection declares, each geometry
            assert layer["crs"] == "EPSG:4326", name
            assert layer["box"] == pytest.approx(list(served[name].frame.total_bounds), abs=1e-9), name
            shapes = {str(f["properties"][ID_FIELDS[name]]): shapely.geometry.shape(f["geometry"])
                      for f in served[name].features(range(len(served[name].frame)))}
            assert sorted(layer["wkt"]) == sorted(shapes), name
            for ident, wkt in layer["wkt"].items():
                assert shapely.from_wkt(wkt).equals_exact(shapes[ident], 1e-9), (name, ident, wkt)
    sites = answer["layers"][listed.index("mining_sites")]
    assert sites["extent"] == IN_GRID  # QGIS's extent filter: exactly the sites inside
    exchanges = record.exchanges()
    pages = [(target, json.loads(body)) for target, _, body in exchanges
             if target.startswith("/collections/mining_sites/items")]
    boxed = [page for target, page in pages if "bbox=" in target]
    assert boxed and all(sorted(f["id"] for f in page["features"]) == IN_GRID for page in boxed)  # the server's answer
    paged = [page for target, page in pages if "bbox=" not in target and "offset=" in target]
    assert len(paged) >= 2, [target for target, _ in pages]  # QGIS followed the paging (100 a page)
    assert [status for _, status, _ in exchanges] == [200] * len(exchanges), [
        (target, status, body[:300]) for target, status, body in exchanges if status != 200]
    everything = record.everything()
    assert b"Alpha" in everything and b"Site 249" in everything  # not vacuous: the data went through
    assert SECRET.encode() not in everything and b"mercury_trade" not in everything
    trail = [row for row in audit.trail(open_location(location)) if row.action == "api request"]
    assert {row.target for row in trail} >= set(expected) and {row.who for row in trail} == {"unep"}  # audited
    fields = {f for layer in answer["layers"] for f in layer["fields"]}
    assert not {"informant_name", "local_code", "inspector_name", "collector_name", "owner_name"} & fields


@needs_qgis
def test_a_date_filter_set_in_qgis_is_answered_by_the_server_page_by_page(store: tuple[str, str, Path]) -> None:
    """QGIS turns a layer filter on the collection's date field into ``datetime=START/END`` (9999-12-31 for
    no end, 0000-01-01 for no start) and pages through the answer."""
    location, key, folder = store
    with serving_behind_proxy(location, folder) as (url, record):
        answer = qgis_as_partner(folder, url, key, SUBSETS)
    listed = [item["typename"] for item in answer["browsed"]]
    exchanges = record.exchanges()
    assert [status for _, status, _ in exchanges] == [200] * len(exchanges), [
        (target, status, body[:300]) for target, status, body in exchanges if status != 200]
    for name, ids in IN_SUBSETS.items():
        assert answer["layers"][listed.index(name)]["subset"] == ids, name
        dated = [target for target, _, _ in exchanges if target.startswith(f"/collections/{name}/items?")
                 and "datetime=" in target]
        assert dated, name  # the filter went to the server
    sites = [target for target, _, _ in exchanges if target.startswith("/collections/mining_sites/items?")
             and "datetime=" in target]
    assert any("offset=" in target for target in sites), sites  # 126 sites: QGIS followed the next links
    assert SECRET.encode() not in record.everything()


@needs_qgis
def test_the_same_qgis_run_with_an_analyst_key_gets_the_planted_values(store: tuple[str, str, Path]) -> None:
    """The recording and the search are not blind: an analyst's key (every field) in the same QGIS job
    brings the planted restricted values through the proxy, and QGIS shows the restricted columns."""
    location, _, folder = store
    analyst = new_key(location, "ana")
    with serving_behind_proxy(location, folder) as (url, record):
        answer = qgis_as_partner(folder, url, analyst)
    sites = answer["layers"][[item["typename"] for item in answer["browsed"]].index("mining_sites")]
    assert "informant_name" in sites["fields"] and SECRET in json.dumps(sites["values"])
    assert SECRET.encode() in record.everything()


@needs_qgis
def test_qgis_with_a_page_size_above_the_api_maximum_gets_every_feature(store: tuple[str, str, Path]) -> None:
    """A user who sets the connection's *Page size* above the API's maximum (``api.config.MAX_ITEMS``):
    QGIS asks for that many features a page and must get them all, a page at most ``MAX_ITEMS`` long (the
    standard's example: ask for 50000, get up to the server's 10000 and a ``next`` link)."""
    location, key, folder = store
    size = 2 * MAX_ITEMS
    with serving_behind_proxy(location, folder) as (url, record):
        answer = qgis_as_partner(folder, url, key, page_size=size)
    assert answer["browsed"] and all(f"pageSize='{size}'" in item["uri"] for item in answer["browsed"])
    sites = answer["layers"][[item["typename"] for item in answer["browsed"]].index("mining_sites")]
    assert sites["count"] == len(sites["values"]) == 3 + MORE
    exchanges = record.exchanges()
    assert any(target.startswith("/collections/mining_sites/items?") and f"limit={size}" in target
               for target, _, _ in exchanges)
    assert [status for _, status, _ in exchanges] == [200] * len(exchanges), [
        (target, status, body[:300]) for target, status, body in exchanges if status != 200]


@needs_qgis
def test_qgis_reads_the_api_served_under_a_path_by_a_reverse_proxy(store: tuple[str, str, Path]) -> None:
    """The agency publishes the API at ``/hgwatch/api`` (``--url http://HOST/hgwatch/api/``): every link QGIS
    follows stays under that path, and it reads every collection whole."""
    location, key, folder = store
    expected = partner_view(location)
    with serving_behind_proxy(location, folder, "/hgwatch/api") as (url, record):
        answer = qgis_as_partner(folder, url, key)
    counts = {item["typename"]: (layer["count"], len(layer["values"]))
              for item, layer in zip(answer["browsed"], answer["layers"])}
    assert counts == {name: (len(rows), len(rows)) for name, rows in expected.items()}
    exchanges = record.exchanges()
    assert len(exchanges) > len(expected) and all(target.startswith("/hgwatch/api/") for target, _, _ in exchanges)
    assert [status for _, status, _ in exchanges] == [200] * len(exchanges)


@needs_qgis
@pytest.mark.parametrize("password", [None, "hgw_not-a-key", ""], ids=["no key", "wrong key", "empty"])
def test_qgis_without_a_valid_key_gets_nothing(store: tuple[str, str, Path], password: str | None) -> None:
    location, _, folder = store
    with serving_behind_proxy(location, folder) as (url, record):
        answer = qgis_as_partner(folder, url, password)
    assert answer["browsed"] == [] and answer["layers"] == []
    statuses = [status for _, status, _ in record.exchanges()]
    assert statuses and set(statuses) == {401}, statuses
    everything = record.everything()
    assert SECRET.encode() not in everything and b"mining_sites" not in everything


def _basic(url: str, credentials: bytes) -> tuple[int, bytes]:
    """GET ``url`` with ``Authorization: Basic`` and ``credentials`` (``user:password``, base64-encoded here)."""
    request = urllib.request.Request(url, headers={"Authorization": "Basic " + base64.b64encode(credentials).decode()})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_a_basic_authentication_opens_with_a_valid_key_as_its_password_only(tmp_path: Path) -> None:
    """What QGIS 3.22 sends, tried by hand: the key is the password, the user name does not matter;
    a revoked key, a disabled account's key, a wrong or empty password, a password of an account
    (not a key) and a malformed header all get 401."""
    location = str(tmp_path / "ws.gpkg")
    fill(open_location(location))
    keys = make_keys(location)
    with serving(location, tmp_path) as url:
        for user in (b"unep", b"", b"ana"):
            status, body = _basic(url + "/collections", user + b":" + keys.partner.encode())
            assert status == 200 and b"mining_sites" in body, (user, body[:300])
        for password in (keys.revoked, keys.disabled, "hgw_wrong", "", PASSWORD):
            status, body = _basic(url + "/collections", b"unep:" + password.encode())
            assert status == 401 and b"mining_sites" not in body, password
        assert _basic(url + "/collections", keys.partner.encode())[0] == 401  # no colon: no password
        for header in ("Basic", "Basic !!!", "Basic " + keys.partner, "Digest " + keys.partner):
            request = urllib.request.Request(url + "/collections", headers={"Authorization": header})
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=60)
            assert refused.value.code == 401, header


def test_a_limit_above_the_maximum_gets_pages_of_the_maximum_and_next_links(tmp_path: Path) -> None:
    """What QGIS asks with a page size of 2 * MAX_ITEMS, on a collection of more than MAX_ITEMS features:
    pages of MAX_ITEMS, ``next`` links on the public URL, every feature once."""
    location = str(tmp_path / "ws.gpkg")
    fill(open_location(location))
    n = np.arange(MAX_ITEMS + 7)
    sites = gpd.GeoDataFrame({"site_id": [f"M{i}" for i in n], "status": "active", "uses_mercury": True},
                             geometry=shapely.points(-1.5 + (n % 100) * 1e-3, 5.0 + (n // 100) * 1e-3), crs=4326)
    open_location(location).write_layers([("mining_sites", sites)], source="grid.geojson", licence="CC-BY-4.0")
    key = new_key(location, "unep")
    with serving_behind_proxy(location, tmp_path) as (url, _):
        link, seen, pages = f"{url}/collections/mining_sites/items?limit={2 * MAX_ITEMS}", [], []
        while link:
            status, _, body = get(link, key)
            assert status == 200, body[:300]
            page = json.loads(body)
            pages.append(len(page["features"]))
            seen += [f["id"] for f in page["features"]]
            link = next((x["href"] for x in page["links"] if x["rel"] == "next"), "")
            assert not link or link.startswith(url + "/"), link  # the public URL: the proxy's
            assert len(pages) <= 3, pages
    assert pages == [MAX_ITEMS, 7] and sorted(seen) == sorted(sites["site_id"])
