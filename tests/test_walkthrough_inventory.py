"""The inventory page as its users met it in a browser walk-through (session 11): its tables showed
kilograms a year to four decimals (the 95th percentile of the demo's mercury use as 704.6414 kg) in a
product that gives every estimate as a range. On screen every kilogram column now has one decimal;
the table's values, and the CSV downloads, keep every digit. AppTest on a copy of the demo."""
from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from layers.store.workspace import DEFAULT_PATH

APP = str(Path(__file__).resolve().parent.parent / "app.py")
pytestmark = pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")


def test_the_inventory_tables_show_kilograms_to_one_decimal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(ws))
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("ui/pages/inventory.py").run()
    assert not at.exception, at.exception
    checked = 0
    for table in at.dataframe:
        kg = [c for c in table.value.columns if table.value[c].dtype.kind == "f" and c.endswith(("_kg", "_low", "_high"))]
        if not kg:
            continue
        formats = {name: (cfg.get("type_config") or {}).get("format")
                   for name, cfg in json.loads(table.proto.columns or "{}").items()}
        assert all(formats.get(c) == "%.1f" for c in kg), (list(table.value.columns), formats)
        checked += 1
    assert checked >= 5  # comparison, by area, method and round, sites (and the units table)
    comparison = next(d.value for d in at.dataframe if "low_kg" in d.value.columns)
    assert (comparison["high_kg"].dropna() % 1 != 0).any()  # the values keep their digits: only the screen rounds


def test_a_partners_inventory_report_names_no_path_of_the_server(tmp_path: Path) -> None:
    """The report's "Sites:" source was the workspace's full path for every role: a partner's PDF or HTML
    named the server's folders. A partner's and a field coordinator's now name no path; an analyst's
    names the workspace file."""
    from render.report.document import report_bytes
    from render.report.tables import inventory_tables
    from services.auth import Identity
    from services.hgwatch import HgWatch
    from settings import Settings

    secret_dir = tmp_path / "srv-secret-folder-7f3a"
    secret_dir.mkdir()
    ws = secret_dir / "agency_store.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    for who in (Identity("pat", "partner"), Identity("kofi", "field", ("DEMO North",)), Identity("ana", "analyst")):
        svc = HgWatch(Settings.from_env(None, workspace=ws), who)
        label = svc.source_label()
        sites = svc.frames()["mining_sites"]
        html = report_bytes(inventory_tables(sites, svc.factors(), today=date(2026, 11, 26)), ".html", sites=sites,
                            data_source=label).decode("utf-8")
        if who.role == "analyst":
            assert "agency_store.gpkg" in html and "srv-secret-folder-7f3a" not in html
        else:
            assert "srv-secret-folder-7f3a" not in html and "agency_store" not in html, who
