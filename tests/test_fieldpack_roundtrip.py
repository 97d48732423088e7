"""The field round trip through the command line: check opens cases, fieldpack writes the pack, the
form is 'filled' by writing an ODK Central ZIP with media and a KoBoToolbox XLSX in the servers'
layouts, submissions import updates the cases, attaches the photos with their SHA-256, changes
nothing on a second import, and reports bad rows."""
from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pyxform import xls2xform

import cli
from geo.errors import InputError
from layers.store.base import Store
from layers.store.open import open_store
from services import cases, fieldpack
from services.auth import Identity
from tests import field_exports as fx

ANALYST = Identity("ana", "analyst")
SECRET = "PLANTED-SECRET-7f3a"  # restricted fields of the sites: never in a field pack
SITES = [("S1", "Site <b>1</b>", 0.0005, 0.0, "North"), ("S2", "Site 2", 0.0006, 0.01, "North"),
         ("S3", "Site 3", -0.0005, -0.01, "South")]


def _geojson(features: list[dict[str, Any]]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features})


@pytest.fixture(params=["geopackage", "postgis"])
def flagged(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """A store (a GeoPackage, or a PostGIS database) whose recorded check flagged the three sites
    (HG-WATER-100: 55.66 m, 66.79 m, 55.66 m from a river on the meridian); returns the command
    line's store arguments and the case id of each site."""
    where = (["--workspace", str(tmp_path / "ws.gpkg")] if request.param == "geopackage"
             else ["--database-url", str(request.getfixturevalue("pg_url"))])
    sites = _geojson([{"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                       "properties": {"site_id": sid, "name": name, "status": "active", "uses_mercury": True,
                                      "admin_area": area, "informant_name": f"{SECRET}-name-{sid}",
                                      "informant_contact": f"{SECRET}-phone"}} for sid, name, lon, lat, area in SITES])
    water = _geojson([{"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, -0.02], [0, 0.02]]},
                       "properties": {"water_id": "W1", "name": "River", "kind": "river"}}])
    (tmp_path / "sites.geojson").write_text(sites)
    (tmp_path / "water.geojson").write_text(water)
    for name, layer in (("sites.geojson", "mining_sites"), ("water.geojson", "water_bodies")):
        assert cli.main([*where, "import", str(tmp_path / name), "--layer", layer]) == 0
    assert cli.main([*where, "check"]) == 0
    listed = cases.list_cases(_store(where), ANALYST)
    return where, dict(zip(listed["site_id"], listed["violation_id"]))


def _store(where: list[str]) -> Store:
    return open_store(where[1])


def _run(where: list[str], *args: str) -> int:
    return cli.main([*where, *args])


def _cases(where: list[str]) -> dict[str, dict[str, Any]]:
    frame = cases.list_cases(_store(where), ANALYST)
    return {str(r["site_id"]): r for r in frame.to_dict("records")}


