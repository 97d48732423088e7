"""``cli.py layers`` (found by HC2 following the README on a new workspace): on a workspace that does not exist
it printed the table's header on stdout before the error (a script reading stdout got a header and no
rows), and its ``imported`` column was 20 characters wide for a 25-character time, so the header's
``source / licence`` stood over the times and not over the sources."""
from __future__ import annotations

import json
from pathlib import Path

from tests.api_kit import run_cli


def test_a_missing_workspace_prints_no_header_only_the_error(tmp_path: Path) -> None:
    code, out, err = run_cli(str(tmp_path / "nope.gpkg"), "layers")
    assert (code, out) == (2, "")
    assert err == f"hgwatch: workspace {tmp_path / 'nope.gpkg'} does not exist; import a layer first or run `make demo`\n"


def test_the_header_stands_over_its_columns(tmp_path: Path) -> None:
    source = tmp_path / "sites.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-2.0, 5.3]}, "properties": {"site_id": "A"}}]}))
    location = str(tmp_path / "ws.gpkg")
    assert run_cli(location, "import", str(source), "--layer", "mining_sites", "--source", "Survey 2024",
                   "--licence", "CC-BY-4.0")[0] == 0
    code, out, _ = run_cli(location, "layers")
    assert code == 0
    header, row = out.splitlines()[1:3]
    assert row.startswith("mining_sites") and row.index("Survey 2024 / CC-BY-4.0") == header.index("source / licence")
    assert row.index("20") == header.index("imported")  # the time, under its name
