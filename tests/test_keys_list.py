"""``cli.py keys list`` shows what an operator needs of each key (account and key number, role, when made,
whether a request with it is answered) and never a key or any part of its hash, on a GeoPackage and PostGIS.

Found on 2026-11-28: it printed the first 12 hex digits of each key's SHA-256, where the README says a key
is never shown; it called a disabled account's key ``valid`` (every request with it gets 401), gave no role,
and on a misspelt ``--workspace`` listed nothing with exit code 0, as if the store held no key.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from tests.api_kit import fill, make_keys, open_location, run_cli


def test_keys_list_shows_account_role_made_and_state_and_never_a_key_or_its_hash(location: str) -> None:
    fill(open_location(location))
    assert run_cli(location, "keys", "list")[1].startswith("no API key in ")
    keys = make_keys(location)  # unep: one revoked, one valid; ana: valid; gone: valid, then the account disabled
    assert run_cli(location, "users", "set-role", "ana", "admin")[0] == 0
    code, out, err = run_cli(location, "keys", "list")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["account", "(key", "#)", "role", "made", "(UTC)", "last", "used", "(UTC)", "state"]
    rows = [line.split(None, 5) for line in lines[1:-1]]
    assert {r[4] for r in rows} == {"never"}  # no request yet (tests/test_keys_last_use.py: after one)
    assert [(r[0], r[1], r[2], r[5].split()[0]) for r in rows] == [
        ("ana", "#1", "admin", "valid"), ("gone", "#1", "partner", "refused:"), ("unep", "#1", "partner", "revoked"),
        ("unep", "#2", "partner", "valid")]
    assert rows[1][5] == "refused: account disabled"
    assert lines[-1].startswith("4 keys, 2 valid, in ")
    for key in (keys.partner, keys.analyst, keys.revoked, keys.disabled):
        digest = hashlib.sha256(key.encode()).hexdigest()
        assert key[4:12] not in out and all(digest[i:i + 6] not in out for i in range(0, 58)), key
    assert "sha256" not in out.lower()


def test_keys_help_and_errors_name_what_is_expected(tmp_path: Path) -> None:
    missing = str(tmp_path / "mispelt.gpkg")
    code, out, err = run_cli(missing, "keys", "list")
    assert code == 2 and out == "" and "mispelt.gpkg does not exist" in err and "Traceback" not in err
    assert not Path(missing).exists()
    location = str(tmp_path / "ws.gpkg")
    fill(open_location(location))
    code, _, err = run_cli(location, "keys", "create", "nobody")
    assert code == 2 and "'nobody' does not exist" in err and "users list" in err
    code, out, _ = run_cli(location, "keys", "list")
    assert code == 0 and out.startswith("no API key in ") and "keys create ACCOUNT" in out
