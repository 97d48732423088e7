"""Shared fixtures: small hand-made layers and a throw-away workspace."""
from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from hypothesis import settings as hypothesis_settings

from settings import Settings

ROOT = Path(__file__).resolve().parent.parent

# CI (CI=true) draws Hypothesis examples from a fixed seed, so a submission's result does not
# depend on luck; locally every run explores new examples (and keeps failures in .hypothesis/).
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture
def sites() -> gpd.GeoDataFrame:
    """Three valid mining sites near Tarkwa, Ghana, with one restricted field filled."""
    return gpd.GeoDataFrame(
        {
            "site_id": ["S1", "S2", "S3"],
            "name": ["Alpha", "Beta <b>", "Gamma"],
            "status": ["active", "inactive", "abandoned"],
            "uses_mercury": [True, False, True],
            "amalgamation": ["whole_ore", "none", "concentrate"],
            "mercury_kg_per_year": [1.5, None, 0.25],
            "miners": [12, 3, 40],
            "survey_date": ["2024-03-01", "2024-04-15", None],
            "informant_name": ["Ama", "Kofi", None],
            "notes": ["by the river", None, "x"],
            "local_code": ["a-1", "b-2", "c-3"],  # an extra column, not in the catalogue
        },
        geometry=[shapely.Point(-1.99, 5.30), shapely.Point(-1.98, 5.31),
                  shapely.Polygon([(-1.97, 5.30), (-1.96, 5.30), (-1.96, 5.31), (-1.97, 5.30)])],
        crs=4326,
    )


@pytest.fixture
def workspace_path(tmp_path: Path) -> Path:
    """Where a test's workspace lives (not created)."""
    return tmp_path / "ws.gpkg"


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on loopback that records every request it gets: (base URL, paths seen).
    Proves that something makes no network request."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(404)
            self.end_headers()

        do_HEAD = do_GET

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


# A real PostgreSQL + PostGIS server for the PostGIS store tests (tests/postgis.py): started once
# per test process on first use, each test given a fresh database from a template.
from tests.postgis import (  # noqa: E402, F401
    pg_bare_url,
    pg_url,
    postgis_bare,
    postgis_bare_proc,
    postgis_ready,
    postgis_ready_proc,
    postgis_server,
)

BACKENDS = ("geopackage", "postgis")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The store a test runs on: a test that asks for it (or for ``location``) runs once on each."""
    return str(request.param)


@pytest.fixture
def location(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the test's store lives: a GeoPackage path not yet created, or a fresh PostGIS database
    with the HgWatch schema (``pg_url``)."""
    return str(tmp_path / "ws.gpkg") if backend == "geopackage" else str(request.getfixturevalue("pg_url"))


@pytest.fixture
def settings(location: str) -> Settings:
    """HgWatch's settings for the test's store (``location``): on each back end in turn."""
    if location.startswith("postgresql"):
        return Settings(database_url=location)
    return Settings(workspace=Path(location))
