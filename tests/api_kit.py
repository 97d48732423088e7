"""What the partner API tests share: a store with planted restricted values, accounts and keys made
with the real command line, and the real server (``python -m api``) on a free loopback port.

Planted values a partner may never get all start with ``SECRET``: the catalogue's restricted
fields (informant name and contact, inspector, collector, participant), person-like undeclared
columns and an undeclared column never marked shareable (``local_code``).
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import shapely

import cli
from layers.store.base import Store
from layers.store.open import open_store
from services import auth
from tests.conftest import ROOT

SECRET = "SECRET"
PASSWORD = "correct horse battery"
PARTNER_LAYERS = ("mining_sites", "water_bodies", "tailings", "samples")
CLASSING = {"hg_value", "hg_unit", "hg_class", "guideline", "ratio", "hg_text", "basis"}  # samples, as the app shows them


def _secrets(layer: str, n: int, *names: str) -> dict[str, list[str]]:
    return {name: [f"{SECRET}-{layer}-{name}-{i}" for i in range(n)] for name in names}


def planted() -> dict[str, gpd.GeoDataFrame]:
    """Hand-made layers near Tarkwa: a river along lat 5.30 from lon -2.00 to -1.90; site S1 uses
    mercury about 55 m north of it (a HG-WATER-100 violation), S2 and S3 are 2 km away; a tailings
    pond 33 m from the river (TAILINGS-WATER-100); two water samples, one above the WHO 6 ug/L."""
    river = gpd.GeoDataFrame({"water_id": ["R1"], "name": ["Bonsa"], "kind": ["river"],
                              "local_code": [f"{SECRET}-water-local"]},
                             geometry=[shapely.LineString([(-2.0, 5.30), (-1.90, 5.30)])], crs=4326)
    sites = gpd.GeoDataFrame({
        "site_id": ["S1", "S2", "S3/odd id"], "name": ["Alpha", "Beta <b>", "${HOME} Gamma"],
        "status": ["active", "inactive", "active"], "uses_mercury": [True, False, True],
        "amalgamation": ["whole_ore", "none", "concentrate"], "burning": ["open", "none", "retort"],
        "miners": [12, 3, 40], "survey_date": ["2024-03-01", "2024-04-15", None],
        "admin_area": ["A", "B", "A"],
        **_secrets("sites", 3, "informant_name", "informant_contact", "inspector_name", "local_code",
                   "Enumerator Phone", "interview/informant_name")},
        geometry=[shapely.Point(-1.95, 5.3005), shapely.Point(-1.95, 5.318),
                  shapely.Polygon([(-1.93, 5.32), (-1.92, 5.32), (-1.92, 5.33), (-1.93, 5.32)])], crs=4326)
    tailings = gpd.GeoDataFrame({
        "tailings_id": ["T1"], "site_id": ["S1"], "lined": [False], "hg_mg_per_kg": [3.5],
        **_secrets("tailings", 1, "local_code", "owner_name")},
        geometry=[shapely.Point(-1.94, 5.3003)], crs=4326)
    samples = gpd.GeoDataFrame({
        "sample_id": ["W1", "W2"], "medium": ["water", "water"], "hg": [8.0, 1.0], "unit": ["ug/L", "ug/L"],
        "sampled_on": ["2024-05-01", "2025-01-10"],
        **_secrets("samples", 2, "collector_name", "participant_id", "local_code")},
        geometry=[shapely.Point(-1.96, 5.2995), shapely.Point(-1.91, 5.2990)], crs=4326)
    return {"mining_sites": sites, "water_bodies": river, "tailings": tailings, "samples": samples}


def fill(store: Store) -> Store:
    """``store`` with the planted layers and accounts: partner ``unep``, analyst ``ana``, partner
    ``gone`` (disabled later by the tests that need it)."""
    store.write_layers(list(planted().items()), source="planted.geojson", licence="CC-BY-4.0", accuracy_m=5.0)
    for name, role in (("unep", "partner"), ("ana", "analyst"), ("gone", "partner")):
        auth.add_account(store, name, role, PASSWORD)
    return store


def run_cli(location: str, *argv: str) -> tuple[int, str, str]:
    """``cli.py --workspace/--database-url LOCATION ARGV`` in this process: (code, stdout, stderr)."""
    where = ["--database-url", location] if location.startswith("postgresql") else ["--workspace", location]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([*where, *argv])
    return code, out.getvalue(), err.getvalue()


def new_key(location: str, name: str) -> str:
    """A key made by ``cli.py keys create NAME``: the last line of its output, alone."""
    code, out, err = run_cli(location, "keys", "create", name)
    assert code == 0, err
    last = out.rstrip("\n").splitlines()[-1]
    assert last == last.strip() and " " not in last
    return last


@dataclass(frozen=True)
class Keys:
    partner: str
    analyst: str
    revoked: str
    disabled: str


def make_keys(location: str) -> Keys:
    """A partner's and an analyst's valid keys, a revoked key and a key of an account then disabled."""
    revoked = new_key(location, "unep")
    assert run_cli(location, "keys", "revoke", "unep")[0] == 0
    keys = Keys(new_key(location, "unep"), new_key(location, "ana"), revoked, new_key(location, "gone"))
    assert run_cli(location, "users", "disable", "gone")[0] == 0
    return keys


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, key: str | None = None, header: str = "X-API-Key") -> tuple[int, dict[str, str], bytes]:
    """GET ``url`` with ``key`` in ``header`` (``Authorization`` sends ``Bearer KEY``): status, headers, body."""
    request = urllib.request.Request(url)
    if key is not None:
        request.add_header(header, f"Bearer {key}" if header == "Authorization" else key)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@contextlib.contextmanager
def serving(location: str, folder: Path, public_url: str | None = None) -> Iterator[str]:
    """The real API server (``python -m api``) on a free loopback port for the store at
    ``location``; yields its base URL; stopped (and waited for) afterwards. ``public_url``: the
    URL it is published under (``--url``, e.g. a proxy's), which its links then use."""
    port = free_port()
    where = ["--database-url", location] if location.startswith("postgresql") else ["--workspace", location]
    if public_url is not None:
        where += ["--url", public_url]
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    env.pop("HGWATCH_DATABASE_URL", None)
    log = (folder / f"api-{port}.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "api", "--port", str(port), *where], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the API server stopped: {(folder / f'api-{port}.log').read_text()}")
            with contextlib.suppress(OSError):
                if get(url + "/")[0] == 401:
                    break
            if time.monotonic() > deadline:
                raise AssertionError("the API server did not answer within 120 s")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


GDAL_READ = """
import json, sys
import pyogrio
frame = pyogrio.read_dataframe(sys.argv[1], PAGE_SIZE=sys.argv[2])
print(json.dumps({"rows": len(frame), "columns": [c for c in frame.columns if c != "geometry"],
                  "ids": [str(v) for v in frame[sys.argv[3]]] if sys.argv[3] in frame.columns else []}))
"""


def gdal_read(url: str, collection: str, key: str, id_field: str, folder: Path, page_size: int = 2) -> dict[str, object]:
    """GDAL's OAPIF driver (through pyogrio) reading ``collection`` in a clean process, the key in a
    header file (``GDAL_HTTP_HEADER_FILE``), ``page_size`` features a page so that it follows
    ``next`` links."""
    headers = folder / "gdal-headers.txt"
    headers.write_text(f"X-API-Key: {key}\n")
    env = {**os.environ, "GDAL_HTTP_HEADER_FILE": str(headers), "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    done = subprocess.run([sys.executable, "-c", GDAL_READ, f"OAPIF:{url}/collections/{collection}", str(page_size),
                           id_field], capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def open_location(location: str) -> Store:
    return open_store(location)
