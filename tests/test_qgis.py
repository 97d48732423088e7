"""HgWatch's stores opened and edited in QGIS itself (headless QGIS from Debian's ``python3-qgis``,
run by ``tests/qgis_driver.py`` in Debian's own Python), on a workspace and a PostGIS database the
project's own code wrote (``tests.api_kit.planted``: S1 uses mercury 55 m from the river).

What was found with QGIS 3.22.16 (and is checked here): QGIS opens every layer with its fields and
EPSG:4326 (a PostGIS table of points and polygons as one layer per geometry type, as its browser
lists it). While a layer of a GeoPackage is in an edit session QGIS switches the file to WAL
(header bytes 18-19 = 2, ``-wal`` and ``-shm`` beside it); saving puts it back in rollback mode,
but a save made while ANOTHER layer of the file is still being edited (or by a second QGIS) stays
in the ``-wal`` until that session ends. The dashboard and the partner API serve such edits without
a restart, the change stamp moves for them, and HgWatch's own imports and rule runs keep them. A
QGIS save while HgWatch reads or writes the file fails with "database is locked", changes nothing
and keeps its edits, which a second save puts in. On PostGIS an
edit saved in QGIS is served and audited as ``db:<user>``; a partner login opening its layers in
QGIS gets the partner views only, no restricted column and no planted secret.

Edits saved before a QGIS died in an edit session are read and kept, and HgWatch's next write
puts the workspace it left in WAL back in rollback mode; an import of a GeoPackage whose saved
edits are still in its ``-wal`` stores them. A replacing import (the
same sites re-imported in another order) keeps each site's fid, so an edit QGIS saves afterwards
lands on the site it showed (GeoPackage), and is not dropped while QGIS reports success (PostGIS).

Skipped, with the reason, only when ``/usr/bin/python3`` cannot import ``qgis.core``
(``make test-deps`` installs it)."""
from __future__ import annotations

import contextlib
import json
import os
import select
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import psycopg
import pytest
import shapely

from layers.store import gpkg
from layers.store.open import open_store
from layers.store.postgis import PostgisStore
from layers.store.workspace import Workspace
from services import audit, auth
from services.auth import Identity
from services.features import FeatureSource
from services.hgwatch import HgWatch, Query
from settings import Settings
from tests.api_kit import SECRET, fill, planted, run_cli
from tests.conftest import ROOT

QGIS_PYTHON = "/usr/bin/python3"  # Debian's Python, where python3-qgis puts qgis.core
DRIVER = ROOT / "tests" / "qgis_driver.py"
WATER_RULE = Query(rule_ids=("HG-WATER-100",))
PARTNER = Identity("unep", "partner")
FAR = "POINT (-1.95 5.35)"  # S1 moved 5.5 km north of the river: no longer within its 100 m
ID_FIELDS = {"mining_sites": "site_id", "water_bodies": "water_id", "tailings": "tailings_id", "samples": "sample_id"}


def _env() -> dict[str, str]:
    """The environment for Debian's Python: none of the venv's, Qt without a display."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return {**env, "QT_QPA_PLATFORM": "offscreen"}


def _missing() -> str | None:
    try:
        done = subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True, text=True, env=_env(),
                              timeout=120, check=False)
    except OSError as exc:
        return f"{QGIS_PYTHON} cannot run: {exc}"
    if done.returncode != 0:
        return (f"{QGIS_PYTHON} cannot import qgis.core (install Debian's python3-qgis and qgis-providers;"
                f" `make test-deps` does): {done.stderr.strip().splitlines()[-1:]}")
    return None


REASON = _missing()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")


def qgis(job: dict[str, Any]) -> list[dict[str, Any]]:
    """Run one job in QGIS (see ``tests/qgis_driver.py``); its answer per layer."""
    done = subprocess.run([QGIS_PYTHON, str(DRIVER)], input=json.dumps(job), capture_output=True, text=True,
                          env=_env(), timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.strip().splitlines()[-1])["layers"])


class Session:
    """QGIS kept open on a job with ``"hold": true``: its first answer (``layers``), then (``save``)
    the results of the layers still being edited or left for later, and its exit."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.proc = subprocess.Popen([QGIS_PYTHON, str(DRIVER), json.dumps({**job, "hold": True})],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=_env())
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 300)  # a guard against a hang, not a speed test
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.proc.kill()
            raise AssertionError(f"QGIS gave no answer: {self.proc.communicate(timeout=60)[1]}")
        self.layers: list[dict[str, Any]] = json.loads(line)["layers"]

    def save(self) -> list[dict[str, Any]]:
        out, err = self.proc.communicate("save\n", timeout=300)
        assert self.proc.returncode == 0, err
        return list(json.loads(out.strip().splitlines()[-1])["later"])


