"""One key of an account is revoked alone, by the label ``keys list`` shows (``'unep #2'``, ``unep#2`` or
``unep --number 2``), leaving the account's other keys valid; recorded in the audit trail as the other key
actions are (the account and the key's number, never the key or its hash). On a GeoPackage and on PostGIS.

Found on 2026-11-28 (brief HA): ``keys revoke ACCOUNT`` revoked every key of the account, so an operator who
saw one partner key leaked had to cut off every application of that partner.
"""
from __future__ import annotations

import json

from layers.store.open import open_store
from services import audit, keys
from services.auth import Identity
from tests.api_kit import fill, new_key, open_location, run_cli


def _states(location: str) -> dict[str, str]:
    out = run_cli(location, "keys", "list")[1]
    return {" ".join(line.split()[:2]): line.split(None, 5)[5].split()[0] for line in out.splitlines()[1:-1]}


def test_one_key_is_revoked_alone_by_its_number_and_the_revocation_audited(location: str) -> None:
    fill(open_location(location))
    first, second, third = (new_key(location, "unep") for _ in range(3))  # made within one second, numbered 1-3
    other = new_key(location, "ana")
    store = open_store(location)
    assert _states(location) == {"ana #1": "valid", "unep #1": "valid", "unep #2": "valid", "unep #3": "valid"}
    code, out, err = run_cli(location, "keys", "revoke", "unep #2")
    assert (code, err) == (0, "") and out.startswith("revoked key unep #2 in ") and "other keys are unchanged" in out
    assert keys.verify(store, second) is None
    assert keys.verify(store, first) == keys.verify(store, third) == Identity("unep", "partner")
    assert keys.verify(store, other) == Identity("ana", "analyst")
    assert _states(location) == {"ana #1": "valid", "unep #1": "valid", "unep #2": "revoked", "unep #3": "valid"}
    code, out, _ = run_cli(location, "keys", "revoke", "unep#3")  # the label without a space
    assert code == 0 and keys.verify(store, third) is None and keys.verify(store, first) is not None
    code, out, _ = run_cli(location, "keys", "revoke", "unep", "--number", "2")  # revoked already: said, not an error
    assert code == 0 and "was revoked already" in out
    rows = [r for r in audit.trail(store) if r.action == "api key revoke"]
    assert [(r.target, json.loads(r.before), json.loads(r.after)) for r in rows] == [
        ("unep", {"key": "#2", "valid_keys": 3}, {"key": "#2", "valid_keys": 2}),
        ("unep", {"key": "#3", "valid_keys": 2}, {"key": "#3", "valid_keys": 1}),
        ("unep", {"key": "#2", "valid_keys": 1}, {"key": "#2", "valid_keys": 1})]
    for made in (first, second, third):
        assert all(made not in r.before + r.after and keys.key_hash(made) not in r.before + r.after for r in rows)
    code, out, _ = run_cli(location, "keys", "revoke", "unep")  # the whole account, as before
    assert code == 0 and "revoked 1 key" in out and keys.verify(store, first) is None


def test_a_key_number_that_is_not_there_is_refused_naming_the_numbers_there(location: str) -> None:
    fill(open_location(location))
    new_key(location, "unep")
    new_key(location, "unep")
    for argv, said in [(("unep #9",), "account 'unep' has no key #9"), (("unep", "--number", "3"), "#1 to #2"),
                       (("ana #1",), "'ana' has no key #1"), (("nobody #1",), "'nobody' does not exist"),
                       (("unep #1", "--number", "2"), "two different key numbers")]:
        code, out, err = run_cli(location, "keys", "revoke", *argv)
        assert code == 2 and out == "" and said in err and "Traceback" not in err, (argv, err)
    assert set(_states(location).values()) == {"valid"}
