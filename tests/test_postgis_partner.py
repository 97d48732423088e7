"""PostgreSQL itself keeps restricted data from partners and field coordinators (issue 11), on a
real PostGIS server (tests/postgis.py); and account changes land in the audit trail on both back
ends.

Every layer type holds planted values (``SECRET-...``) in its restricted catalogue fields, in an
undeclared column never marked shareable and in person-like undeclared columns. As the database
role ``hgw_partner`` a restricted column cannot be selected (permission denied), the partner
views hold none of the planted values, and the store's partner read equals the GeoPackage's. As
``hgw_field`` row-level security shows the layer tables' rows of the account's areas only."""
from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
import shapely
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from geopandas.testing import assert_geodataframe_equal
from psycopg import errors

import cli
from geo.errors import WorkspaceError
from layers.catalogue import CATALOGUE, spec_for
from layers.store import pgroles
from layers.store.base import Store
from layers.store.open import open_store
from layers.store.pgschema import MIGRATIONS, connect, head_revision
from layers.store.postgis import PostgisStore
from services import audit, auth
from services.auth import Identity
from services.hgwatch import HgWatch
from settings import Settings

SECRET = "SECRET-"  # every planted value a partner may never get starts with it
EXTRA_SECRETS = ("local_code", "Enumerator Phone", "interview/informant_name")  # undeclared, never marked
PARTNER = Identity("pat", "partner")
FIELD = Identity("kofi", "field", ("A",))
PASSWORD = "correct horse"


def layer_frame(layer: str) -> gpd.GeoDataFrame:
    """Three rows of ``layer``: in admin area A, B and none (declared, or an undeclared column
    where the catalogue has no ``admin_area``), a secret in every restricted field and in
    ``EXTRA_SECRETS``."""
    spec = spec_for(layer)
    data: dict[str, list[object]] = {spec.id_field: [f"{layer}-{i}" for i in (1, 2, 3)],
                                     "admin_area": ["A", "B", None]}
    for name in [*spec.restricted_fields, *EXTRA_SECRETS]:
        data[name] = [f"{SECRET}{layer}-{name}-{i}" for i in (1, 2, 3)]
    points = [shapely.Point(-1.99 + i / 100, 5.30) for i in range(3)]
    return gpd.GeoDataFrame(data, geometry=points, crs=4326)


def fill(store: Store, layers: list[str]) -> Store:
    store.write_layers([(layer, layer_frame(layer)) for layer in layers], source="planted.geojson")
    return store


@pytest.fixture
def held(pg_url: str) -> list[str]:
    """Every layer type of the catalogue that has a table at the newest schema revision."""
    with psycopg.connect(pg_url) as owner:
        tables = {r[0] for r in owner.execute("SELECT table_name FROM information_schema.tables"
                                              " WHERE table_schema = 'public'")}
    found = [layer for layer in CATALOGUE if layer in tables]
    assert {"mining_sites", "tailings", "samples"} <= set(found)
    return found


@pytest.fixture
def shared(held: list[str]) -> list[str]:
    """The held layer types a partner may see (not wholly restricted)."""
    return [layer for layer in held if not spec_for(layer).restricted]


@pytest.fixture
def pg(pg_url: str, held: list[str]) -> PostgisStore:
    store = fill(open_store(pg_url), held)
    assert isinstance(store, PostgisStore)
    return store


@pytest.fixture
def gpkg(tmp_path: Path, held: list[str]) -> Store:
    return fill(open_store(tmp_path / "ws.gpkg"), held)


@contextlib.contextmanager
def as_role(url: str, role: str, areas: str | None = None) -> Iterator[psycopg.Connection]:
    """Direct SQL (autocommit, as psql would) as database role ``role``, with ``hgwatch.areas``."""
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"SET ROLE {role}")
        if areas is not None:
            con.execute("SELECT set_config('hgwatch.areas', %s, false)", (areas,))
        yield con


def typed_restricted(con: psycopg.Connection, layer: str) -> list[str]:
    """The restricted catalogue fields of ``layer`` that are typed columns of its table."""
    present = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns"
                                         " WHERE table_schema = 'public' AND table_name = %s", (layer,))}
    return [f for f in spec_for(layer).restricted_fields if f in present]


