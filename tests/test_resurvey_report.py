"""Re-surveys where people meet them: the report (HTML, escaped), the report command's output and its
refusal of a bad link, the roll-up per admin unit, and the inventory page on the demo (whose 2022 and
2024 rounds hold two pairs of sites within 100 m under different ids)."""
from __future__ import annotations

import io
import shutil
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from pypdf import PdfReader
from pyproj import Geod
from shapely.geometry import Point
from streamlit.testing.v1 import AppTest

from cli import main
from layers.store.workspace import DEFAULT_PATH
from render.report.document import report_bytes, report_html, summary_lines
from render.report.tables import inventory_tables
from services.rollups import unit_rollup
from settings.factors import load_factors

FACTORS = load_factors()
TODAY = date(2026, 1, 1)
APP = str(Path(__file__).resolve().parent.parent / "app.py")
WGS84 = Geod(ellps="WGS84")
EAST_30 = WGS84.fwd(-1.5, 5.5, 90, 30)[:2]


def sites(link: str | None, name: str = "Old <b>pit</b>") -> gpd.GeoDataFrame:
    rows = [{"site_id": "A", "name": name, "admin_area": "North", "survey_round": "2021", "survey_date": "2021-03-01",
             "gold_kg_per_year": 1.0, "amalgamation": "concentrate", "burning": "open", "resurvey_of": None},
            {"site_id": "B", "name": "New pit", "admin_area": "North", "survey_round": "2023",
             "survey_date": "2023-03-01", "gold_kg_per_year": 0.4, "amalgamation": "concentrate", "burning": "open",
             "resurvey_of": link}]
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=[Point(-1.5, 5.5), Point(*EAST_30)], crs=4326)


def test_the_report_lists_the_pairs_with_the_names_escaped_until_they_are_linked() -> None:
    inv = inventory_tables(sites(None), FACTORS, today=TODAY)
    page = report_html(inv, "<svg></svg>", "2026-01-01")
    assert "<h2>Possible re-surveys: sites of different survey rounds" in page
    assert "<td>B</td><td>2023</td><td>New pit</td><td>North</td><td>A</td><td>2021</td><td>Old &lt;b&gt;pit&lt;/b&gt;" \
        in page
    assert "<b>pit</b>" not in page
    lines = summary_lines(inv)
    assert lines[-1].startswith("Possible re-surveys, not linked: 1 pair of sites of different survey rounds lies"
                                " within 100 m of each other (100 m; no expected error of the layer is added")
    linked = inventory_tables(sites("A"), FACTORS, today=TODAY)
    page = report_html(linked, "<svg></svg>", "2026-01-01")
    assert "Possible re-surveys: sites" not in page  # no table once linked
    assert summary_lines(linked)[-2].startswith("Re-surveys: 1 record of a site surveyed again in a later round")
    assert summary_lines(linked)[-1].startswith("Possible re-surveys: no sites of different survey rounds lie within")
    with_error = inventory_tables(sites(None), FACTORS, today=TODAY, expected_error_m=15.0)
    assert "within 130 m of each other (100 m plus twice the layer's expected error of 15 m)" in summary_lines(
        with_error)[-1]


def test_the_pdf_prints_the_pairs_and_the_factors_table_the_distance_with_its_source() -> None:
    inv = inventory_tables(sites(None), FACTORS, today=TODAY, expected_error_m=15.0)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(report_bytes(
        inv, ".pdf", sites=sites(None)))).pages).split())
    assert "Possible re-surveys: sites of different survey rounds" in text
    assert "Old <b>pit</b>" in text and "New pit" in text
    row = inv.tables["factors"].iloc[-1]
    assert row["central (low-high)"] == "100 + 2 x 15 m expected error"
    assert row["source"].startswith("assumption: the source documents give no distance")


def test_one_round_says_nothing_of_re_surveys() -> None:
    one = sites(None).assign(survey_round="2021")
    assert not any("re-survey" in line for line in summary_lines(inventory_tables(one, FACTORS, today=TODAY)))


def test_the_report_command_prints_the_pairs_and_refuses_a_bad_link(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "ws.gpkg"
    table = pd.DataFrame(sites(None).drop(columns="geometry")).assign(
        lon=[-1.5, EAST_30[0]], lat=[5.5, EAST_30[1]], resurvey_of=["", ""])
    table.to_csv(tmp_path / "sites.csv", index=False)
    assert main(["--workspace", str(ws), "import", str(tmp_path / "sites.csv"), "--layer", "mining_sites"]) == 0
    capsys.readouterr()
    assert main(["--workspace", str(ws), "report", "--out", str(tmp_path / "r.html")]) == 0
    out = capsys.readouterr().out
    assert "Possible re-surveys, not linked: 1 pair " in out
    assert "  B (2023, New pit, North) may be A (2021, Old <b>pit</b>, North): 30.0 m apart" in out
    table.assign(resurvey_of=["", "Z"]).to_csv(tmp_path / "sites.csv", index=False)
    assert main(["--workspace", str(ws), "import", str(tmp_path / "sites.csv"), "--layer", "mining_sites"]) == 0
    capsys.readouterr()
    assert main(["--workspace", str(ws), "report", "--out", str(tmp_path / "bad.html")]) == 2
    err = capsys.readouterr().err
    assert ("row 2, id B, field 'resurvey_of': value 'Z': the site_id of the same site in an earlier survey round:"
            " no site has this id") in err
    assert "Traceback" not in err and not (tmp_path / "bad.html").exists()


def test_the_units_roll_up_counts_a_linked_site_once() -> None:
    before = unit_rollup({"mining_sites": sites(None)}, FACTORS, today=TODAY).table.set_index("unit_code")
    after = unit_rollup({"mining_sites": sites("A")}, FACTORS, today=TODAY).table.set_index("unit_code")
    assert (before.loc["North", "sites"], after.loc["North", "sites"]) == (2, 1)
    assert before.loc["North", "hg_central"] == pytest.approx(0.7)
    assert after.loc["North", "hg_central"] == pytest.approx(0.2)  # B, the latest survey of the site
    view = unit_rollup({"mining_sites": sites("A").iloc[1:]}, FACTORS, today=TODAY)  # a view without A: no link
    assert view.table.set_index("unit_code").loc["North", "sites"] == 1


@pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")
def test_the_inventory_page_warns_of_the_demos_possible_re_surveys(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(ws))
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("ui/pages/inventory.py").run()
    assert not at.exception, at.exception
    assert any(w.value.startswith("Possible re-surveys, not linked: 2 pairs") for w in at.warning)
    pairs = next(d.value for d in at.dataframe if "earlier_round" in d.value.columns)
    assert pairs[["site_id", "resurvey_of"]].values.tolist() == [["DEMO-S140", "DEMO-S049"],
                                                                 ["DEMO-S040", "DEMO-S032"]]
    assert pairs["distance_m"].round(1).tolist() == [14.6, 88.2]


def test_the_registers_count_a_linked_active_site_once_by_its_latest_survey() -> None:
    from services.registers import registers

    def active(link: str | None, later: str) -> int:
        frame = sites(link).assign(status=["active", later])
        table = registers({"mining_sites": frame}, today=TODAY, people=False).units.table.set_index("unit_code")
        return int(table["active_sites"].get("North", 0))  # without admin areas: units of the active sites only

    assert (active(None, "active"), active("A", "active")) == (2, 1)
    assert active("A", "abandoned") == 0  # abandoned at its latest survey: not active now
    assert active(None, "abandoned") == 1
