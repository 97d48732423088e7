"""The dashboard map's vector-tile archives, attacked: Streamlit hands its static folder
(``/app/static/tiles/<key>/``) to anyone who has an address, signed in or not, so no archive may
hold what its least-privileged reader may not see, and an analyst's may hold nothing a partner's
does not.

On a GeoPackage and on PostGIS, with every layer tiled (``HGWATCH_TILES_ABOVE=0``), the first map
of a partner, a field coordinator (area B) and an analyst is built into one folder. Every byte of
every file written there (archives, rows files, indexes, builds left half-way) is searched for the
planted ``SECRET-...`` values, the wholly restricted layer's values and its name; the analyst's
page names exactly the archives the partner's page names (so guessing an analyst's archive address
gives a partner nothing it was not served). Controls: the partner-visible values (site names) are
in the rows files, and the analyst's service holds every planted value the files are searched for.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import services.tiles
from services.auth import Identity
from services.hgwatch import HgWatch, Query
from settings import Settings
from tests.api_kit import SECRET, fill, open_location
from tests.test_postgis_partner import layer_frame

pytestmark = pytest.mark.skipif(not services.tiles.available(), reason="tippecanoe or protomaps-leaflet not installed")
ROLES = {"partner": Identity("unep", "partner"), "field": Identity("kofi", "field", ("B",)),
         "analyst": Identity("ana", "analyst")}


def _settings(location: str) -> Settings:
    if location.startswith("postgresql"):
        return Settings.from_env({}, database_url=location)
    return Settings.from_env({}, workspace=location)


def _archives(html: str) -> set[str]:
    """The archive keys a page names (``/app/static/tiles/<key>``)."""
    return set(re.findall(r"/app/static/tiles/([0-9a-f]{24})", html))


def test_no_tile_archive_holds_restricted_data_and_an_analyst_has_none_a_partner_lacks(
        location: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = fill(open_location(location))
    store.write_layers([("mercury_trade", layer_frame("mercury_trade"))], source="trade.geojson")
    folder = tmp_path / "static-tiles"
    monkeypatch.setattr(services.tiles, "TILES_DIR", folder)
    monkeypatch.setenv(services.tiles.ENV_ABOVE, "0")
    monkeypatch.setenv(services.tiles.ENV_BASEMAP, "none")
    pages = {role: HgWatch(_settings(location), who).map(Query()).get_root().render() for role, who in ROLES.items()}

    written = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    everything = b"\n".join(written.values())
    assert {p.name for p in written} >= {"tiles.pmtiles", "rows.json", "index.json"}
    assert b"Alpha" in everything and b"Bonsa" in everything  # the control: what a partner sees is in them
    assert SECRET.encode() not in everything
    assert b"mercury_trade" not in everything and b"Mercury trade" not in everything
    for role, html in pages.items():  # the pages name the archives: nothing planted travels with them either
        assert SECRET not in html or role == "analyst", role
    assert _archives(pages["partner"]) and _archives(pages["analyst"]) == _archives(pages["partner"])
    assert _archives(pages["field"]) == _archives(pages["partner"])
    assert {p.parent.name for p in written if not p.parent.name.startswith(".")} == _archives(pages["partner"])

    analyst = HgWatch(_settings(location), ROLES["analyst"]).frames()  # the control: the values were there to leak
    held = "\n".join(f.astype(str).to_csv() for f in analyst.values())
    assert "SECRET-sites-informant_name-0" in held and "SECRET-mercury_trade" in held and "SECRET-water-local" in held
