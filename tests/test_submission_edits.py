"""A submission edited on ODK Central after HgWatch imported it (on both back ends).

Central keeps a submission's ``KEY`` when a reviewer edits it on the server, and gives the edited
data a new ``meta-instanceID`` (central-backend writes ``KEY`` from the submission's ``instanceId``).
HgWatch keyed on ``meta-instanceID``, so the edited export was imported as a new submission: a
second visit on the case, or a refusal that named a move the case could not make. Now the key is
``KEY``: the edited row is a duplicate, and the import says its edits are not applied again."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

import cli
import tests.field_exports as fx
from geo.rules import violation_id
from layers.io.submissions import read_submissions
from layers.store import cases as stored
from layers.store.open import open_store
from services.hgwatch import HgWatch
from settings import Settings

S1 = violation_id("HG-WATER-100", 2, "mining_sites", "S1")


def _settings(location: str) -> Settings:
    return Settings(database_url=location) if location.startswith("postgresql") else Settings(workspace=Path(location))


def _row(outcome: str, reason: str | None, **extra: object) -> dict[str, object]:
    return {"key": "uuid:first", "violation_id": S1, "outcome": outcome, "reason": reason, "lat": 0.001,
            "lon": 0.0005, "accuracy": 4.0, "visited_at": "2026-11-20T09:30:00.000+00:00", "notes": "from the bank",
            "submitter": "kofi", **extra}


def test_an_edited_submission_is_not_imported_twice(location: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    settings = _settings(location)
    store = open_store(settings.workspace, settings.database_url)
    sites = gpd.GeoDataFrame({"site_id": ["S1"], "name": ["Site 1"], "uses_mercury": [True], "admin_area": ["North"]},
                             geometry=[shapely.Point(0.0005, 0.0)], crs=4326)
    water = gpd.GeoDataFrame({"water_id": ["W1"], "name": ["River"], "kind": ["river"]},
                             geometry=[shapely.LineString([(0, -0.01), (0, 0.01)])], crs=4326)
    store.write_layers([("mining_sites", sites), ("water_bodies", water)], source="test", replace_all=True)
    assert HgWatch(settings).check(only=["HG-WATER-100"]).run_id is not None
    where = ["--database-url", location] if location.startswith("postgresql") else ["--workspace", location]

    first = fx.odk_csv(tmp_path / "first.csv", [_row("not_accessible", "flooded")])
    assert cli.main([*where, "submissions", "import", str(first)]) == 0
    assert "applied 1:" in capsys.readouterr().out

    # a reviewer corrects it on Central: the same KEY, a new meta-instanceID, one edit
    edited = fx.odk_csv(tmp_path / "edited.csv", [_row("confirmed", None, instance="uuid:edited-1", edits=1)])
    assert [s.key for s in read_submissions(edited)[0]] == ["uuid:first"]
    assert cli.main([*where, "submissions", "import", str(edited)]) == 0
    got = capsys.readouterr()
    out = got.out + got.err
    assert "applied 0:" in out and "duplicates 1" in out and "uuid:first" in out
    assert "edits on the server are not applied again" in out and "Edits" in out
    with stored.reading(open_store(settings.workspace, settings.database_url)) as tables:
        case = tables.get(S1)
        visits = tables.visits(S1)
    assert case is not None and case.status == "not_accessible"
    assert len(visits) == 1