def test_pack_fill_import_reimport(flagged: tuple[list[str], dict[str, str]], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    ws, ids = flagged
    assert _run(ws, "fieldpack", "--area", "North", "--out", str(tmp_path / "pack")) == 0
    pack = tmp_path / "pack"
    rows = list(csv.DictReader(io.StringIO((pack / "cases.csv").read_text())))
    assert sorted(r["name"] for r in rows) == sorted([ids["S1"], ids["S2"]])  # North only
    assert {r["site_id"]: float(r["distance_m"]) for r in rows} == {"S1": 55.66, "S2": 66.79}
    assert xls2xform.convert(xlsform=str(pack / "inspection.xlsx"), warnings=[]).xform

    # the field team fills the form: S1 a false positive with a photo taken at the site; S2 confirmed from 1.1 km
    photo = fx.jpeg(0.0001, 0.0005, datetime(2024, 5, 1, 10, 14, 50), "+02:00")  # lat, lon
    odk = fx.odk_zip(tmp_path / "hgwatch_inspection.zip", [
        {"key": "uuid:a1", "violation_id": ids["S1"], "outcome": "false_positive", "reason": "an old dry pit",
         "lat": 0.0001, "lon": 0.0005, "alt": 20, "accuracy": 4.0, "visited_at": "2024-05-01T10:15:00.000+02:00",
         "photo": "1714550100.jpg", "notes": "owner met", "submitter": "kofi"},
        {"key": "uuid:a2", "violation_id": ids["S2"], "outcome": "confirmed", "lat": 0.02, "lon": 0.0006,
         "accuracy": 8.0, "visited_at": "2024-05-01T11:00:00Z", "submitter": "kofi"}],
        {"1714550100.jpg": photo})
    capsys.readouterr()
    assert _run(ws, "submissions", "import", str(odk)) == 0
    out = capsys.readouterr().out
    assert "applied 2" in out and "duplicates 0" in out and "far visits 1" in out and ids["S2"] in out
    after = _cases(ws)
    assert (after["S1"]["status"], after["S2"]["status"], after["S3"]["status"]) == ("false_positive", "confirmed", "new")
    assert (after["S1"]["visits"], after["S2"]["visits"]) == (1, 1)
    store = _store(ws)
    dossier = cases.case_file(store, ANALYST, ids["S1"])
    assert [(p.name, p.sha256) for p in dossier.photos] == [("1714550100.jpg", hashlib.sha256(photo).hexdigest())]
    assert [p.data for p in cases.photo_bytes(store, ANALYST, ids["S1"])] == [photo]
    facts = (dossier.photos[0].lat, dossier.photos[0].lon)
    assert facts == (pytest.approx(0.0001, abs=1e-6), pytest.approx(0.0005, abs=1e-6))  # from the photo's EXIF
    visit = dossier.visits[0]
    assert (visit.lat, visit.lon, visit.accuracy_m, visit.outcome) == (0.0001, 0.0005, 4.0, "false_positive")
    assert visit.distance_m == pytest.approx(11.06, abs=0.01)  # 0.0001 deg of latitude at the equator

    # the same file again changes nothing
    assert _run(ws, "submissions", "import", str(odk)) == 0
    out = capsys.readouterr().out
    assert "applied 0" in out and "duplicates 2" in out
    assert _cases(ws) == after
    assert len(cases.case_file(_store(ws), ANALYST, ids["S1"]).photos) == 1


def test_bad_rows_all_or_nothing_then_the_good_ones(flagged: tuple[list[str], dict[str, str]], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    ws, ids = flagged
    before = _cases(ws)
    kobo = fx.kobo_xlsx(tmp_path / "kobo.xlsx", [
        {"key": "k-1", "violation_id": ids["S3"], "outcome": "remediated", "reason": "pit backfilled",
         "lat": -0.01, "lon": -0.0005, "accuracy": 5.0, "visited_at": "2024-05-02T09:00:00.000+00:00",
         "photo": "p.jpg", "submitter": "ama"},
        {"key": "k-2", "violation_id": "HG-WATER-100/ffffffffffffffff", "outcome": "confirmed", "submitter": "ama"},
        {"key": "k-3", "violation_id": ids["S1"], "outcome": "gone", "submitter": "ama"}])
    capsys.readouterr()
    assert _run(ws, "submissions", "import", str(kobo)) == 2
    err = capsys.readouterr().err
    assert "kobo.xlsx" in err and "row 3" in err and "'gone'" in err and "nothing applied" in err
    assert _cases(ws) == before
    assert _run(ws, "submissions", "import", str(kobo), "--no-all-or-nothing") == 1
    captured = capsys.readouterr()
    assert "applied 1" in captured.out
    assert "row 2" in captured.err and "ffffffffffffffff" in captured.err and "row 3" in captured.err
    assert "p.jpg" in captured.err  # the KoBo workbook names a photo it cannot carry: a warning
    after = _cases(ws)
    assert after["S3"]["status"] == "resolved" and after["S1"]["status"] == before["S1"]["status"]


def test_a_field_account_packs_only_its_area(flagged: tuple[list[str], dict[str, str]], tmp_path: Path) -> None:
    ws, ids = flagged
    store = _store(ws)
    with pytest.raises(InputError, match="no open case"):
        fieldpack.field_pack(store, Identity("kofi", "field", ("South",)), area="North", assignee=None,
                             folder=tmp_path / "p")
    pack, rows = fieldpack.field_pack(store, Identity("kofi", "field", ("South",)), area="South", assignee=None,
                                      folder=tmp_path / "q")
    assert list(rows["violation_id"]) == [ids["S3"]] and pack.cases == 1


def test_fieldpack_odk_central_from_the_command_line(flagged: tuple[list[str], dict[str, str]], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from pyodk._utils import session as pyodk_session

    from services import audit
    from services.odk import CONFIG_ENV
    from tests.test_fieldpack_odk import FakeCentral, _config

    ws, ids = flagged
    central = FakeCentral()
    monkeypatch.setattr(pyodk_session.Adapter, "send", lambda _self, request, **_kw: central.send(request))
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    assert _run(ws, "fieldpack", "--area", "North", "--out", str(tmp_path / "pack"), "--odk-central") == 2
    assert "--odk-config" in capsys.readouterr().err
    assert not (tmp_path / "pack").exists() and central.calls == []  # refused before anything was written or sent
    monkeypatch.setenv(CONFIG_ENV, str(_config(tmp_path)))
    assert _run(ws, "fieldpack", "--area", "North", "--out", str(tmp_path / "pack"), "--odk-central") == 0
    out = capsys.readouterr().out
    assert "published to ODK Central https://central.agency.example" in out and "2 created" in out
    assert sorted(e["violation_id"] for e in central.datasets["cases"]["entities"].values()) == sorted(
        [ids["S1"], ids["S2"]])
    trail = [(row.action, row.target) for row in audit.trail(_store(ws))]
    assert trail[-2:] == [("export", "fieldpack"), ("export", "odk-central")]


def _pack_bytes(folder: Path) -> bytes:
    """Every byte of a pack, the workbook's zip members unpacked."""
    import zipfile

    data = b"".join(p.read_bytes() for p in sorted(folder.iterdir()))
    with zipfile.ZipFile(folder / "inspection.xlsx") as z:
        return data + b"".join(z.read(n) for n in z.namelist())


def test_a_pack_carries_no_restricted_value_and_a_partner_gets_none(
        flagged: tuple[list[str], dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from services import auth

    where, ids = flagged
    assert _run(where, "fieldpack", "--area", "North", "--out", str(tmp_path / "pack")) == 0
    everything = _pack_bytes(tmp_path / "pack")
    assert ids["S1"].encode() in everything  # the search is not vacuous
    assert SECRET.encode() not in everything and SECRET.encode("utf-16-le") not in everything
    store = _store(where)
    auth.add_account(store, "pat", "partner", "a long password")
    auth.add_account(store, "kofi", "field", "a long password", ["South"])
    capsys.readouterr()
    assert _run(where, "--as", "pat", "fieldpack", "--area", "North", "--out", str(tmp_path / "partner")) == 2
    assert "partner" in capsys.readouterr().err
    assert not (tmp_path / "partner").exists() or not any((tmp_path / "partner").iterdir())
    assert _run(where, "--as", "kofi", "fieldpack", "--area", "North", "--out", str(tmp_path / "kofi")) == 2
    assert "no open case" in capsys.readouterr().err  # North is not one of kofi's areas
    assert _run(where, "--as", "kofi", "fieldpack", "--area", "South", "--out", str(tmp_path / "kofi")) == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "kofi" / "cases.csv").read_text())))
    assert [r["name"] for r in rows] == [ids["S3"]]
    assert SECRET.encode() not in _pack_bytes(tmp_path / "kofi")


def test_assignee_narrows_the_pack(flagged: tuple[list[str], dict[str, str]], tmp_path: Path) -> None:
    where, ids = flagged
    assert _run(where, "cases", "assign", ids["S2"], "--to", "kofi") == 0
    assert _run(where, "fieldpack", "--area", "North", "--assignee", "kofi", "--out", str(tmp_path / "k")) == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "k" / "cases.csv").read_text())))
    assert [(r["name"], r["assignee"], r["status"]) for r in rows] == [(ids["S2"], "kofi", "assigned")]
    assert _run(where, "fieldpack", "--area", "North", "--assignee", "ama", "--out", str(tmp_path / "a")) == 2
