"""The ``users`` commands and ``--as``: one line of password on stdin, exit 2 with a message on
every misuse (never a traceback), and a role's limits applied to the command line."""
from __future__ import annotations

import io
import sys
from pathlib import Path

import geopandas as gpd
import pytest

import cli
from layers.store.accounts import accounts_for
from layers.store.open import open_store
from services import auth

PASSWORD = "correct horse"


@pytest.fixture
def ws(tmp_path: Path, sites: gpd.GeoDataFrame) -> str:
    path = tmp_path / "ws.gpkg"
    open_store(path).write_layer("mining_sites", sites, source="sites.geojson")
    return str(path)


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], ws: str, *argv: str,
        stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli.main(["--workspace", ws, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_add_list_set_role_passwd_disable(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                          ws: str) -> None:
    code, out, err = run(monkeypatch, capsys, ws, "users", "add", "ama", "--role", "field", "--areas",
                         "Western, Ashanti", "--password-stdin", stdin=PASSWORD + "\nsecond line ignored\n")
    assert (code, err) == (0, "")
    assert "add: account ama (field, areas Western,Ashanti)" in out
    store = open_store(ws)
    assert auth.authenticate(store, "ama", PASSWORD).areas == ("Western", "Ashanti")  # one line, no "\n"
    code, out, _ = run(monkeypatch, capsys, ws, "users", "list")
    assert code == 0 and out.split()[:4] == ["ama", "field", "active", "Western,Ashanti"]
    assert run(monkeypatch, capsys, ws, "users", "set-role", "ama", "analyst")[0] == 0
    assert run(monkeypatch, capsys, ws, "users", "passwd", "ama", "--password-stdin", stdin="new password\n")[0] == 0
    assert auth.authenticate(store, "ama", "new password").role == "analyst"
    assert run(monkeypatch, capsys, ws, "users", "disable", "ama")[0] == 0
    assert accounts_for(store).get("ama").disabled  # type: ignore[union-attr]


@pytest.mark.parametrize(("argv", "stdin", "message"), [
    (["users", "add", "kofi", "--role", "analyst", "--password-stdin"], "", "no password on standard input"),
    (["users", "add", "kofi", "--role", "analyst", "--password-stdin"], "short\n", "at least 8"),
    (["users", "add", "kofi", "--role", "field", "--password-stdin"], PASSWORD, "needs its admin areas"),
    (["users", "add", "kofi", "--role", "partner", "--areas", "X", "--password-stdin"], PASSWORD, "only a field"),
    (["users", "disable", "ghost"], "", "account 'ghost' does not exist"),
    (["users", "set-role", "ghost", "analyst"], "", "does not exist"),
    (["users", "passwd", "ghost", "--password-stdin"], PASSWORD, "does not exist"),
    (["--as", "ghost", "layers"], "", "--as 'ghost': the account does not exist"),
])
def test_misuse_exits_2_with_a_message(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                       ws: str, argv: list[str], stdin: str, message: str) -> None:
    code, _, err = run(monkeypatch, capsys, ws, *argv, stdin=stdin)
    assert code == 2 and message in err and "Traceback" not in err
    assert accounts_for(open_store(ws)).all() == []


@pytest.mark.parametrize("argv", [
    ["users", "add", "kofi", "--role", "boss", "--password-stdin"],
    ["users", "add", "kofi", "--role", "analyst"],  # the password must come on stdin
    ["users"],
])
def test_argument_misuse_is_argparse_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                            ws: str, argv: list[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD))
    with pytest.raises(SystemExit) as stop:
        cli.main(["--workspace", ws, *argv])
    assert stop.value.code == 2 and "error:" in capsys.readouterr().err


def test_as_a_partner_limits_the_command_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                              ws: str, tmp_path: Path) -> None:
    store = open_store(ws)
    auth.add_account(store, "pat", "partner", PASSWORD)
    auth.add_account(store, "boss", "admin", PASSWORD)
    code, _, err = run(monkeypatch, capsys, ws, "--as", "pat", "export", "mining_sites", "--profile", "internal",
                       "--out", str(tmp_path / "x.geojson"))
    assert code == 2 and "may not export under profile 'internal'" in err
    assert not (tmp_path / "x.geojson").exists()
    code, _, err = run(monkeypatch, capsys, ws, "--as", "pat", "users", "disable", "boss")
    assert code == 2 and "may not manage accounts" in err
    code, _, err = run(monkeypatch, capsys, ws, "--as", "pat", "share", "mining_sites", "local_code")
    assert code == 2 and "may not change the workspace" in err
    assert run(monkeypatch, capsys, ws, "--as", "boss", "users", "disable", "pat")[0] == 0
    code, out, _ = run(monkeypatch, capsys, ws, "--as", "boss", "export", "mining_sites", "--profile", "internal",
                       "--out", str(tmp_path / "y.geojson"))
    assert code == 0 and "Ama" in (tmp_path / "y.geojson").read_text()