@contextlib.contextmanager
def session_of(held: Session) -> Iterator[Session]:
    """``held``, killed on the way out if it is still running (a failed test)."""
    try:
        yield held
    finally:
        if held.proc.poll() is None:
            held.proc.kill()
            held.proc.wait()


def session(job: dict[str, Any]) -> contextlib.AbstractContextManager[Session]:
    return session_of(Session(job))


def gpkg_layer(path: Path, layer: str, **more: Any) -> dict[str, Any]:
    return {"ogr": f"{path}|layername={layer}", "id_field": ID_FIELDS[layer], **more}


def s1_edits(name: str) -> list[dict[str, Any]]:
    """What a GIS officer does to S1: renames it in the attribute table, moves it with the vertex tool."""
    return [{"op": "set", "id": "S1", "field": "name", "value": name}, {"op": "move", "id": "S1", "wkt": FAR}]


def saved(answer: dict[str, Any]) -> None:
    assert answer["commit"] is True, answer["errors"]


def journal(path: Path) -> tuple[int, bool, bool]:
    """The file's journal as its header says (1: rollback, 2: WAL) and whether -wal, -shm exist."""
    with open(path, "rb") as fh:
        head = fh.read(20)
    return head[18], path.with_name(path.name + "-wal").exists(), path.with_name(path.name + "-shm").exists()


def s1(frame: gpd.GeoDataFrame) -> Any:
    return frame.set_index("site_id").loc["S1"]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    made = Workspace(tmp_path / "ws.gpkg")
    fill(made)
    return made


# ---------------------------------------------------------------- a GeoPackage workspace
def test_qgis_opens_every_layer_of_the_workspace(ws: Workspace) -> None:
    layers = planted()
    answers = qgis({"layers": [gpkg_layer(ws.path, name, wkt=[str(layers[name][ID_FIELDS[name]].iloc[0])])
                               for name in layers]})
    for (name, frame), answer in zip(layers.items(), answers):
        assert answer["valid"], answer
        assert answer["count"] == len(frame)
        assert answer["crs"] == "EPSG:4326"
        assert answer["fields"][0] == "fid"
        assert sorted(answer["fields"][1:]) == sorted(c for c in frame.columns if c != "geometry")
        (first, wkt), = answer["wkt"].items()
        assert shapely.from_wkt(wkt).equals_exact(frame.geometry.iloc[0], 1e-12), (name, wkt)
    sites = {row[1]: row for row in answers[0]["values"]}
    assert sites["S1"][answers[0]["fields"].index("name")] == "Alpha"
    assert sites["S3/odd id"][answers[0]["fields"].index("name")] == "${HOME} Gamma"


def test_an_edit_saved_in_qgis_is_served_by_the_dashboard_and_the_partner_api(ws: Workspace) -> None:
    svc = HgWatch(Settings.from_env({}, workspace=ws.path))
    source = FeatureSource(Settings.from_env({}, workspace=ws.path), recheck_s=0.0)
    assert list(svc.violations(WATER_RULE)[0]["site_id"]) == ["S1"]
    assert s1(source.collections(PARTNER)["mining_sites"].frame)["name"] == "Alpha"
    before = ws.change_stamp()
    (answer,) = qgis({"layers": [gpkg_layer(ws.path, "mining_sites", edits=s1_edits("Alpha (verified)"))]})
    saved(answer)
    assert ws.change_stamp() != before
    assert journal(ws.path) == (1, False, False)  # QGIS put the file back in rollback mode when it saved
    assert svc.violations(WATER_RULE)[0].empty  # the same service, not restarted
    site = s1(svc.frames()["mining_sites"])
    assert site["name"] == "Alpha (verified)" and site.geometry.equals(shapely.from_wkt(FAR))
    served = s1(source.collections(PARTNER)["mining_sites"].frame)
    assert served["name"] == "Alpha (verified)" and served.geometry.equals(shapely.from_wkt(FAR))


