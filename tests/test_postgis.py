"""The PostGIS back end on a real server (tests/postgis.py): `db upgrade` creates the schema and
moves the demo workspace in, `check` then gives the same violations as on the GeoPackage, the
schema matches the catalogue, and the ways a database can be wrong are told plainly."""
from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

import cli
from geo.errors import WorkspaceError
from layers.catalogue import CATALOGUE
from layers.store.pgschema import head_revision, schema_revision
from layers.store.postgis import PostgisStore
from layers.store.workspace import Workspace
from services import checks
from services.hgwatch import HgWatch
from settings import DATABASE_ENV, Settings
from tests.conftest import ROOT

DEMO = ROOT / "data" / "demo_workspace.gpkg"
SQL_TYPES = {"str": "text", "int": "bigint", "float": "double precision", "bool": "boolean", "date": "date"}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_db_upgrade_moves_the_demo_in_and_check_gives_identical_violations(
        pg_bare_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo = tmp_path / "demo.gpkg"
    shutil.copyfile(DEMO, demo)  # check records its run in the workspace: never in the shipped file
    assert schema_revision(pg_bare_url) is None
    code, out, err = _run(capsys, "--database-url", pg_bare_url, "db", "upgrade", "--from-workspace", str(demo))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"created the HgWatch schema (revision {head_revision()}) in {PostgisStore(pg_bare_url).path}"
    layers = Workspace(demo).layers()
    assert lines[-1] == f"copied {len(layers)} layers and 0 recorded runs from {demo}"
    assert PostgisStore(pg_bare_url).layers() == layers  # provenance, import times and row counts

    outputs = {}
    for name, where in (("gpkg", ["--workspace", str(demo)]), ("postgis", ["--database-url", pg_bare_url])):
        code, out, err = _run(capsys, *where, "check", "--out", str(tmp_path / f"{name}.geojson"))
        assert (code, err) == (0, ""), err
        outputs[name] = gpd.read_file(tmp_path / f"{name}.geojson")
        code, listing, _ = _run(capsys, *where, "layers")
        outputs[name + " layers"] = listing.splitlines()[1:]  # the first line names the store
    gpkg, pg = outputs["gpkg"], outputs["postgis"]
    assert len(gpkg) > 100  # the demo has violations of every rule
    assert list(pg["violation_id"]) == list(gpkg["violation_id"])
    assert pg["distance_m"].equals(gpkg["distance_m"]) and pg["distance_m"].notna().sum() > 50
    assert pg.drop(columns="geometry").equals(gpkg.drop(columns="geometry"))
    assert pg.geometry.to_wkb().equals(gpkg.geometry.to_wkb())
    assert outputs["postgis layers"] == outputs["gpkg layers"]

    unrounded = [checks.check(Settings.from_env({}, workspace=demo, database_url=url), record=False)
                 .evaluation.violations for url in (None, pg_bare_url)]
    assert_geodataframe_equal(unrounded[1], unrounded[0], check_dtype=True)  # distances to the last bit

    code, out, _ = _run(capsys, "--database-url", pg_bare_url, "check")
    code, out, _ = _run(capsys, "--database-url", pg_bare_url, "diff", "--counts")
    assert code == 0 and out.splitlines()[0].startswith("run 1 (") and f"0 new, 0 resolved, {len(pg)} persisting" in out


def test_db_upgrade_again_changes_nothing_and_never_copies_over_data(
        pg_bare_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "--database-url", pg_bare_url, "db", "upgrade")[0] == 0
    code, out, _ = _run(capsys, "--database-url", pg_bare_url, "db", "upgrade")
    assert (code, out) == (0, f"the schema of {PostgisStore(pg_bare_url).path} is already at revision"
                              f" {head_revision()}\n")
    assert _run(capsys, "--database-url", pg_bare_url, "db", "upgrade", "--from-workspace", str(DEMO))[0] == 0
    before = PostgisStore(pg_bare_url).layers()
    code, out, err = _run(capsys, "--database-url", pg_bare_url, "db", "upgrade", "--from-workspace", str(DEMO))
    assert code == 2 and err.startswith(f"hgwatch: workspace {PostgisStore(pg_bare_url).path} already holds"
                                     f" {len(Workspace(DEMO).layers())} layers")
    assert err.rstrip().endswith(f"copy {DEMO} into an empty database, nothing was copied")
    assert PostgisStore(pg_bare_url).layers() == before


def test_db_upgrade_needs_a_postgresql_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(DATABASE_ENV, raising=False)
    assert _run(capsys, "db", "upgrade") == (
        2, "", "hgwatch: db upgrade needs a PostgreSQL database: give --database-url postgresql://USER@HOST/DB"
               " or set HGWATCH_DATABASE_URL\n")
    assert _run(capsys, "--database-url", f"sqlite:///{tmp_path}/x.db", "db", "upgrade")[2] == (
        f"hgwatch: --database-url 'sqlite:///{tmp_path}/x.db': expected a URL starting with postgresql://\n")
    code, _, err = _run(capsys, "--database-url", "mysql://u@h/db", "layers")
    assert code == 2 and "expected one starting with postgresql://" in err


def test_the_environment_selects_the_database_and_an_explicit_workspace_wins(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(DATABASE_ENV, pg_url)
    assert Settings.from_env().database_url == pg_url
    assert _run(capsys, "layers")[1].splitlines()[0] == f"workspace {PostgisStore(pg_url).path}"
    assert Settings.from_env(workspace=tmp_path / "ws.gpkg").database_url is None
    assert _run(capsys, "--workspace", str(DEMO), "layers")[1].splitlines()[0] == f"workspace {DEMO}"


def test_a_database_without_the_schema_says_to_run_db_upgrade(pg_bare_url: str) -> None:
    store = PostgisStore(pg_bare_url)
    assert not store.exists() and store.runs() == [] and not store.has("mining_sites")
    for act in (store.layers, lambda: store.read("mining_sites"),
                lambda: store.record_run(rules_hash="h", input_hashes={}, counts={}, violation_ids=[])):
        with pytest.raises(WorkspaceError) as refused:
            act()
        assert str(refused.value) == (f"workspace {store.path} has no HgWatch schema; create it with"
                                      " `python cli.py --database-url URL db upgrade`")


def test_a_database_at_another_revision_is_refused(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("UPDATE hgw_schema_version SET version_num = 'older'")
    with pytest.raises(WorkspaceError, match=rf"revision older; this HgWatch needs {head_revision()}: run `python cli"):
        PostgisStore(pg_url).layers()


def test_an_unreachable_database_is_a_clear_error_that_hides_the_password(tmp_path: Path) -> None:
    url = f"postgresql://hgw:s3cret@/hgwatch?host={tmp_path}&port=5432"  # no server on that socket
    with pytest.raises(WorkspaceError) as refused:
        PostgisStore(url).exists()
    assert str(refused.value).startswith(
        "workspace postgresql://hgw:***@/hgwatch?host=") and "the database refused or failed: " in str(refused.value)
    assert "s3cret" not in str(refused.value)


def test_the_schema_has_a_typed_column_for_every_catalogue_field_and_indexed_4326_geometry(pg_url: str) -> None:
    """Fails when a catalogue field is added without a migration: add a revision in
    layers/store/migrations/versions (until then the field is kept in `extra`)."""
    with psycopg.connect(pg_url) as con:
        for layer, spec in CATALOGUE.items():
            columns: dict[str, str] = dict(con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s"
                " ORDER BY ordinal_position", (layer,)).fetchall())
            expected = {"fid": "bigint", **{f.name: SQL_TYPES[f.dtype] for f in spec.fields},
                        "extra": "jsonb", "geom": "USER-DEFINED"}
            assert columns == expected, layer
            assert con.execute("SELECT srid, type FROM geometry_columns WHERE f_table_name = %s",
                               (layer,)).fetchone() == (4326, "GEOMETRY")
            indexes = [r[0] for r in con.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", (layer,))]
            assert any("USING gist (geom)" in d for d in indexes), indexes


def test_declared_values_given_as_text_read_as_the_geopackage_reads_them(
        pg_url: str, tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"site_id": ["A", "B"], "miners": ["many", "7"], "uses_mercury": ["oui", "maybe"]},
                           geometry=[shapely.Point(1, 2), shapely.Point(3, 4)], crs=4326)
    pg, gp = PostgisStore(pg_url), Workspace(tmp_path / "ws.gpkg")
    for store in (pg, gp):
        store.write_layer("mining_sites", gdf, source="a")
    back = pg.read("mining_sites")
    assert back["miners"].isna().tolist() == [True, False] and back["miners"][1] == 7  # "many": missing
    assert back["uses_mercury"].isna().tolist() == [False, True] and back["uses_mercury"][0]  # "oui": yes
    assert back.drop(columns="geometry").equals(gp.read("mining_sites").drop(columns="geometry"))


def test_the_service_sees_changes_made_by_another_process(pg_url: str) -> None:
    svc = HgWatch(Settings.from_env({}, database_url=pg_url))
    assert svc.frames() == {} and svc.layers() == []
    PostgisStore(pg_url).write_layer("deposits", gpd.GeoDataFrame(
        {"deposit_id": ["D1"]}, geometry=[shapely.Point(0, 0)], crs=4326), source="elsewhere")
    assert list(svc.frames()) == ["deposits"]  # the cache followed the database's change counter
    assert svc.layers()[0].source == "elsewhere"
