"""What the GeoPackage gives the server for a field coordinator, attacked: the store's reads are
recorded, not only what leaves the server.

Planted (``tests.api_kit`` and ``tests.test_attack_personal_rows``): ``SECRET-...`` values in every
restricted field and undeclared column of every layer, rows in admin areas A and B, a hair sample
in each area. The coordinator (``kofi``) has area B. A real wrapper around
``layers.store.arrowread``'s reads (``_arrow``: every Arrow table GDAL hands over; ``read_layer``,
``read_parts`` and pyogrio's feature read: every frame they return) keeps what each call returned
while every download the dashboard offers it (every layer, format and profile, the violations, the
map) are made: no read returned a restricted value of area A, of a layer without
areas, or anything of area A's hair sample. Before the read was selected by SQLite
(``Workspace.read_field``) the whole layer was read and masked in Python: this failed on every
planted value. What leaves the server is searched by ``tests.test_attack_downloads`` and
``tests.test_attack_personal_rows``; here the bytes of every download are searched too. The
control: an analyst's reads hold them all, so the recording is not blind.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from layers.store import arrowread
from layers.store.open import open_store
from services import auth
from services.hgwatch import HgWatch
from settings import Settings
from tests.api_kit import PASSWORD, fill
from tests.test_attack_downloads import PLANTED
from tests.test_attack_downloads import _files as _downloads
from tests.test_attack_personal_rows import MARKS, _samples

FIELD = auth.Identity("kofi", "field", ("B",))
OWN = {b"1"}  # planted row 1 of each layer is in area B (sites S2, water sample W2)


def _text(value: Any) -> bytes:
    """Everything a read returned, as bytes to search."""
    if isinstance(value, tuple) and value and isinstance(value[0], pa.Table):
        return repr(value[0].to_pylist()).encode()
    if isinstance(value, pd.DataFrame):
        return value.drop(columns=[c for c in value.columns if str(c) == "geometry"]).to_csv().encode()
    return repr(value).encode()


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """What every read of ``layers.store.arrowread`` returned, call by call."""
    seen: list[bytes] = []

    def keeping(read: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            got = read(*args, **kwargs)
            seen.append(_text(got))
            return got
        return wrapper

    for name in ("_arrow", "read_layer", "read_parts"):
        if hasattr(arrowread, name):  # read_parts: since the field read is selected by SQLite
            monkeypatch.setattr(arrowread, name, keeping(getattr(arrowread, name)))
    monkeypatch.setattr(arrowread.pyogrio, "read_dataframe", keeping(arrowread.pyogrio.read_dataframe))
    yield seen


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "ws.gpkg"
    store = fill(open_store(path))
    store.write_layers([("samples", _samples())], source="samples.geojson")
    auth.add_account(store, "kofi", "field", PASSWORD, ["B"])
    return path


def _planted(data: bytes) -> set[bytes]:
    """Which planted rows ``data`` holds a restricted value of (``b"local"``: the river's)."""
    return {b"".join(m) for m in PLANTED.findall(data)}


def _hair(data: bytes) -> set[int]:
    return {k for k, marks in MARKS.items() if any(m in data for m in marks)}


def _settings(path: Path) -> Settings:
    return Settings.from_env({}, workspace=str(path))


def test_the_store_never_returns_another_areas_restricted_values_or_hair_samples(
        workspace: Path, recorded: list[bytes]) -> None:
    store = open_store(workspace)
    frames = {layer: auth.read_layer(store, layer, FIELD) for layer in ("mining_sites", "samples", "tailings",
                                                                        "water_bodies")}
    assert recorded and all(_planted(data) <= OWN and _hair(data) <= {2} for data in recorded), \
        [(_planted(d), _hair(d)) for d in recorded]
    assert _planted(b"".join(recorded)) == OWN and _hair(b"".join(recorded)) == {2}  # its own area's: read
    assert list(frames["samples"]["sample_id"]) == ["W1", "W2", "HAIRPERSON-2"]
    assert frames["mining_sites"].loc[0, "informant_name"] is None  # S1, area A
    assert frames["mining_sites"].loc[1, "informant_name"] == "SECRET-sites-informant_name-1"  # S2, area B


def test_every_download_reads_and_holds_only_what_the_field_coordinator_may_see(
        workspace: Path, recorded: list[bytes]) -> None:
    files = _downloads(HgWatch(_settings(workspace), FIELD))
    assert recorded
    reads = [(_planted(d) - OWN, _hair(d) - {2}) for d in recorded]
    assert all(not extra and not hair for extra, hair in reads), reads
    held = {name: (_planted(data) - OWN, _hair(data) - {2}) for name, data in files.items()}
    assert {n: h for n, h in held.items() if h[0] or h[1]} == {}
    assert _planted(files["mining_sites.geojson (internal)"]) == OWN  # its own area's values reach it
    recorded.clear()
    analyst = _downloads(HgWatch(_settings(workspace), auth.Identity("ana", "analyst")))  # the control
    assert {b"0", b"1", b"2", b"local"} <= _planted(b"".join(recorded)) and _hair(b"".join(recorded)) == {1, 2}
    assert _hair(analyst["samples.geojson (internal)"]) == {1, 2}


def test_a_check_not_recorded_reads_only_what_the_field_coordinator_may_see(
        workspace: Path, recorded: list[bytes]) -> None:
    outcome = HgWatch(_settings(workspace), FIELD).check(record=False)  # open to every role
    assert outcome.evaluation.counts  # the rules ran on the store
    assert recorded and not any(_planted(d) - OWN or _hair(d) - {2} for d in recorded)