def test_qgis_adds_and_deletes_a_site_and_both_faces_follow(ws: Workspace) -> None:
    svc = HgWatch(Settings.from_env({}, workspace=ws.path))
    source = FeatureSource(Settings.from_env({}, workspace=ws.path), recheck_s=0.0)
    assert sorted(svc.frames()["mining_sites"]["site_id"]) == ["S1", "S2", "S3/odd id"]
    add = {"op": "add", "values": {"site_id": "S4", "name": "Delta", "status": "active", "uses_mercury": True},
           "wkt": "POINT (-1.91 5.3004)"}  # 44 m north of the river
    (answer,) = qgis({"layers": [gpkg_layer(ws.path, "mining_sites", edits=[add, {"op": "delete", "id": "S1"}])]})
    saved(answer)
    assert sorted(svc.frames()["mining_sites"]["site_id"]) == ["S2", "S3/odd id", "S4"]
    assert list(svc.violations(WATER_RULE)[0]["site_id"]) == ["S4"]
    assert sorted(source.collections(PARTNER)["mining_sites"].frame["site_id"]) == ["S2", "S3/odd id", "S4"]


TAILINGS_EDIT = [{"op": "set", "id": "T1", "field": "hg_mg_per_kg", "value": 7.5}]


def editing_tailings(path: Path) -> dict[str, Any]:
    """A QGIS job that keeps the tailings of ``path`` in an edit session (saved "later"): the file stays in WAL."""
    return {"layers": [gpkg_layer(path, "tailings", commit="later", edits=TAILINGS_EDIT)]}


def save_s1(path: Path) -> None:
    """A second QGIS (another GIS officer) saves S1's edits; with the file held in WAL they go to its -wal."""
    (answer,) = qgis({"layers": [gpkg_layer(path, "mining_sites", edits=s1_edits("Alpha (verified)"))]})
    saved(answer)


def test_qgis_holds_the_geopackage_in_wal_only_while_a_layer_is_being_edited(ws: Workspace) -> None:
    """Found with QGIS 3.22: an open edit session switches the file to WAL; saving switches it back."""
    assert journal(ws.path) == (1, False, False)
    with session(editing_tailings(ws.path)) as qgis_open:
        assert journal(ws.path) == (2, True, True)
        (later,) = qgis_open.save()
    saved(later)
    assert journal(ws.path) == (1, False, False)
    assert ws.read("tailings").set_index("tailings_id").loc["T1", "hg_mg_per_kg"] == 7.5


def _main_file_only(path: Path) -> str:
    """S1's name as the workspace file alone holds it (SQLite told to ignore the -wal)."""
    with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True)) as con:
        return str(con.execute("SELECT name FROM mining_sites WHERE site_id = 'S1'").fetchone()[0])


def test_an_edit_saved_into_the_wal_is_served_and_kept_by_hgwatch_writes(ws: Workspace, tmp_path: Path) -> None:
    svc = HgWatch(Settings.from_env({}, workspace=ws.path))
    source = FeatureSource(Settings.from_env({}, workspace=ws.path), recheck_s=0.0)
    assert not svc.violations(WATER_RULE)[0].empty and len(source.collections(PARTNER)["mining_sites"].frame) == 3
    before = ws.change_stamp()
    samples = planted()["samples"].assign(hg=[9.0, 2.0])
    samples.drop(columns=[c for c in samples.columns if SECRET in str(samples[c].iloc[0])]).to_file(
        tmp_path / "samples.geojson")
    with session(editing_tailings(ws.path)) as qgis_open:
        in_wal = ws.change_stamp()  # WAL: the stamp falls back to the sizes and times of the file and its -wal
        assert in_wal != before and ws.change_stamp() == in_wal
        assert not svc.violations(WATER_RULE)[0].empty  # made again, and kept while in WAL
        save_s1(ws.path)
        assert journal(ws.path) == (2, True, True)
        assert _main_file_only(ws.path) == "Alpha"  # the saved edit is in the -wal only
        moved = ws.change_stamp()
        assert moved != in_wal
        assert svc.violations(WATER_RULE)[0].empty
        assert s1(svc.frames()["mining_sites"])["name"] == "Alpha (verified)"
        assert s1(source.collections(PARTNER)["mining_sites"].frame)["name"] == "Alpha (verified)"
        # HgWatch writes meanwhile: an import and a rule run, through the command line
        code, _, err = run_cli(str(ws.path), "import", str(tmp_path / "samples.geojson"), "--layer", "samples")
        assert code == 0, err
        code, _, err = run_cli(str(ws.path), "check")
        assert code == 0, err
        assert ws.change_stamp() != moved
        assert s1(svc.frames()["mining_sites"])["name"] == "Alpha (verified)"
        assert sorted(svc.frames()["samples"]["hg"]) == [2.0, 9.0]
        (later,) = qgis_open.save()
    saved(later)
    assert journal(ws.path) == (1, False, False)
    assert _main_file_only(ws.path) == "Alpha (verified)"  # everything is in the file itself now
    fresh = open_store(ws.path)
    assert s1(fresh.read("mining_sites"))["name"] == "Alpha (verified)"
    assert fresh.read("tailings").set_index("tailings_id").loc["T1", "hg_mg_per_kg"] == 7.5
    assert sorted(fresh.read("samples")["hg"]) == [2.0, 9.0]
    assert [r.action for r in audit.trail(fresh)][-2:] == ["import", "rule run"]


