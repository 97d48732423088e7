"""The real-data walk (Ghana: Earth Genome footprints ±10 m, GSHHG rivers ±500 m, OSM places) told the
analyst what a HG-WATER-100 flag is worth (``check`` prints it per rule) but not the people who act on a
case: the field coordinator's case detail, the case dossier and the field pack said "Distance 0.00 m on
the WGS84 ellipsoid" with no word on the water's accuracy or on the values assumed with --set, and a
partner's export named each layer's source without its expected error. Every file is read from
../shared/data, never copied; the workspace is built once for the module (imports and one check)."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest

import cli

ROOT = Path(__file__).resolve().parent.parent
GHANA = ROOT.parent / "shared" / "data" / "ghana"
pytestmark = pytest.mark.skipif(not GHANA.is_dir(), reason="needs the real open data in ../shared/data/ghana")

CASE = "HG-WATER-100/02035060cd93d533"  # a footprint on a GSHHG river with unnamed OSM places downstream
WORTH = ("mining_sites ±10 m, water_bodies ±500 m; positions may be off by up to 510 m together, not small "
         "against the rule's 100 m: its flags are leads for a field visit, not proof")
RIVERS_SET = "water_bodies: GSHHG rivers [not in the file, given with --set (assumed, not observed): kind=river (51 rows)]"


def _cli(ws: Path, *args: str) -> None:
    assert cli.main(["--workspace", str(ws), *args]) == 0


@pytest.fixture(scope="module")
def ghana(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("worth") / "ws.gpkg"
    _cli(ws, "import", str(GHANA / "amw_mining_footprints_2024.geojson"), "--layer", "mining_sites", "--repair",
         "--set", "status=active", "--set", "uses_mercury=true", "--set", "admin_area=Ashanti",
         "--source", "Earth Genome AMW 2024", "--licence", "CC-BY-4.0", "--accuracy-m", "10")
    _cli(ws, "import", str(GHANA / "gshhg_rivers.geojson"), "--layer", "water_bodies", "--repair", "--set", "kind=river",
         "--source", "GSHHG rivers", "--licence", "LGPL-3.0-or-later", "--accuracy-m", "500")
    _cli(ws, "import", str(GHANA / "osm_places_2019.geojson"), "--layer", "residential_areas", "--set", "place=village",
         "--set", "population=500", "--source", "OSM 2019")  # no --accuracy-m: its error is unknown
    _cli(ws, "check")  # recorded: one case per violation
    return ws


def test_the_dossier_says_what_the_distance_is_worth_and_names_unnamed_places_by_id(
        ghana: Path, tmp_path: Path) -> None:
    out = tmp_path / "case.html"
    _cli(ghana, "dossier", CASE, "--out", str(out))
    text = out.read_text(encoding="utf-8").replace("&#x27;", "'")
    assert "<th>Accuracy</th><td>" + WORTH in text
    assert RIVERS_SET in text  # the values assumed with --set, from the layer's recorded source
    # an unnamed settlement printed as "None (osm_places_2019-1847)"; its id is now its OSM node id (row 1847)
    assert "  1830247679: 500 people, 4.33 km along the river" in text and "None (" not in text
    assert ("settlements recorded as: OSM 2019 [not in the file, given with --set (assumed, not observed):"
            " population=500 (7,197 rows)]") in text  # the 500 people are assumed, not counted


def test_the_pdf_dossier_holds_the_accuracy_fact_too(ghana: Path) -> None:
    from layers.store.workspace import Workspace
    from render.dossier.document import facts
    from services.auth import LOCAL
    from services.dossier import dossier
    from settings import Settings

    d = dossier(Workspace(ghana), LOCAL, Settings(workspace=ghana), CASE)
    found = dict(facts(d))  # what the PDF's fact table prints (render.dossier.document._pdf)
    assert found["Accuracy"].startswith(WORTH) and RIVERS_SET in found["Accuracy"]


def test_the_workbench_detail_gives_the_accuracy_line(ghana: Path) -> None:
    from layers.store.workspace import Workspace
    from services.auth import LOCAL
    from services.workbench import worth_text
    from settings import Settings

    line = worth_text(Settings().rules, "HG-WATER-100", Workspace(ghana).layers(), LOCAL)
    assert line is not None and line.startswith("accuracy: " + WORTH) and RIVERS_SET in line
    assert worth_text(Settings().rules, "WORST-PRACTICE-WHOLE-ORE", Workspace(ghana).layers(), LOCAL) is None  # no place
    assert worth_text(Settings().rules, "NO-SUCH-RULE", Workspace(ghana).layers(), LOCAL) is None


def test_the_field_pack_labels_say_the_flag_is_a_lead(ghana: Path, tmp_path: Path) -> None:
    _cli(ghana, "fieldpack", "--area", "Ashanti", "--out", str(tmp_path / "pack"))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "pack" / "cases.csv").read_text(encoding="utf-8"))))
    assert len(rows) == 98
    mine = next(r for r in rows if r["violation_id"] == CASE)
    assert mine["label"] == f"{CASE} · HG-WATER-100 · 0 m (mining_sites ±10 m, water_bodies ±500 m: a lead, not proof)"
    survey = openpyxl.load_workbook(tmp_path / "pack" / "inspection.xlsx")["survey"]
    hints = {r[1]: r[3] for r in survey.iter_rows(values_only=True)}
    assert "not proof" in str(hints["violation_id"]) and "expected error" in str(hints["violation_id"])


def test_a_partner_export_says_each_layers_expected_error(ghana: Path, tmp_path: Path) -> None:
    from services.checks import UNKNOWN_ERROR

    for layer in ("water_bodies", "residential_areas"):
        out = tmp_path / f"{layer}.geojson"
        _cli(ghana, "export", layer, "--out", str(out), "--profile", "partner")
        (meta,) = json.loads(out.read_text(encoding="utf-8"))["hgwatch"]["layers"]
        if layer == "water_bodies":
            assert (meta["expected_error_m"], meta["accuracy_note"]) == (500.0, "")
        else:
            assert meta["expected_error_m"] is None and meta["accuracy_note"] == UNKNOWN_ERROR


def test_the_violations_page_prints_the_accuracy_line_under_the_distance(
        ghana: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_case_workbench import _page  # the page with session state (no accounts: the local user)

    monkeypatch.setenv("HGWATCH_WORKSPACE", str(ghana))
    at = _page(wb_case=CASE)
    texts = [t.value for t in at.text]
    detail = next(i for i, t in enumerate(texts) if "distance 0.00 m (rule 100.00 m)" in t)
    assert texts[detail + 1].startswith("accuracy: " + WORTH) and RIVERS_SET in texts[detail + 1]


def test_a_restricted_value_given_with_set_never_leaves_in_the_provenance(tmp_path: Path) -> None:
    """import --set informant_name="Kwame Mensah" recorded the name in the layer's source, which a
    partner export's metadata carried as is (and the accuracy lines above print the source)."""
    sites = tmp_path / "sites.geojson"
    sites.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.5, 6.0]},
        "properties": {"site_id": "S1", "name": "Pit", "status": "active", "uses_mercury": True}}]}))
    ws, out = tmp_path / "ws.gpkg", tmp_path / "partner.geojson"
    _cli(ws, "import", str(sites), "--layer", "mining_sites", "--set", "informant_name=Kwame Mensah, Jr",
         "--set", "admin_area=North", "--accuracy-m", "10")
    _cli(ws, "export", "mining_sites", "--out", str(out), "--profile", "partner")
    text = out.read_text(encoding="utf-8")
    assert "Kwame" not in text
    (meta,) = json.loads(text)["hgwatch"]["layers"]
    assert meta["source"] == ("sites.geojson [not in the file, given with --set (assumed, not observed): "
                              "informant_name=(restricted, not shown) (1 rows), admin_area=North (1 rows)]")
    from layers.store.workspace import Workspace
    from services.worth import case_worth
    from settings import Settings

    line = case_worth(Settings().rules.rule("HG-WATER-100"), Workspace(ws).layers())  # the dossier's, the detail's
    assert line is not None and "informant_name=(restricted, not shown) (1 rows)" in line and "Kwame" not in line


def test_a_restricted_value_given_with_set_is_never_recorded_in_the_source(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The source is read by every role (the layer list, the Provenance & accuracy page, the API's metadata):
    ``import --set informant_name=...`` recorded the name in it, and only the exports masked it. The import now
    records the field and its row count, never the value; the value is only in the restricted column."""
    from layers.store.workspace import Workspace

    sites = tmp_path / "sites.geojson"
    sites.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.5, 6.0]},
        "properties": {"site_id": "S1", "name": "Pit", "status": "active", "uses_mercury": True}}]}))
    ws = tmp_path / "ws.gpkg"
    _cli(ws, "import", str(sites), "--layer", "mining_sites", "--set", "informant_name=Kwame Mensah",
         "--set", "admin_area=North")
    store = Workspace(ws)
    assert store.info("mining_sites").source == (
        "sites.geojson [not in the file, given with --set (assumed, not observed): "
        "informant_name=(restricted, not shown) (1 rows), admin_area=North (1 rows)]")
    assert list(store.read("mining_sites")["informant_name"]) == ["Kwame Mensah"]  # the value is stored, restricted
    capsys.readouterr()
    assert cli.main(["--workspace", str(ws), "layers"]) == 0
    assert "Kwame" not in capsys.readouterr().out
