"""The admin_area warning names the feature's row in the file: after ``--repair`` left a record out
(rows were counted by place in the kept frame, one too few after it) and in every chunk of a chunked
import (rows were counted from 1 in each chunk). Known answers: the wrong admin_area is on record 3 / 5."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.api_kit import run_cli
from tests.test_admin_units import AREAS


def _feature(site_id: str, area: str, geometry: dict[str, object]) -> dict[str, object]:
    return {"type": "Feature", "properties": {"site_id": site_id, "admin_area": area}, "geometry": geometry}


def _point(x: float, y: float) -> dict[str, object]:
    return {"type": "Point", "coordinates": [x, y]}


@pytest.fixture
def workspace(tmp_path: Path) -> str:
    AREAS.to_file(tmp_path / "areas.geojson", driver="GeoJSON")
    where = str(tmp_path / "ws.gpkg")
    code, _, err = run_cli(where, "import", str(tmp_path / "areas.geojson"), "--layer", "admin_areas")
    assert code == 0, err
    return where


def _warnings(said: str) -> list[str]:
    return [line.strip() for line in said.splitlines() if "admin_area names a unit that does not contain" in line]


def test_after_repair_left_a_record_out(workspace: str, tmp_path: Path) -> None:
    flat = {"type": "Polygon", "coordinates": [[[0.1, 0.1], [0.1, 0.1], [0.1, 0.1], [0.1, 0.1]]]}  # nothing left
    features = [_feature("a", "Chui", _point(0.1, 0.5)), _feature("b", "Chui", flat),
                _feature("c", "Naryn", _point(0.75, 0.5))]  # c lies in Chui / Sokuluk, not Naryn
    path = tmp_path / "sites.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    code, out, err = run_cli(workspace, "import", str(path), "--layer", "mining_sites", "--repair")
    assert code == 0, err
    assert [w.split(": value")[0] for w in _warnings(out + err)] == [
        "warning: sites.geojson, row 3, id c, field 'admin_area'"]


def test_in_every_chunk(workspace: str, tmp_path: Path) -> None:
    features = [_feature(f"s{i}", "Chui", _point(0.1, 0.5)) for i in range(1, 7)]
    features[4] = _feature("s5", "Naryn", _point(0.75, 0.5))  # record 5, the first of the third chunk of 2
    path = tmp_path / "sites.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    code, out, err = run_cli(workspace, "import", str(path), "--layer", "mining_sites", "--chunk-rows", "2")
    assert code == 0, err
    assert [w.split(": value")[0] for w in _warnings(out + err)] == [
        "warning: sites.geojson, row 5, id s5, field 'admin_area'"]