def test_a_geopackage_edited_in_qgis_is_imported_with_its_saved_edits(ws: Workspace, tmp_path: Path) -> None:
    """A GIS officer prepares sites.gpkg in QGIS and saves the sites while still editing its
    tailings; HgWatch then imports the file. The saved edits are in sites.gpkg-wal."""
    layers = planted()
    upload = tmp_path / "sites.gpkg"
    for name in ("mining_sites", "tailings"):
        frame = layers[name]
        frame.drop(columns=[c for c in frame.columns if SECRET in str(frame[c].iloc[0])]).to_file(
            upload, layer=name, driver="GPKG")
    with session(editing_tailings(upload)) as qgis_open:
        save_s1(upload)
        assert journal(upload)[0] == 2 and _main_file_only(upload) == "Alpha"
        code, _, err = run_cli(str(ws.path), "import", str(upload), "--layer", "mining_sites")
        assert code == 0, err
        imported = s1(ws.read("mining_sites"))
        qgis_open.save()
    assert imported["name"] == "Alpha (verified)"
    assert imported.geometry.equals(shapely.from_wkt(FAR))


def _left_in_wal(ws: Workspace) -> None:
    """QGIS dies (a crash, a power cut) while editing the tailings, after S1's edits were saved by
    another QGIS: the file is left in WAL, the saved edits in its -wal."""
    with session(editing_tailings(ws.path)) as qgis_open:
        save_s1(ws.path)
        qgis_open.proc.kill()
        qgis_open.proc.wait()
    assert journal(ws.path) == (2, True, True) and _main_file_only(ws.path) == "Alpha"


def test_edits_saved_before_qgis_died_are_read_and_kept(ws: Workspace) -> None:
    _left_in_wal(ws)
    svc = HgWatch(Settings.from_env({}, workspace=ws.path))
    assert s1(svc.frames()["mining_sites"])["name"] == "Alpha (verified)"
    code, _, err = run_cli(str(ws.path), "check")
    assert code == 0, err
    assert _main_file_only(ws.path) == "Alpha (verified)"  # in the file itself now
    assert ws.read("tailings").set_index("tailings_id").loc["T1", "hg_mg_per_kg"] == 3.5  # never saved


def test_a_workspace_qgis_left_in_wal_is_back_in_rollback_mode_after_hgwatch_writes(ws: Workspace) -> None:
    _left_in_wal(ws)
    code, _, err = run_cli(str(ws.path), "check")
    assert code == 0, err
    stamp = ws.change_stamp()
    auth.add_account(ws, "bob", "analyst", "a long enough password")  # bookkeeping
    assert ws.change_stamp() == stamp  # fails on 50160a4: the stamp moved
    assert journal(ws.path) == (1, False, False)


@contextlib.contextmanager
def _hgwatch_writes(ws: Workspace) -> Iterator[None]:
    """HgWatch's write transaction (an import's) is open on the workspace."""
    with ws.writing() as con:
        con.execute("UPDATE hgw_layers SET licence = 'CC0-1.0' WHERE layer = 'water_bodies'")
        yield


@contextlib.contextmanager
def _hgwatch_reads(ws: Workspace) -> Iterator[None]:
    """A read of HgWatch's is under way (the API reading a national layer): its read transaction is open."""
    with contextlib.closing(gpkg.read_only(ws.path)) as con:
        con.execute("BEGIN")
        con.execute("SELECT count(*) FROM mining_sites").fetchone()
        yield
        con.execute("COMMIT")


