"""The dashboard's downloads attacked as a field coordinator would, on a GeoPackage and on PostGIS:
every layer it may see, in every format, under every profile it is offered (``internal``
included), the violations in every format, and the stand-alone map. Planted ``SECRET-...`` values
fill every restricted field and undeclared column (``tests.api_kit``); the coordinator's area is B,
where site S2 lies. Every byte of every file is searched: only S2's values may be there (the
field role's "outside its areas, only what a partner holds"). The control: an analyst's
``internal`` files hold the values of every area.
"""
from __future__ import annotations

import re

from services import auth
from services.exports import FORMATS
from services.hgwatch import HgWatch, Query
from services.view import Filters
from settings import Settings
from tests.api_kit import PASSWORD, SECRET, fill, open_location

PLANTED = re.compile(rb"SECRET-[A-Za-z]+-[A-Za-z_ /]+-(\d)|SECRET-water-(local)")  # every value tests.api_kit plants


def _files(svc: HgWatch) -> dict[str, bytes]:
    """Every download the dashboard offers ``svc``'s identity, by what it is."""
    files: dict[str, bytes] = {}
    for profile in auth.profiles_for(svc.identity or auth.LOCAL):
        for fmt in FORMATS:
            for layer in svc.frames():
                files[f"{layer}.{fmt} ({profile})"] = svc.layer_file(Filters(), layer, fmt, profile)
            files[f"violations.{fmt} ({profile})"] = svc.violations_file(Query(), fmt, profile)
    files["map.html"] = svc.map(Query()).get_root().render().encode()
    return files


def test_a_field_coordinators_downloads_hold_restricted_values_of_its_area_only(location: str) -> None:
    store = fill(open_location(location))
    auth.add_account(store, "kofi", "field", PASSWORD, ["B"])
    settings = (Settings.from_env({}, database_url=location) if location.startswith("postgresql")
                else Settings.from_env({}, workspace=location))
    field = _files(HgWatch(settings, auth.Identity("kofi", "field", ("B",))))
    assert any(name.endswith("(internal)") for name in field)
    found = {name: {b"".join(m) for m in PLANTED.findall(data)} for name, data in field.items()}
    assert all(data.count(SECRET.encode()) == len(PLANTED.findall(data)) for data in field.values())  # none missed
    assert set().union(*found.values()) == {b"1"}, {n: f for n, f in found.items() if f - {b"1"}}  # S2 only
    assert found["mining_sites.geojson (internal)"] == {b"1"}  # its own area's values do reach it
    assert not any(found[n] for n in field if not n.endswith("(internal)"))  # partner and public: none
    analyst = _files(HgWatch(settings, auth.Identity("ana", "analyst")))  # the control
    assert {m[0] for m in PLANTED.findall(analyst["mining_sites.csv (internal)"])} == {b"0", b"1", b"2"}
    assert PLANTED.findall(analyst["water_bodies.geojson (internal)"]) == [(b"", b"local")]
    assert SECRET.encode() in analyst["samples.kml (internal)"] and SECRET.encode() in analyst["tailings.gpkg (internal)"]
