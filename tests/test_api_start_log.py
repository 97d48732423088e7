"""``python -m api`` says, once it listens, where (the address), on which store, which collections it serves,
which it serves to no key, and how many valid keys each role has; never a key or its hash.

Found on 2026-11-28: the server logged nothing until the first request failed, so an operator could not tell
from its log whether it had started, where, or on which store, nor that no key could get in.
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from layers.store.open import open_store
from tests.api_kit import fill, make_keys, open_location, serving
from tests.conftest import ROOT
from tests.test_postgis_partner import layer_frame

STARTED = "hgwatch.api.started INFO - "


def _said(folder: Path) -> list[str]:
    (log,) = folder.glob("api-*.log")
    return [line.split(STARTED, 1)[1] for line in log.read_text().splitlines() if STARTED in line]


def test_the_server_logs_where_it_listens_its_store_collections_and_keys_by_role(location: str, tmp_path: Path) -> None:
    store = fill(open_location(location))
    store.write_layers([("mercury_trade", layer_frame("mercury_trade"))], source="trade.geojson")
    keys = make_keys(location)
    with serving(location, tmp_path) as url:
        said = _said(tmp_path)
    assert said[0] == f"HgWatch partner API (OGC API - Features) listening on {url}; store {store.path}"
    assert said[1].startswith("7 collection(s): case_counts, mining_sites, samples, surfaces, tailings, violations,"
                              " water_bodies; each served to every valid key as its account's role may see it")
    assert said[2] == "served to no key: mercury_trade (wholly restricted)"
    assert said[3] == "valid keys by role: analyst 1, partner 1"  # the revoked key and the disabled account's: none
    text = "\n".join(said)
    for key in (keys.partner, keys.analyst, keys.revoked, keys.disabled):
        assert key not in text and hashlib.sha256(key.encode()).hexdigest()[:8] not in text


def test_a_server_no_key_can_get_into_says_so(tmp_path: Path) -> None:
    location = str(tmp_path / "ws.gpkg")
    fill(open_store(location))
    with serving(location, tmp_path):
        said = _said(tmp_path)
    assert said[-1] == "no valid key: every request gets 401 until one is made (python cli.py keys create NAME)"


def test_a_store_that_does_not_exist_is_named_and_a_port_out_of_range_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "misspelt.gpkg"
    with serving(str(missing), tmp_path):
        said = _said(tmp_path)
    assert any(line.startswith(f"the store {missing} does not exist (yet)") for line in said), said
    assert said[-1].startswith("no valid key")
    done = subprocess.run([sys.executable, "-m", "api", "--port", "99999", "--workspace", str(missing)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "'99999': expected a port number 1-65535" in done.stderr
    assert "Traceback" not in done.stderr and not missing.exists()