# ---------------------------------------------------------------- the partner role
def test_the_partner_role_gets_a_permission_error_on_every_base_and_metadata_table(pg: PostgisStore, pg_url: str,
                                                                                  held: list[str]) -> None:
    auth.add_account(pg, "ana", "analyst", PASSWORD)  # so that hgw_accounts and hgw_audit hold rows
    with psycopg.connect(pg_url) as owner:
        restricted = {layer: typed_restricted(owner, layer) for layer in held}
        meta = [r[0] for r in owner.execute(r"SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                                            r" AND tablename LIKE 'hgw\_%'")]
    assert {"hgw_accounts", "hgw_audit", "hgw_layers", "hgw_shareable", "hgw_runs", "hgw_state",
            "hgw_schema_version"} <= set(meta)
    assert restricted["mining_sites"] == ["informant_name", "informant_contact", "inspector_name"]
    assert restricted["samples"] == ["collector_name", "participant_id"]
    with as_role(pg_url, "hgw_partner") as con:
        with pytest.raises(errors.InsufficientPrivilege):
            con.execute("SELECT informant_name FROM public.mining_sites")
        for layer, fields in restricted.items():
            for field in fields:
                with pytest.raises(errors.InsufficientPrivilege):
                    con.execute(f'SELECT "{field}" FROM public."{layer}"')
            with pytest.raises(errors.InsufficientPrivilege):
                con.execute(f'SELECT extra FROM public."{layer}"')
        for table in meta:
            with pytest.raises(errors.InsufficientPrivilege):
                con.execute(f"SELECT * FROM public.{table}")
        with pytest.raises(errors.UndefinedColumn):
            con.execute("SELECT informant_name FROM partner.mining_sites")
        with pytest.raises(errors.InsufficientPrivilege):
            con.execute("UPDATE partner.mining_sites SET name = 'x'")


def test_a_partner_view_holds_every_row_and_no_planted_value(pg: PostgisStore, pg_url: str, held: list[str],
                                                             shared: list[str]) -> None:
    with as_role(pg_url, "hgw_partner") as con:
        views = {r[0] for r in con.execute("SELECT table_name FROM information_schema.views"
                                           " WHERE table_schema = 'partner'")}
        assert views == set(shared)  # a wholly restricted layer has no partner view
        for layer in shared:
            rows = [r[0] for r in con.execute(f'SELECT to_jsonb(p)::text FROM partner."{layer}" p ORDER BY fid')]
            dump = "\n".join(rows)
            assert len(rows) == 3 and all(f'"{layer}-{i}"' in dump for i in (1, 2, 3)), layer  # not vacuous
            assert SECRET not in dump, layer


# ---------------------------------------------------------------- the store's reads, both back ends
def test_the_partner_read_equals_the_geopackage_one(pg: PostgisStore, gpkg: Store, held: list[str],
                                                    shared: list[str]) -> None:
    for layer in shared:
        on_pg = auth.read_layer(pg, layer, PARTNER)
        assert_geodataframe_equal(on_pg, auth.read_layer(gpkg, layer, PARTNER))
        assert list(on_pg[spec_for(layer).id_field]) == [f"{layer}-{i}" for i in (1, 2, 3)]
        assert SECRET not in on_pg.to_json()
    for layer in set(held) - set(shared):
        for store in (pg, gpkg):
            with pytest.raises(WorkspaceError, match="restricted"):
                auth.read_layer(store, layer, PARTNER)


def test_the_partner_read_runs_as_the_partner_role(pg: PostgisStore, pg_url: str) -> None:
    """Take the partner role's grant on one view away: the partner read of that layer is refused
    by PostgreSQL (it never falls back to the owner's rights), the owner's read still works."""
    with psycopg.connect(pg_url) as owner:
        owner.execute("REVOKE SELECT ON partner.deposits FROM hgw_partner")
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        pg.read_partner("deposits")
    assert len(pg.read_partner("samples")) == 3 and len(pg.read("deposits")) == 3


def test_a_field_account_sees_restricted_values_in_its_areas_only(pg: PostgisStore, gpkg: Store,
                                                                  held: list[str], shared: list[str]) -> None:
    for layer in set(held) - set(shared):  # a wholly restricted layer: only analysts and admins see it
        for store in (pg, gpkg):
            with pytest.raises(WorkspaceError, match="restricted"):
                auth.read_layer(store, layer, FIELD)
    for layer in shared:
        on_pg = auth.read_layer(pg, layer, FIELD)
        assert_geodataframe_equal(on_pg, auth.read_layer(gpkg, layer, FIELD))
        for name in [*spec_for(layer).restricted_fields, *EXTRA_SECRETS]:
            assert list(on_pg[name]) == [f"{SECRET}{layer}-{name}-1", None, None], (layer, name)
        assert list(on_pg[spec_for(layer).id_field]) == [f"{layer}-{i}" for i in (1, 2, 3)]


def test_row_level_security_shows_the_field_role_its_areas_rows_only(pg: PostgisStore, pg_url: str,
                                                                    held: list[str], shared: list[str]) -> None:
    with as_role(pg_url, "hgw_field", '["A"]') as con:
        for layer in set(held) - set(shared):  # no grant at all on a wholly restricted layer
            with pytest.raises(errors.InsufficientPrivilege):
                con.execute(f'SELECT fid FROM public."{layer}"')
        assert [r[0] for r in con.execute("SELECT site_id FROM public.mining_sites ORDER BY fid")] == ["mining_sites-1"]
        assert [r[0] for r in con.execute("SELECT informant_name FROM public.mining_sites")] == [
            f"{SECRET}mining_sites-informant_name-1"]
        # tailings has no declared admin_area: its undeclared one (in extra) decides
        assert [r[0] for r in con.execute("SELECT tailings_id FROM public.tailings")] == ["tailings-1"]
        assert len(con.execute("SELECT * FROM partner.mining_sites").fetchall()) == 3
        con.execute("SELECT set_config('hgwatch.areas', '[\"A\", \"B\"]', false)")
        assert len(con.execute("SELECT * FROM public.samples").fetchall()) == 2
        con.execute("RESET hgwatch.areas")
        assert con.execute("SELECT * FROM public.samples").fetchall() == []
        with pytest.raises(errors.InsufficientPrivilege):
            con.execute("SELECT * FROM public.hgw_accounts")
        with pytest.raises(errors.InsufficientPrivilege):
            con.execute("UPDATE public.mining_sites SET name = 'x'")
    with psycopg.connect(pg_url) as owner:  # the owner (and an outside editor) still sees every row
        assert owner.execute("SELECT count(*) FROM public.mining_sites").fetchone() == (3,)


def test_db_upgrade_takes_back_a_grant_to_public(pg: PostgisStore, pg_url: str) -> None:
    with psycopg.connect(pg_url) as owner:
        owner.execute("GRANT SELECT ON hgw_accounts, mining_sites TO PUBLIC")
    with as_role(pg_url, "hgw_partner") as con:
        con.execute("SELECT * FROM public.hgw_accounts")  # PUBLIC's grant reaches every role
    assert cli.main(["--database-url", pg_url, "db", "upgrade"]) == 0
    with as_role(pg_url, "hgw_partner") as con:
        for table in ("hgw_accounts", "mining_sites"):
            with pytest.raises(errors.InsufficientPrivilege):
                con.execute(f"SELECT * FROM public.{table}")


def test_an_outside_reader_still_sees_every_row(pg: PostgisStore, pg_url: str) -> None:
    """Row-level security limits hgw_field only: a role an agency grants SELECT to (QGIS) sees every row."""
    with psycopg.connect(pg_url, autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = 'hgw_qgis'").fetchone() is None:
            admin.execute("CREATE ROLE hgw_qgis NOLOGIN")
        admin.execute("GRANT SELECT ON mining_sites TO hgw_qgis")
    with as_role(pg_url, "hgw_qgis") as con:
        assert con.execute("SELECT count(*) FROM public.mining_sites").fetchone() == (3,)


# ---------------------------------------------------------------- shareable marks
def test_marking_a_column_shareable_puts_it_in_the_partner_view_and_unmarking_removes_it(
        pg: PostgisStore, gpkg: Store, pg_url: str) -> None:
    def view_keys() -> set[str]:
        with as_role(pg_url, "hgw_partner") as con:
            return {k for (e,) in con.execute("SELECT extra FROM partner.mining_sites") for k in e}

    assert view_keys() == set()
    for store in (pg, gpkg):
        store.mark_shareable("mining_sites", ["local_code"])
    assert view_keys() == {"local_code"}
    on_pg = auth.read_layer(pg, "mining_sites", PARTNER)
    assert list(on_pg["local_code"]) == [f"{SECRET}mining_sites-local_code-{i}" for i in (1, 2, 3)]
    assert_geodataframe_equal(on_pg, auth.read_layer(gpkg, "mining_sites", PARTNER))
    for store in (pg, gpkg):
        store.mark_shareable("mining_sites", ["local_code"], undo=True)
    assert view_keys() == set()
    assert "local_code" not in auth.read_layer(pg, "mining_sites", PARTNER).columns
    # a person-like mark slipped in with SQL never reaches the view, even after a refresh
    with psycopg.connect(pg_url) as owner:
        owner.execute("INSERT INTO hgw_shareable VALUES ('mining_sites', 'Enumerator Phone', 'now')")
    assert cli.main(["--database-url", pg_url, "db", "upgrade"]) == 0
    assert view_keys() == set()


def test_marked_names_with_quotes_colons_and_percent_signs_reach_the_view_intact(
        pg: PostgisStore, gpkg: Store, pg_url: str) -> None:
    """The view is composed by psycopg (identifiers and literals quoted), so any name an analyst
    marks works and cannot change the SQL."""
    odd = ["it's", 'say "hi"', "a:b", "50%", "{k}", "x); DROP TABLE hgw_audit; --"]
    frame = layer_frame("deposits").assign(**{name: [f"v{i}-{name}" for i in range(3)] for name in odd})
    for store in (pg, gpkg):
        store.write_layer("deposits", frame, source="odd.geojson")
        store.mark_shareable("deposits", odd)
    on_pg = auth.read_layer(pg, "deposits", PARTNER)
    assert_geodataframe_equal(on_pg, auth.read_layer(gpkg, "deposits", PARTNER))
    assert [list(on_pg[name]) for name in odd] == [[f"v{i}-{name}" for i in range(3)] for name in odd]
    with as_role(pg_url, "hgw_partner") as con:
        assert {k for (e,) in con.execute("SELECT extra FROM partner.deposits") for k in e} == set(odd)
    with psycopg.connect(pg_url) as owner:
        assert owner.execute("SELECT to_regclass('hgw_audit')").fetchone() == ("hgw_audit",)


# ---------------------------------------------------------------- db upgrade from v0003
def _upgrade_to(url: str, rev: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with connect(url) as con, con.begin():
        config.attributes["connection"] = con
        command.upgrade(config, rev)


def test_db_upgrade_from_v0003_makes_the_views_and_running_it_twice_is_harmless(
        pg_bare_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _upgrade_to(pg_bare_url, "v0003_audit")
    with psycopg.connect(pg_bare_url) as owner:
        owner.execute("INSERT INTO mining_sites (site_id, name, informant_name, admin_area, geom) VALUES"
                      " ('S1', 'Alpha', 'SECRET-ama', 'A', 'SRID=4326;POINT(-1.99 5.3)')")
        owner.execute("INSERT INTO hgw_layers (layer, source, licence, imported_at, \"rows\", columns) VALUES"
                      " ('mining_sites', 's.geojson', 'CC0', '2026-01-01', 1, '[[\"site_id\", \"declared\"],"
                      " [\"name\", \"declared\"], [\"informant_name\", \"declared\"], [\"admin_area\", \"declared\"]]')")
        assert owner.execute("SELECT to_regnamespace('partner')").fetchone() == (None,)
    capsys.readouterr()
    assert cli.main(["--database-url", pg_bare_url, "db", "upgrade"]) == 0
    assert f"from revision v0003_audit to {head_revision()}" in capsys.readouterr().out
    for _ in range(2):
        store = open_store(pg_bare_url)
        seen = auth.read_layer(store, "mining_sites", PARTNER)
        assert list(seen.columns) == ["site_id", "name", "admin_area", "geometry"] and list(seen["name"]) == ["Alpha"]
        with as_role(pg_bare_url, "hgw_partner") as con, pytest.raises(errors.InsufficientPrivilege):
            con.execute("SELECT informant_name FROM public.mining_sites")
        assert cli.main(["--database-url", pg_bare_url, "db", "upgrade"]) == 0
        assert "already at revision" in capsys.readouterr().out


def test_the_migration_downgrades_and_upgrades_again(pg_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with connect(pg_url) as con, con.begin():
        config.attributes["connection"] = con
        pgroles.drop_views(con)  # what upgrade_schema does first: a later revision may drop a column a view reads
        command.downgrade(config, "v0003_audit")
    with psycopg.connect(pg_url) as owner:
        assert owner.execute("SELECT to_regnamespace('partner')").fetchone() == (None,)
        assert owner.execute("SELECT count(*) FROM pg_policies WHERE policyname LIKE 'hgw%'").fetchone() == (0,)
        assert owner.execute("SELECT relrowsecurity FROM pg_class WHERE oid = 'mining_sites'::regclass").fetchone() == (
            False,)
    assert cli.main(["--database-url", pg_url, "db", "upgrade"]) == 0
    with as_role(pg_url, "hgw_partner") as con:
        assert con.execute("SELECT count(*) FROM partner.mining_sites").fetchone() == (0,)


def test_a_workspace_copied_in_keeps_its_shareable_marks_in_the_partner_view(tmp_path: Path, pg_bare_url: str) -> None:
    ws = fill(open_store(tmp_path / "ws.gpkg"), ["mining_sites"])
    ws.mark_shareable("mining_sites", ["local_code"])
    assert cli.main(["--database-url", pg_bare_url, "db", "upgrade", "--from-workspace", str(tmp_path / "ws.gpkg")]) == 0
    pg = open_store(pg_bare_url)
    on_pg = auth.read_layer(pg, "mining_sites", PARTNER)
    assert list(on_pg["local_code"]) == [f"{SECRET}mining_sites-local_code-{i}" for i in (1, 2, 3)]
    assert_geodataframe_equal(on_pg, auth.read_layer(ws, "mining_sites", PARTNER))


# ---------------------------------------------------------------- account changes in the audit trail
@pytest.fixture(params=["geopackage", "postgis"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "geopackage":
        open_store(tmp_path / "ws.gpkg").write_layer("deposits", layer_frame("deposits"), source="d.geojson")
        return str(tmp_path / "ws.gpkg")
    return str(request.getfixturevalue("pg_url"))


def test_account_changes_are_in_the_audit_trail_without_any_hash(location: str, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    flags = ["--database-url" if location.startswith("postgresql") else "--workspace", location]

    def users(*argv: str, stdin: str = "") -> int:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        return cli.main([*flags, "users", *argv])

    assert users("add", "kofi", "--role", "field", "--areas", "A,B", "--password-stdin", stdin=PASSWORD + "\n") == 0
    assert users("set-role", "kofi", "partner") == 0
    assert users("passwd", "kofi", "--password-stdin", stdin="another password\n") == 0
    assert users("disable", "kofi") == 0
    assert users("set-role", "kofi", "analyst", "--areas", "A") == 2  # refused: nothing recorded
    assert users("add", "kofi", "--role", "analyst", "--password-stdin", stdin=PASSWORD + "\n") == 2  # taken
    store = open_store(location)
    rows = [r for r in audit.trail(store) if r.action.startswith("account")]
    field = {"role": "field", "areas": ["A", "B"], "disabled": False}
    partner = {"role": "partner", "areas": [], "disabled": False}
    assert [(r.action, r.target, json.loads(r.before), json.loads(r.after)) for r in rows] == [
        ("account add", "kofi", None, field),
        ("account role", "kofi", field, partner),
        ("account password", "kofi", partner, partner),
        ("account disable", "kofi", partner, {**partner, "disabled": True})]
    assert {r.who for r in rows} == {auth.cli_identity().name}
    hashes = [auth.accounts_for(store).get("kofi").password_hash]  # type: ignore[union-attr]
    text = "".join(r.content() for r in audit.trail(store))
    assert "argon2" not in text and hashes[0] not in text and PASSWORD not in text and "another password" not in text
    capsys.readouterr()
    assert cli.main([*flags, "audit", "list", "--user", auth.cli_identity().name]) == 0
    listed = capsys.readouterr().out
    for action in ("account add", "account role", "account password", "account disable"):
        assert f"{action} (kofi)" in listed
    assert cli.main([*flags, "audit", "verify"]) == 0
    assert "the chain is whole" in capsys.readouterr().out


# ---------------------------------------------------------------- a wholly restricted layer
@pytest.mark.parametrize("backend", ["geopackage", "postgis"])
def test_only_analysts_see_a_wholly_restricted_layer(backend: str, tmp_path: Path,
                                                     request: pytest.FixtureRequest) -> None:
    """The service a partner's or a field coordinator's pages use lists and reads no closed
    layer (issue 15: only analyst and admin see it); an analyst's reads every row."""
    closed = [layer for layer in CATALOGUE if spec_for(layer).restricted]
    assert "mercury_trade" in closed
    where = str(tmp_path / "ws.gpkg") if backend == "geopackage" else str(request.getfixturevalue("pg_url"))
    fill(open_store(where), ["mining_sites", *closed])
    settings = Settings.from_env({}, workspace=where) if backend == "geopackage" else Settings.from_env(
        {}, database_url=where)
    seen = {}
    for identity in (PARTNER, FIELD, Identity("ana", "analyst")):
        svc = HgWatch(settings, identity)
        assert sorted(i.layer for i in svc.layers()) == sorted(svc.frames())
        seen[identity.role] = {layer: len(gdf) for layer, gdf in svc.frames().items()}
        if identity.role != "analyst":
            assert not any(f"{SECRET}{layer}" in gdf.to_json() for gdf in svc.frames().values() for layer in closed)
    assert seen["partner"] == {"mining_sites": 3}
    assert seen["field"] == {"mining_sites": 3}
    assert seen["analyst"] == {"mining_sites": 3, **{layer: 3 for layer in closed}}
    for layer in closed:
        assert not auth.may_see_layer(PARTNER, layer) and not auth.may_see_layer(FIELD, layer)


# ---------------------------------------------------------------- an owner that is not a superuser
def test_an_owner_that_is_not_a_superuser_upgrades_and_reads_as_each_role(pg_bare_url: str) -> None:
    """A superuser bypasses row-level security and may SET ROLE to anything; an agency's
    database user is neither. With only CREATEROLE and CREATE on the database and on schema
    public it upgrades, its store's partner and field reads work, and it sees every row itself."""
    with psycopg.connect(pg_bare_url, autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = 'hgw_agency'").fetchone() is None:
            admin.execute("CREATE ROLE hgw_agency LOGIN CREATEROLE")
        admin.execute("GRANT CREATE ON SCHEMA public TO hgw_agency")
        admin.execute(f'GRANT CREATE ON DATABASE "{admin.info.dbname}" TO hgw_agency')
        url = f"postgresql://hgw_agency@/{admin.info.dbname}?host={admin.info.host}&port={admin.info.port}"
    assert cli.main(["--database-url", url, "db", "upgrade"]) == 0
    store = fill(open_store(url), ["mining_sites", "samples"])
    with psycopg.connect(url) as owner:
        assert owner.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (False,)
        assert owner.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'mining_sites'").fetchone() == (
            "hgw_agency",)
    partner = auth.read_layer(store, "mining_sites", PARTNER)
    assert len(partner) == 3 and SECRET not in partner.to_json()
    field = auth.read_layer(store, "samples", FIELD)
    assert list(field["collector_name"]) == [f"{SECRET}samples-collector_name-1", None, None]
    assert len(auth.read_layer(store, "mining_sites", Identity("ana", "analyst"))) == 3
    with as_role(url, "hgw_partner") as con, pytest.raises(errors.InsufficientPrivilege):
        con.execute("SELECT informant_name FROM public.mining_sites")
