"""``cli.py cases list`` as a table (found by HC2 walking the cases of the real Peru points): a case with no
assignee showed ``None`` in the assignee column, which reads as an account named None; it shows ``-``
now, and the CSV keeps the empty field."""
from __future__ import annotations

import json
from pathlib import Path

from tests.api_kit import run_cli


def _file(path: Path, features: list[tuple[dict[str, object], dict[str, object]]]) -> str:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": geom} for props, geom in features]}))
    return str(path)


def test_a_case_with_no_assignee_shows_a_dash(tmp_path: Path) -> None:
    location = str(tmp_path / "ws.gpkg")
    river = _file(tmp_path / "river.geojson", [({"water_id": "W1", "kind": "river"},
                                                {"type": "LineString", "coordinates": [[-2.0, 5.3], [-1.9, 5.3]]})])
    sites = _file(tmp_path / "sites.geojson", [
        ({"site_id": f"S{i}", "uses_mercury": True, "status": "active"},
         {"type": "Point", "coordinates": [-1.99 + i / 100, 5.3003]}) for i in (1, 2)])  # ~33 m north of the river
    assert run_cli(location, "import", river, "--layer", "water_bodies")[0] == 0
    assert run_cli(location, "import", sites, "--layer", "mining_sites")[0] == 0
    assert run_cli(location, "check")[0] == 0
    code, out, _ = run_cli(location, "cases", "list")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["violation_id", "site_id", "rule_id", "status", "assignee", "updated_at", "visits"]
    column = header.index("assignee") + len("assignee")  # right-aligned under its name
    shown = {row.split()[1]: row[:column].split()[-1] for row in rows}
    assert "None" not in out and shown == {"S1": "-", "S2": "-"}
    code, csv, _ = run_cli(location, "cases", "list", "--format", "csv")
    assert code == 0 and csv.count(",new,,") == 2  # the CSV keeps an empty assignee