@pytest.mark.parametrize("holding", [_hgwatch_writes, _hgwatch_reads], ids=["write", "read"])
def test_a_qgis_save_while_hgwatch_holds_the_file_fails_loudly_and_succeeds_when_saved_again(
        ws: Workspace, holding: Any) -> None:
    """In rollback mode a reader or a writer holds the file: QGIS's save reports the lock, changes
    nothing and keeps its edits; saved again afterwards, they land, HgWatch's own write too."""
    with holding(ws):
        held = Session({"layers": [gpkg_layer(ws.path, "mining_sites", edits=s1_edits("Alpha (verified)"))]})
    with session_of(held):
        (answer,) = held.layers
        assert answer["commit"] is False and "database is locked" in " ".join(answer["errors"])
        assert s1(ws.read("mining_sites"))["name"] == "Alpha"
        (again,) = held.save()
    saved(again)
    assert s1(ws.read("mining_sites"))["name"] == "Alpha (verified)"
    assert ws.info("water_bodies").licence == ("CC0-1.0" if holding is _hgwatch_writes else "CC-BY-4.0")
    assert journal(ws.path) == (1, False, False)


def _reordered_sites(folder: Path) -> Path:
    """The same three sites in another order (a new export from the field): the file an analyst re-imports."""
    sites = planted()["mining_sites"].iloc[[1, 0, 2]]
    path = folder / "sites.geojson"
    sites.drop(columns=[c for c in sites.columns if SECRET in str(sites[c].iloc[0])]).to_file(path)
    return path


def _edit_after_a_replacing_import(location: str, layer: dict[str, Any], folder: Path) -> gpd.GeoDataFrame:
    """QGIS has the sites open; HgWatch re-imports them; the GIS officer then renames S1 and saves."""
    edit = [{"op": "set", "id": "S1", "field": "name", "value": "Alpha (verified)"}]
    with session({"layers": [{**layer, "commit": "edit later", "edits": edit}]}) as qgis_open:
        code, _, err = run_cli(location, "import", str(_reordered_sites(folder)), "--layer", "mining_sites")
        assert code == 0, err
        (done,) = qgis_open.save()
    saved(done)
    return open_store(location).read("mining_sites").set_index("site_id")


def test_a_qgis_edit_after_a_replacing_import_reaches_its_site_on_a_geopackage(ws: Workspace, tmp_path: Path) -> None:
    names = _edit_after_a_replacing_import(str(ws.path), gpkg_layer(ws.path, "mining_sites"), tmp_path)
    assert names.loc["S2", "name"] == "Beta <b>"  # fails on 60fb9a4: "Alpha (verified)", S2 renamed
    assert names.loc["S1", "name"] == "Alpha (verified)"


# ---------------------------------------------------------------- PostGIS
def _conninfo(url: str, user: str | None = None) -> str:
    """libpq's key=value form of the test server's ``postgresql://`` URL, as QGIS's connection dialog makes it."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return (f"dbname='{parts.path.lstrip('/')}' host={query['host'][0]} port={query['port'][0]}"
            f" user='{user or parts.username}'")


def pg_layer(url: str, table: str, *, schema: str = "public", user: str | None = None, kind: str = "Point",
             **more: Any) -> dict[str, Any]:
    """A PostGIS layer as QGIS's browser lists it: a table of mixed geometries is one layer per ``kind``."""
    return {"postgres": f"{_conninfo(url, user)} key='fid' srid=4326 type={kind} checkPrimaryKeyUnicity='0'"
                        f' table="{schema}"."{table}" (geom)', "id_field": ID_FIELDS[table], **more}


@contextlib.contextmanager
def login(url: str, grants: list[str]) -> Iterator[str]:
    """A login role (a person's QGIS account; roles are cluster-wide, so one per test) given ``grants``."""
    name = f"qgis_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"CREATE ROLE {name} LOGIN")
        for grant in grants:
            con.execute(grant.format(role=name))
    try:
        yield name
    finally:
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(f"DROP OWNED BY {name}")
            con.execute(f"DROP ROLE {name}")


@pytest.fixture
def pg(pg_url: str) -> PostgisStore:
    store = open_store(pg_url)
    assert isinstance(store, PostgisStore)
    fill(store)
    return store


