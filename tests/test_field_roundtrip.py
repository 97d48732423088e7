"""A case's round trip to the field and back, as a field coordinator meets it (session 11, HF).

ODK Central keeps ONE entity list ``cases`` per project, and every area's pack publishes into it:
publishing the South pack must not delete the North phones' cases. A field account asking for an
area outside its own hears its areas, not "no open case". And the messy export a coordinator
downloads (a far visit, a photo missing from the ZIP, a rejected submission, a case of another
area, a case reassigned meanwhile, HTML and non-ASCII in notes) is imported on GeoPackage and
PostGIS with every row accounted for, and a second import changes nothing.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyodk._utils import session as pyodk_session

from geo.errors import InputError
from services import audit, auth, cases, fieldpack, odk
from services.auth import Identity
from tests import field_exports as fx
from tests.test_fieldpack_odk import FakeCentral, _config
from tests.test_fieldpack_roundtrip import _cases, _run, _store, flagged  # noqa: F401 (flagged: the fixture)


@pytest.fixture
def central(monkeypatch: pytest.MonkeyPatch) -> FakeCentral:
    fake = FakeCentral()
    monkeypatch.setattr(pyodk_session.Adapter, "send", lambda _self, request, **_kw: fake.send(request))
    return fake


def _frame(rows: list[tuple[str, str, str, str | None]]) -> pd.DataFrame:
    """Cases (violation id, admin area, status, assignee) at known places, as ``list_cases`` gives them."""
    return pd.DataFrame({
        "violation_id": [r[0] for r in rows], "site_id": [f"S-{r[0]}" for r in rows],
        "rule_id": ["HG-WATER-100"] * len(rows), "status": [r[2] for r in rows], "assignee": [r[3] for r in rows],
        "site_name": [f"Pit {r[0]}" for r in rows], "distance_m": [50.0] * len(rows),
        "lon": [-1.5] * len(rows), "lat": [6.5] * len(rows), "admin_area": [r[1] for r in rows]})


def _push(frame: pd.DataFrame, tmp_path: Path, area: str, assignee: str | None = None) -> odk.OdkPush:
    kept = frame[frame["admin_area"] == area]
    if assignee is not None:
        kept = kept[kept["assignee"] == assignee]
    pack = fieldpack.write_pack(kept, tmp_path / f"{area}-{assignee}", area=area, assignee=assignee,
                                now=datetime(2026, 11, 27, tzinfo=UTC))
    return odk.push_pack(pack, fieldpack.pack_cases(kept), config=_config(tmp_path))


def _on_server(central: FakeCentral) -> dict[str, str]:
    return {e["violation_id"]: e["assignee"] for e in central.datasets["cases"]["entities"].values()}


def test_publishing_one_area_leaves_the_other_areas_cases_on_the_server(tmp_path: Path, central: FakeCentral) -> None:
    frame = _frame([("N-1", "North", "assigned", "kofi"), ("N-2", "North", "assigned", "yaw"),
                    ("N-3", "North", "new", None), ("N-4", "North", "assigned", "kofi"),
                    ("S-1", "South", "assigned", "ama")])
    _push(frame, tmp_path, "North")
    south = _push(frame, tmp_path, "South")  # North's phones keep their cases
    assert _on_server(central) == {"N-1": "kofi", "N-2": "yaw", "N-3": "", "N-4": "kofi", "S-1": "ama"}
    assert (south.created, south.deleted, south.kept) == (1, 0, 4)
    frame.loc[frame["violation_id"] == "N-3", "status"] = "closed"  # settled: North's next pack removes it
    north = _push(frame, tmp_path, "North")
    assert (north.deleted, north.kept) == (1, 1)
    assert sorted(_on_server(central)) == ["N-1", "N-2", "N-4", "S-1"]
    frame.loc[frame["violation_id"] == "N-1", "status"] = "confirmed"  # kofi's pack removes kofi's settled case only
    kofi = _push(frame, tmp_path, "North", "kofi")
    assert (kofi.created, kofi.deleted, kofi.kept) == (0, 1, 2)
    assert _on_server(central) == {"N-2": "yaw", "N-4": "kofi", "S-1": "ama"}


def test_a_field_account_asking_for_another_area_hears_its_own(flagged: tuple[list[str], dict[str, str]],  # noqa: F811
                                                               tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    where, ids = flagged
    auth.add_account(_store(where), "kofi", "field", "a long password", ["South"])
    with pytest.raises(InputError) as info:
        fieldpack.field_pack(_store(where), Identity("kofi", "field", ("South",)), area="North", assignee=None,
                             folder=tmp_path / "p")
    assert "'North'" in str(info.value) and "kofi" in str(info.value) and "(South)" in str(info.value)
    capsys.readouterr()
    assert _run(where, "--as", "kofi", "fieldpack", "--area", "North", "--out", str(tmp_path / "q")) == 2
    err = capsys.readouterr().err
    assert "its areas (South)" in err and "Traceback" not in err
    assert not (tmp_path / "q").exists() or not any((tmp_path / "q").iterdir())


def test_a_messy_export_is_imported_row_by_row_and_a_second_import_changes_nothing(
        flagged: tuple[list[str], dict[str, str]], tmp_path: Path,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    where, ids = flagged
    store = _store(where)
    auth.add_account(store, "kofi", "field", "a long password", ["North"])
    auth.add_account(store, "yaw", "field", "a long password", ["North"])
    auth.add_account(store, "ana", "analyst", "a long password")
    for site in ("S1", "S2"):
        assert _run(where, "--as", "ana", "cases", "assign", ids[site], "--to", "kofi") == 0
    assert _run(where, "--as", "ana", "fieldpack", "--area", "North", "--out", str(tmp_path / "pack")) == 0
    assert _run(where, "--as", "ana", "cases", "assign", ids["S2"], "--to", "yaw") == 0  # reassigned meanwhile
    notes = "Propriétaire absent — <script>alert('x')</script> 汞"
    photo = fx.jpeg(0.0, 0.0005, datetime(2024, 5, 1, 10, 0, 0), "+00:00")
    export = fx.odk_zip(tmp_path / "hgwatch_inspection.zip", [
        {"key": "uuid:1", "violation_id": ids["S1"], "outcome": "confirmed", "lat": 0.0, "lon": 0.0005, "accuracy": 4.0,
         "visited_at": "2024-05-01T10:00:00Z", "photo": "one.jpg", "notes": notes, "submitter": "kofi"},
        {"key": "uuid:2", "violation_id": ids["S2"], "outcome": "not_accessible", "reason": "bridge <i>down</i>",
         "lat": 0.02, "lon": 0.0006, "visited_at": "2024-05-01T11:00:00Z", "submitter": "kofi"},  # 1.1 km away
        {"key": "uuid:3", "violation_id": ids["S1"], "outcome": "confirmed", "lat": 0.0, "lon": 0.0005,
         "visited_at": "2024-05-01T10:05:00Z", "photo": "absent.jpg", "submitter": "kofi"},  # photo not in the ZIP
        {"key": "uuid:4", "violation_id": ids["S1"], "outcome": "false_positive", "reason": "x", "review": "rejected",
         "submitter": "kofi"},
        {"key": "uuid:5", "violation_id": ids["S3"], "outcome": "confirmed", "submitter": "kofi"}],  # South
        {"one.jpg": photo})
    capsys.readouterr()
    assert _run(where, "--as", "kofi", "submissions", "import", str(export)) == 2
    first = "".join(capsys.readouterr())
    assert _cases(where)["S1"]["status"] == "assigned"  # all or nothing: nothing applied
    assert "row 3, field 'visit-photo'" in first and f"row 5, field 'visit-violation_id': value '{ids['S3']}'" in first
    assert "2 problems; nothing applied" in first  # every problem in one pass, not the photo first, then the area
    assert first.index("row 3,") < first.index("row 5,")
    assert _run(where, "--as", "kofi", "submissions", "import", str(export), "--no-all-or-nothing") == 1
    out, err = capsys.readouterr()
    err += out  # the problems after applying go where the report goes
    assert "applied 2" in out and "far visits 1" in out and "row 2" in out
    assert "row 3, field 'visit-photo': value 'absent.jpg'" in err
    assert "row 4, field 'ReviewState': value 'rejected'" in err
    assert f"row 5, field 'visit-violation_id': value '{ids['S3']}'" in err and "areas of kofi" in err
    after = _cases(where)
    assert (after["S1"]["status"], after["S2"]["status"], after["S3"]["status"]) == ("confirmed", "not_accessible", "new")
    trail = [r for r in audit.trail(_store(where)) if r.action == "case visit"]
    assert len(trail) == 2
    assert _run(where, "--as", "kofi", "submissions", "import", str(export), "--no-all-or-nothing") == 1
    out = capsys.readouterr().out
    assert "applied 0" in out and "duplicates 2" in out
    assert _cases(where) == after and len([r for r in audit.trail(_store(where)) if r.action == "case visit"]) == 2
    html = tmp_path / "s1.html"
    assert _run(where, "--as", "ana", "dossier", ids["S1"], "--out", str(html)) == 0
    text = html.read_text(encoding="utf-8")
    assert "Propriétaire absent" in text and "汞" in text and "<script>alert" not in text
    assert "&lt;script&gt;" in text
    assert [p.name for p in cases.case_file(_store(where), Identity("ana", "analyst"), ids["S1"]).photos] == ["one.jpg"]


def test_when_an_areas_last_case_is_settled_the_phones_forget_it(flagged: tuple[list[str], dict[str, str]],  # noqa: F811
                                                                  tmp_path: Path, central: FakeCentral,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    where, ids = flagged
    monkeypatch.setenv(odk.CONFIG_ENV, str(_config(tmp_path)))
    for area in ("North", "South"):
        assert _run(where, "fieldpack", "--area", area, "--out", str(tmp_path / area), "--odk-central") == 0
    assert sorted(_on_server(central)) == sorted(ids.values())
    for site in ("S1", "S2"):
        assert _run(where, "cases", "set", ids[site], "--status", "false_positive", "--reason", "an old dry pit") == 0
    capsys.readouterr()
    assert _run(where, "fieldpack", "--area", "North", "--out", str(tmp_path / "again"), "--odk-central") == 0
    out = capsys.readouterr().out
    assert "no open case" in out and "2 settled cases removed, 1 of other areas or assignees kept" in out
    assert sorted(_on_server(central)) == [ids["S3"]]
    assert not (tmp_path / "again").exists() or not any((tmp_path / "again").iterdir())
    pushed = [r for r in audit.trail(_store(where)) if (r.action, r.target) == ("export", "odk-central")]
    assert len(pushed) == 3
    assert {k: json.loads(pushed[-1].after)[k] for k in ("deleted", "kept", "form_sent")} == {
        "deleted": 2, "kept": 1, "form_sent": False}
    assert _run(where, "fieldpack", "--area", "North", "--out", str(tmp_path / "offline")) == 2  # no server: refused


def test_a_photo_cut_short_on_upload_is_listed_and_the_case_panel_still_draws(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A JPEG cut in half (the phone lost its connection mid-upload) and a file that is no image reach the
    store from the ZIP's media; the workbench's case panel lists them and goes on drawing the timeline."""
    import shutil

    from streamlit.testing.v1 import AppTest

    from layers.store.workspace import DEFAULT_PATH
    from services import casework
    from ui import login

    if not DEFAULT_PATH.exists():
        pytest.skip("demo workspace missing (make install builds it)")
    ws = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    where = ["--workspace", str(ws)]
    assert _run(where, "check") == 0
    vid = str(cases.list_cases(_store(where), auth.LOCAL)["violation_id"].iloc[0])
    whole = fx.jpeg(6.5, -2.0, datetime(2026, 11, 20, 10, 0, 0), "+00:00")
    export = fx.odk_zip(tmp_path / "hgwatch_inspection.zip", [
        {"key": "uuid:cut", "violation_id": vid, "outcome": "confirmed", "visited_at": "2026-11-20T10:00:00Z",
         "photo": "cut.jpg", "notes": "photo sent on a bad line", "submitter": "kofi"}],
        {"cut.jpg": whole[: len(whole) // 2]})
    assert _run(where, "submissions", "import", str(export)) == 0
    # a file that is no photo is refused on the way in since H2F (session 11) ...
    assert _run(where, "cases", "set", vid, "--status", "remediation_ordered", "--photo", str(export)) == 2
    # ... but one stored before that check is still listed, not drawn
    import hashlib

    from layers.store import cases as stored_cases
    with stored_cases.writing(_store(where)) as tables:
        data = export.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        tables.add_photo(stored_cases.Photo(vid, export.name, digest, data, None, None, None,
                                            "2026-11-20T10:00:00+00:00", "kofi"))
        audit.record_in(tables.con, "case photo", vid, after={"name": export.name, "sha256": digest})
    assert _run(where, "cases", "set", vid, "--status", "remediation_ordered") == 0
    stored = {p.name: p.data for p in cases.photo_bytes(_store(where), auth.LOCAL, vid)}
    assert sorted(stored) == ["cut.jpg", "hgwatch_inspection.zip"]
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(ws))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=180)
    at.session_state[login._KEY] = auth.LOCAL
    at.run()
    at.switch_page("ui/pages/violations.py")
    at.session_state["wb_case"] = vid
    at.run()
    assert not at.exception, at.exception
    captions = [c.value.replace("\\", "") for c in at.caption]  # chrome.plain escapes markdown
    assert any(c.startswith("cut.jpg, SHA-256") and c.endswith("not a readable image, not shown") for c in captions)
    assert any(c.startswith("hgwatch_inspection.zip, SHA-256") for c in captions)
    assert any("rule run - opened this case" in t.value for t in at.text)  # the oldest entry: drawn after the photos
    assert not casework.viewable(stored["cut.jpg"]) and casework.viewable(whole)


def test_a_pack_killed_halfway_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    """SIGKILL (no clean-up runs) while the GeoPackage is being written: the folder the coordinator copies
    to the phones holds the previous pack's four files and nothing else, byte for byte."""
    import signal
    import subprocess
    import sys

    folder = tmp_path / "pack"
    frame = _frame([("N-1", "North", "assigned", "kofi")])
    fieldpack.write_pack(frame, folder, area="North", now=datetime(2026, 11, 1, tzinfo=UTC))
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    script = (
        "import os, signal, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import pandas as pd\n"
        "from services import fieldpack\n"
        "from tests.test_field_roundtrip import _frame\n"
        "fieldpack._write_gpkg = lambda rows, path: os.kill(os.getpid(), signal.SIGKILL)\n"
        "fieldpack.write_pack(_frame([('N-2', 'North', 'new', None)]), fieldpack.Path(sys.argv[2]), area='North')\n")
    done = subprocess.run([sys.executable, "-c", script, str(Path(__file__).resolve().parent.parent), str(folder)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert sorted(p.name for p in folder.iterdir()) == sorted(before)  # no half-made staging folder inside
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def _state(ws: Path) -> tuple[object, ...]:
    store = _store(["--workspace", str(ws)])
    listed = cases.list_cases(store, Identity("ana", "analyst"))
    return (tuple(sorted(zip(listed["violation_id"], listed["status"], listed["visits"]))),
            len(audit.trail(store)))


@pytest.fixture(scope="module")
def three_cases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A GeoPackage whose recorded check opened the three cases of ``tests.test_fieldpack_roundtrip``."""
    import json as js

    from tests.test_fieldpack_roundtrip import SITES
    folder = tmp_path_factory.mktemp("three")
    where = ["--workspace", str(folder / "ws.gpkg")]
    sites = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": {"site_id": sid, "name": name, "status": "active", "uses_mercury": True, "admin_area": area}}
        for sid, name, lon, lat, area in SITES]}
    water = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
        "water_id": "W1", "name": "River", "kind": "river"},
        "geometry": {"type": "LineString", "coordinates": [[0, -0.02], [0, 0.02]]}}]}
    (folder / "sites.geojson").write_text(js.dumps(sites))
    (folder / "water.geojson").write_text(js.dumps(water))
    for name, layer in (("sites.geojson", "mining_sites"), ("water.geojson", "water_bodies")):
        assert _run(where, "import", str(folder / name), "--layer", layer) == 0
    assert _run(where, "check") == 0
    return folder / "ws.gpkg", sorted(cases.list_cases(_store(where), Identity("ana", "analyst"))["violation_id"])


_submission = st.fixed_dictionaries({
    "key": st.sampled_from(["uuid:1", "uuid:2", "uuid:3", "uuid:4", ""]),
    "case": st.integers(min_value=0, max_value=3),  # 3: an id no case has
    "outcome": st.sampled_from(["confirmed", "false_positive", "not_accessible", "remediated", "gone"]),
    "reason": st.one_of(st.just("an old dry pit"), st.just("<script>x</script> é 汞"), st.none(), st.text(max_size=9)),
    "position": st.one_of(st.none(), st.tuples(st.floats(min_value=-95, max_value=95, allow_nan=False),
                                               st.floats(min_value=-0.01, max_value=0.01, allow_nan=False))),
    "visited_at": st.sampled_from(["2024-05-01T10:00:00Z", "2024-05-01T11:00:00+02:00", "", "yesterday"]),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_submission, min_size=1, max_size=5), all_or_nothing=st.booleans())
def test_any_export_applies_all_or_nothing_and_a_second_import_changes_nothing(
        three_cases: tuple[Path, list[str]], tmp_path_factory: pytest.TempPathFactory,
        capsys: pytest.CaptureFixture[str], rows: list[dict[str, object]], all_or_nothing: bool) -> None:
    """Whatever the rows: exit 0, 1 or 2; exit 2 changes nothing; all or nothing names in one pass every
    row that ``--no-all-or-nothing`` refuses; a second import changes and records nothing."""
    import re
    import shutil

    def refused() -> set[int]:
        text = "".join(capsys.readouterr())
        return {int(m) for m in re.findall(r"^  error: export\.csv, row (\d+),", text, flags=re.M)}

    base, ids = three_cases
    folder = tmp_path_factory.mktemp("h")
    ws = folder / "ws.gpkg"
    shutil.copyfile(base, ws)
    where = ["--workspace", str(ws)]
    export = fx.odk_csv(folder / "export.csv", [
        {**r, "violation_id": (ids + ["HG-WATER-100/ffffffffffffffff"])[int(str(r["case"]))], "submitter": "kofi",
         "lat": r["position"][0] if r["position"] else None, "lon": r["position"][1] if r["position"] else None}
        for r in rows])
    flags = [] if all_or_nothing else ["--no-all-or-nothing"]
    before = _state(ws)
    capsys.readouterr()
    code = _run(where, "submissions", "import", str(export), *flags)
    assert code in (0, 1, 2)
    after = _state(ws)
    if code == 2:
        assert after == before  # nothing applied, not even the audit trail
        named = refused()
        shutil.copyfile(base, folder / "other.gpkg")
        assert _run(["--workspace", str(folder / "other.gpkg")], "submissions", "import", str(export),
                    "--no-all-or-nothing") == 1
        assert named == refused()
    visits = sum(v for _, _, v in after[0]) - sum(v for _, _, v in before[0])
    assert visits <= len({str(r["key"]) for r in rows if r["key"]})  # one visit per distinct key at most
    assert _run(where, "submissions", "import", str(export), *flags) in (0, 1, 2)
    assert _state(ws) == after  # a second import applies nothing new, and records nothing
