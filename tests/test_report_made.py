"""``cli.py report``: the day the report was made and the files it read, as its reader should see them.

With ``--today 2020-01-01`` (the day the targets are judged on) the report said "Report made 2020-01-01";
with ``--layer mining_sites=/some/folder/sites.geojson`` its Sources named the folder of the machine that
made it. It is now made today, judged on the day given, and names the file alone (HD's findings)."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import geopandas as gpd

import cli

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo_workspace.gpkg"


def test_a_report_is_made_today_judged_on_the_day_given_and_names_no_folder(tmp_path: Path) -> None:
    folder = tmp_path / "private-folder-of-the-analyst"
    folder.mkdir()
    ws = tmp_path / "ws.gpkg"
    shutil.copy(DEMO, ws)
    sites = folder / "sites.geojson"
    gpd.read_file(ws, layer="mining_sites").to_file(sites)
    out = tmp_path / "report.html"
    assert cli.main(["--workspace", str(ws), "report", "--out", str(out), "--layer", f"mining_sites={sites}",
                     "--today", "2020-01-01"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "Targets judged on 2020-01-01" in text and f"Report made {date.today().isoformat()}" in text
    assert "mining_sites: sites.geojson" in text and "private-folder-of-the-analyst" not in text