def test_qgis_opens_the_postgis_sites(pg: PostgisStore) -> None:
    sites = planted()["mining_sites"]
    points, polygons = qgis({"layers": [pg_layer(pg.url, "mining_sites", wkt=["S1"]),
                                        pg_layer(pg.url, "mining_sites", kind="Polygon", wkt=["S3/odd id"])]})
    for answer, count in ((points, 2), (polygons, 1)):
        assert answer["valid"], answer
        assert answer["count"] == count and answer["crs"] == "EPSG:4326"
        assert {"fid", "site_id", "name", "informant_name"} <= set(answer["fields"])  # the owner sees every column
    assert shapely.from_wkt(points["wkt"]["S1"]).equals_exact(sites.geometry.iloc[0], 1e-12)
    assert shapely.from_wkt(polygons["wkt"]["S3/odd id"]).equals_exact(sites.geometry.iloc[2], 1e-12)


def test_an_edit_saved_in_qgis_on_postgis_is_served_and_audited(pg: PostgisStore) -> None:
    svc = HgWatch(Settings.from_env({}, database_url=pg.url))
    source = FeatureSource(Settings.from_env({}, database_url=pg.url), recheck_s=0.0)
    assert list(svc.violations(WATER_RULE)[0]["site_id"]) == ["S1"]
    assert s1(source.collections(PARTNER)["mining_sites"].frame)["name"] == "Alpha"
    before, trail = pg.change_stamp(), len(audit.trail(pg))
    grants = ["GRANT SELECT, UPDATE ON mining_sites TO {role}"]  # a GIS officer's account, not the owner
    with login(pg.url, grants) as officer:
        (answer,) = qgis({"layers": [pg_layer(pg.url, "mining_sites", user=officer,
                                              edits=s1_edits("Alpha (verified)"))]})
        saved(answer)
    assert pg.change_stamp() != before
    assert svc.violations(WATER_RULE)[0].empty
    assert s1(svc.frames()["mining_sites"])["name"] == "Alpha (verified)"
    served = s1(source.collections(PARTNER)["mining_sites"].frame)
    assert served["name"] == "Alpha (verified)" and served.geometry.equals(shapely.from_wkt(FAR))
    rows = audit.trail(pg)[trail:]
    assert rows and {(r.who, r.action, r.target) for r in rows} == {(f"db:{officer}", "sql update", "mining_sites")}
    first, last = json.loads(rows[0].before)[0], json.loads(rows[-1].after)[0]  # the rows a statement changed
    assert (first["site_id"], first["name"], first["geom"]["coordinates"]) == ("S1", "Alpha", [-1.95, 5.3005])
    assert (last["site_id"], last["name"], last["geom"]["coordinates"]) == ("S1", "Alpha (verified)", [-1.95, 5.35])
    assert audit.verify(pg).ok


PARTNER_LAYERS = (("mining_sites", "Point", 2), ("mining_sites", "Polygon", 1), ("water_bodies", "LineString", 1),
                  ("tailings", "Point", 1), ("samples", "Point", 2))
RESTRICTED = {"informant_name", "informant_contact", "inspector_name", "collector_name", "participant_id", "local_code",
              "owner_name", "Enumerator Phone", "interview/informant_name"}


def test_a_partner_login_in_qgis_sees_no_restricted_column_and_no_secret(pg: PostgisStore) -> None:
    with login(pg.url, ["GRANT hgw_partner TO {role}"]) as partner:
        views = qgis({"layers": [pg_layer(pg.url, name, schema="partner", user=partner, kind=kind)
                                 for name, kind, _ in PARTNER_LAYERS]})
        tables = qgis({"layers": [pg_layer(pg.url, name, user=partner, kind=kind) for name, kind, _ in PARTNER_LAYERS]})
    for (name, _, count), answer in zip(PARTNER_LAYERS, views):
        assert answer["valid"], answer
        assert answer["count"] == count == len(answer["values"])
        assert not RESTRICTED & set(answer["fields"]), (name, answer["fields"])
        assert SECRET not in json.dumps(answer), name  # every value QGIS got, the JSON column "extra" included
    for (name, _, _), answer in zip(PARTNER_LAYERS, tables):  # the tables themselves: QGIS gets nothing
        assert answer["valid"] is False and f"permission denied for table {name}" in " ".join(answer["log"])
        assert SECRET not in json.dumps(answer)


def test_a_qgis_edit_after_a_replacing_import_reaches_its_site_on_postgis(pg: PostgisStore, tmp_path: Path) -> None:
    names = _edit_after_a_replacing_import(pg.url, pg_layer(pg.url, "mining_sites"), tmp_path)
    assert names.loc["S2", "name"] == "Beta <b>"
    assert names.loc["S1", "name"] == "Alpha (verified)"  # fails on 60fb9a4: still "Alpha", the edit dropped