def test_a_field_account_exports_restricted_values_of_its_own_areas_only(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        sites: gpd.GeoDataFrame) -> None:
    """``export --profile internal --as`` a field coordinator reads the layer as that account may see
    it: the informant of a site in its area leaves, the one of a site elsewhere does not."""
    path = tmp_path / "ws.gpkg"
    open_store(path).write_layer("mining_sites", sites.assign(admin_area=["Tarkwa", "Prestea", "Tarkwa"]),
                                 source="sites.geojson")
    auth.add_account(open_store(path), "kofi", "field", PASSWORD, areas=["Tarkwa"])
    out = tmp_path / "field.geojson"
    code, _, err = run(monkeypatch, capsys, str(path), "--as", "kofi", "export", "mining_sites",
                       "--profile", "internal", "--out", str(out))
    assert code == 0, err
    text = out.read_text()
    assert "Ama" in text  # S1 lies in Tarkwa, the account's area
    assert "Kofi" not in text  # S2's informant, in Prestea: never read for this account
    code, _, err = run(monkeypatch, capsys, str(path), "export", "mining_sites", "--profile", "internal",
                       "--out", str(tmp_path / "all.geojson"))
    assert code == 0 and "Kofi" in (tmp_path / "all.geojson").read_text()  # the analyst's export has it


def test_a_field_account_of_an_area_no_row_names_gets_a_warning(monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str], ws: str,
                                                                sites: gpd.GeoDataFrame) -> None:
    """The README's own example (`--areas Western,Ashanti`) on the demo, whose areas are DEMO North, Centre
    and South, made an account that saw restricted values nowhere, without a word. The account is still
    made (areas may be imported later); the command warns, naming the known areas and the closest."""
    open_store(ws).write_layer("mining_sites", sites.assign(admin_area="DEMO North"), source="sites.geojson")
    code, out, err = run(monkeypatch, capsys, ws, "users", "add", "kofi", "--role", "field", "--areas",
                         "DEMO Nort,DEMO North", "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0 and "add: account kofi (field, areas DEMO Nort,DEMO North)" in out
    assert err.count("warning:") == 1
    assert "--areas 'DEMO Nort'" in err and "Known areas: DEMO North" in err and "did you mean 'DEMO North'?" in err
    code, _, err = run(monkeypatch, capsys, ws, "users", "set-role", "kofi", "field", "--areas", "DEMO North")
    assert (code, err) == (0, "")


def test_layers_as_a_partner_or_field_account_never_names_a_wholly_restricted_layer(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], ws: str) -> None:
    """``cli.py --as <partner> layers`` listed ``mercury_trade`` with its count (session 11's note):
    the layer list of a role that may not see the layer does not name it; an analyst's does."""
    import shapely

    store = open_store(ws)
    trade = gpd.GeoDataFrame({"record_id": ["T1", "T2", "T3"], "record_type": ["seizure"] * 3},
                             geometry=[shapely.Point(0, 0)] * 3, crs=4326)
    store.write_layer("mercury_trade", trade, source="SECRET-trade-file.geojson")
    auth.add_account(store, "pat", "partner", PASSWORD)
    auth.add_account(store, "ama", "field", PASSWORD, areas=["Western"])
    for name in ("pat", "ama"):
        code, out, _ = run(monkeypatch, capsys, ws, "--as", name, "layers")
        assert code == 0 and "mining_sites" in out
        assert "mercury_trade" not in out and "SECRET-trade-file" not in out, name
    code, out, _ = run(monkeypatch, capsys, ws, "layers")
    assert code == 0 and "mercury_trade" in out and "SECRET-trade-file" in out
