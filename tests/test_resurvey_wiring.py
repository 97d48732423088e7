"""The re-survey link and the layer's expected error reach every role's inventory, on both stores.

``resurvey_of`` is a declared field of ``mining_sites`` (``layers/catalogue.py``): without the
declaration the column stayed an undeclared extra, which a partner's view never holds, so a partner
counted a linked site twice where the analyst counted it once. The inventory's re-survey search is
widened by twice the layer's expected error (``import --accuracy-m``), passed by ``HgWatch.inventory``
and ``report``. Known answers: two sites 30 m apart in rounds 2021 and 2023.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from services.auth import Identity
from services.hgwatch import HgWatch
from settings import Settings
from tests.api_kit import run_cli
from tests.test_resurvey_report import EAST_30, sites


def _settings(location: str) -> Settings:
    if location.startswith("postgresql"):
        return Settings.from_env({}, database_url=location)
    return Settings.from_env({}, workspace=Path(location))


def _import(location: str, table: pd.DataFrame, folder: Path) -> None:
    path = folder / "s.csv"
    table.to_csv(path, index=False)
    code, _, err = run_cli(location, "import", str(path), "--layer", "mining_sites", "--accuracy-m", "10")
    assert code == 0, err


def test_every_role_counts_a_linked_site_once_and_the_search_is_widened(location: str, tmp_path: Path) -> None:
    table = pd.DataFrame(sites(None).drop(columns="geometry")).assign(lon=[-1.5, EAST_30[0]], lat=[5.5, EAST_30[1]])
    _import(location, table.assign(resurvey_of=["", "A"]), tmp_path)
    for who in (Identity("pat", "partner"), Identity("ana", "analyst")):
        inv = HgWatch(_settings(location), who).inventory(None, date(2026, 1, 1))
        assert int(inv.tables["totals"].iloc[0]["n_sites"]) == 1, who  # linked: one site, not two
        assert inv.resurvey.within_m == 120.0  # 100 m plus twice the 10 m expected error
    _import(location, table.assign(resurvey_of=["", ""]), tmp_path)  # unlinked: two sites, one candidate pair
    inv = HgWatch(_settings(location), Identity("pat", "partner")).inventory(None, date(2026, 1, 1))
    assert int(inv.tables["totals"].iloc[0]["n_sites"]) == 2
    code, out, err = run_cli(location, "report", "--out", str(tmp_path / "r.html"))
    assert code == 0, err
    assert "within 120 m of each other (100 m plus twice the layer's expected error of 10 m)" in out
