"""A new agency's walk through the real open data in ../shared/data (Ghana, Peru, the Amazon):
import each file as the layer it fits, supply what it lacks, run the rules, export for a partner.
Each test pins a defect that walk found; every file is read from ../shared/data, never copied.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import cli
from layers.store.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
GHANA, PERU = DATA / "ghana", DATA / "peru"
needs_data = pytest.mark.skipif(not (GHANA.is_dir() and PERU.is_dir()),
                                reason="needs the real open data in ../shared/data (ghana, peru)")

# The 25 GSHHG river records of the Ghana file whose two points are the same (zero length)
ZERO_LENGTH = [1, 4, 10, 11, 15, 16, 22, 23, 26, 28, 32, 36, 37, 38, 39, 40, 41, 48, 49, 50, 55, 56, 59, 69, 74]


@needs_data
def test_zero_length_gshhg_rivers_are_named_and_left_out_under_repair(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """25 of the 76 Ghana GSHHG rivers are a 'line' of two equal points. make_valid makes each an
    EMPTY line: the import said 'repaired with make_valid into a LineString' and stored 25 records
    with no geometry. Now validation names each one (its WKT, not only GEOS's reason) and does not
    promise that --repair fixes it; under --repair the row is left out, said row by row."""
    rivers = GHANA / "gshhg_rivers.geojson"
    ws = tmp_path / "ws.gpkg"
    assert cli.main(["--workspace", str(ws), "validate", str(rivers), "--layer", "water_bodies",
                     "--set", "kind=river"]) == 1
    out = capsys.readouterr().out
    errors = [line for line in out.splitlines() if line.startswith("  error:")]
    assert [int(re.search(r"row (\d+),", e).group(1)) for e in errors] == ZERO_LENGTH  # type: ignore[union-attr]
    assert ("error: gshhg_rivers.geojson, row 1, id gshhg_rivers-1, field 'geometry': "
            "value 'LINESTRING (-4 7.95982299535, -4 7.95982299535)'") in out
    assert "make_valid leaves nothing of it" in out and "fix it with make_valid" not in out

    assert cli.main(["--workspace", str(ws), "import", str(rivers), "--layer", "water_bodies",
                     "--set", "kind=river", "--repair"]) == 0
    err = capsys.readouterr().err
    assert err.count("the row was left out") == 25 and "into a LineString" not in err
    stored = Workspace(ws).read("water_bodies")
    assert len(stored) == 51 and not stored.geometry.is_empty.any() and not stored.geometry.isna().any()
    kept = {f"gshhg_rivers-{r}" for r in range(1, 77) if r not in ZERO_LENGTH}
    assert set(stored["water_id"]) == kept


@needs_data
def test_zero_length_rivers_left_out_in_a_chunked_import_too(tmp_path: Path) -> None:
    """The same file as GeoParquet, read 20 records at a time: the same 51 rows are stored."""
    import geopandas as gpd

    parquet = tmp_path / "rivers.parquet"
    gpd.read_file(GHANA / "gshhg_rivers.geojson").to_parquet(parquet)
    ws = tmp_path / "ws.gpkg"
    assert cli.main(["--workspace", str(ws), "import", str(parquet), "--layer", "water_bodies",
                     "--set", "kind=river", "--repair", "--chunk-rows", "20"]) == 0
    stored = Workspace(ws).read("water_bodies")
    assert len(stored) == 51 and not stored.geometry.is_empty.any()
    assert set(stored["water_id"]) == {f"rivers-{r}" for r in range(1, 77) if r not in ZERO_LENGTH}


def _import(ws: Path, file: Path, *extra: str) -> None:
    assert cli.main(["--workspace", str(ws), "import", str(file), *extra]) == 0


def _ghana(ws: Path, *, lakes_accuracy: tuple[str, ...] = ()) -> None:
    """The Ghana walk: footprints as mercury sites (what they lack set at import), rivers and lakes."""
    _import(ws, GHANA / "amw_mining_footprints_2024.geojson", "--layer", "mining_sites", "--repair",
            "--set", "status=active", "--set", "uses_mercury=true", "--source", "Earth Genome AMW 2024",
            "--licence", "CC-BY-4.0", "--accuracy-m", "10")
    _import(ws, GHANA / "gshhg_rivers.geojson", "--layer", "water_bodies", "--repair", "--set", "kind=river",
            "--source", "GSHHG rivers", "--licence", "LGPL-3.0-or-later", "--accuracy-m", "500",
            "--accuracy-note", "GSHHG: hundreds of metres")
    _import(ws, GHANA / "gshhg_lakes.geojson", "--layer", "water_bodies", "--append", "--set", "kind=lake",
            "--source", "GSHHG lakes", "--licence", "LGPL-3.0-or-later", *lakes_accuracy)


@needs_data
def test_check_says_a_100_m_flag_on_gshhg_water_is_a_lead_not_proof(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The check printed 98 critical HG-WATER-100 flags on water good to 500 m and said nothing of
    it, and its violation file named each layer's source and licence but not its expected error."""
    ws, out = tmp_path / "ws.gpkg", tmp_path / "v.geojson"
    _ghana(ws, lakes_accuracy=("--accuracy-m", "500"))
    capsys.readouterr()
    assert cli.main(["--workspace", str(ws), "check", "--only", "HG-WATER-100", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert re.search(r"HG-WATER-100\s+critical\s+685\s+98\b", text)
    assert ("accuracy HG-WATER-100: mining_sites ±10 m, water_bodies ±500 m; positions may be off by up to "
            "510 m together, not small against the rule's 100 m: its 98 flags are leads for a field visit, "
            "not proof") in text
    meta = {m["layer"]: m for m in json.loads(out.read_text())["hgwatch"]["layers"]}
    assert meta["water_bodies"]["expected_error_m"] == 500.0 and meta["mining_sites"]["expected_error_m"] == 10.0
    assert "GSHHG: hundreds of metres" in meta["water_bodies"]["accuracy_note"]


@needs_data
def test_appending_lakes_keeps_the_rivers_provenance_and_unknown_error_stays_unknown(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Appending the lakes (no --accuracy-m) recorded the layer as 'GSHHG lakes' alone, its
    licence the lakes', and dropped the rivers' ±500 m without a word; a check then said nothing."""
    ws = tmp_path / "ws.gpkg"
    _ghana(ws)
    assert ("recorded: source GSHHG rivers [not in the file, given with --set (assumed, not observed): kind=river "
            "(51 rows)]; GSHHG lakes [not in the file, given with --set (assumed, not observed): kind=lake (4 rows)]; "
            "licence LGPL-3.0-or-later; expected error unknown (give --accuracy-m)") in capsys.readouterr().err
    info = Workspace(ws).info("water_bodies")
    assert info.source.startswith("GSHHG rivers [") and "; GSHHG lakes [" in info.source
    assert info.licence == "LGPL-3.0-or-later" and info.accuracy_m is None
    assert info.accuracy_note == "GSHHG rivers: ±500 m (GSHHG: hundreds of metres); GSHHG lakes: unknown"
    capsys.readouterr()
    assert cli.main(["--workspace", str(ws), "check", "--only", "HG-WATER-100", "--no-record"]) == 0
    assert ("accuracy HG-WATER-100: mining_sites ±10 m, water_bodies unknown; the expected error of "
            "water_bodies is unknown: its 98 flags are leads for a field visit, not proof") in capsys.readouterr().out


@needs_data
def test_values_set_at_import_are_labelled_as_not_observed_in_the_partner_export(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Satellite footprints show where mining is, not whether mercury is used: the uses_mercury=true
    given with --set left for a partner as if observed, the layer 'Earth Genome AMW 2024'."""
    ws, out = tmp_path / "ws.gpkg", tmp_path / "sites.geojson"
    _import(ws, GHANA / "amw_mining_footprints_2024.geojson", "--layer", "mining_sites", "--repair",
            "--set", "status=active", "--set", "uses_mercury=true", "--source", "Earth Genome AMW 2024",
            "--licence", "CC-BY-4.0")
    assert cli.main(["--workspace", str(ws), "export", "mining_sites", "--out", str(out), "--profile", "partner"]) == 0
    doc = json.loads(out.read_text())
    assert doc["features"][0]["properties"]["uses_mercury"] is True
    assert doc["hgwatch"]["layers"][0]["source"] == (
        "Earth Genome AMW 2024 [not in the file, given with --set (assumed, not observed): "
        "status=active (685 rows), uses_mercury=true (685 rows)]")
    capsys.readouterr()
    assert cli.main(["--workspace", str(ws), "layers"]) == 0
    assert "uses_mercury=true (685 rows)]" in capsys.readouterr().out
    # a value the file already holds in every row is not named: OSM gives every place its 'place';
    # the 52 populations OSM gives are kept, the 7,197 missing are said to be set
    _import(ws, GHANA / "osm_places_2019.geojson", "--layer", "residential_areas", "--set", "place=village",
            "--set", "population=500", "--source", "OSM 2019")
    assert Workspace(ws).info("residential_areas").source == (
        "OSM 2019 [not in the file, given with --set (assumed, not observed): population=500 (7,197 rows)]")


@needs_data
def test_import_page_repairs_and_fills_what_the_real_footprints_lack(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the Import data page the Ghana footprints (3 self-intersecting rings) could not be added at
    all: the page said 'pass --repair' and had no repair, no way to fill what the file lacks (--set),
    and no accuracy note. A fresh workspace, as a new agency starts."""
    from streamlit.testing.v1 import AppTest

    ws = tmp_path / "ws.gpkg"
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(ws))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("ui/pages/imports.py").run()
    assert not at.exception, at.exception
    at.selectbox(key="imp_layer").select("mining_sites").run()
    data = (GHANA / "amw_mining_footprints_2024.geojson").read_bytes()
    at.file_uploader[0].set_value(("amw_mining_footprints_2024.geojson", data, "application/geo+json")).run()
    assert any("3 problems to fix" in e.value for e in at.error), [e.value for e in at.error]
    at.checkbox(key="imp_repair").check().run()
    at.text_area(key="imp_set").input("status=active\nuses_mercury=true").run()
    assert not at.exception, at.exception
    assert any("685 mining sites are valid" in s.value for s in at.success), [s.value for s in at.success]
    at.text_input(key="imp_source").input("Earth Genome AMW 2024").run()
    at.number_input(key="imp_accuracy").set_value(10.0).run()
    at.text_input(key="imp_accuracy_note").input("Sentinel-2 footprints, 10 m pixels").run()
    at.button(key="imp_add").click().run()
    assert not at.exception, at.exception
    info = Workspace(ws).info("mining_sites")
    assert info.rows == 685 and info.accuracy_m == 10.0 and info.accuracy_note == "Sentinel-2 footprints, 10 m pixels"
    assert info.source == ("Earth Genome AMW 2024 [not in the file, given with --set (assumed, not observed): "
                           "status=active (685 rows), uses_mercury=true (685 rows)]")
    assert Workspace(ws).read("mining_sites")["uses_mercury"].all()
    at.switch_page("ui/pages/provenance.py").run()
    table = at.dataframe[0].value
    row = table[table["layer"] == "Mining sites"].iloc[0]
    assert "assumed, not observed" in row["source"] and row["expected error (m)"] == 10.0


@needs_data
def test_import_page_appends_the_lakes_to_the_rivers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rivers and lakes are both water bodies: the page could only replace the layer, so an agency
    could not hold the GSHHG rivers and lakes together without the command line."""
    from streamlit.testing.v1 import AppTest

    ws = tmp_path / "ws.gpkg"
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(ws))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("ui/pages/imports.py").run()
    at.selectbox(key="imp_layer").select("water_bodies").run()
    at.checkbox(key="imp_repair").check().run()
    at.text_area(key="imp_set").input("kind=river").run()
    rivers = (GHANA / "gshhg_rivers.geojson").read_bytes()
    at.file_uploader[0].set_value(("gshhg_rivers.geojson", rivers, "application/geo+json")).run()
    at.number_input(key="imp_accuracy").set_value(500.0).run()
    at.button(key="imp_add").click().run()
    assert not at.exception, at.exception
    assert Workspace(ws).info("water_bodies").rows == 51
    at.text_area(key="imp_set").input("kind=lake").run()
    lakes = (GHANA / "gshhg_lakes.geojson").read_bytes()
    at.file_uploader[0].set_value(("gshhg_lakes.geojson", lakes, "application/geo+json")).run()
    # another file: its source, licence and error start afresh (they were the rivers')
    assert at.text_input(key="imp_source").value == "gshhg_lakes.geojson"
    assert at.number_input(key="imp_accuracy").value == 0.0
    at.number_input(key="imp_accuracy").set_value(500.0).run()
    at.checkbox(key="imp_append").check().run()
    assert "adds to water_bodies" in at.button(key="imp_add").label
    at.button(key="imp_add").click().run()
    assert not at.exception, at.exception
    info = Workspace(ws).info("water_bodies")
    assert info.rows == 55 and info.accuracy_m == 500.0
    assert info.source.startswith("gshhg_rivers.geojson [") and "; gshhg_lakes.geojson [" in info.source
    assert sorted(Workspace(ws).read("water_bodies")["kind"].unique()) == ["lake", "river"]


@needs_data
def test_provenance_page_says_what_a_flag_on_gshhg_water_is_worth(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Provenance page listed each layer's error and said, in general, that GSHHG water is good to
    hundreds of metres; it never put the two layers of a rule together against the rule's distance."""
    from streamlit.testing.v1 import AppTest

    ws = tmp_path / "ws.gpkg"
    _ghana(ws, lakes_accuracy=("--accuracy-m", "500"))
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(ws))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("ui/pages/provenance.py").run()
    assert not at.exception, at.exception
    tables = [d.value for d in at.dataframe if "what a flag is worth" in d.value.columns]
    assert tables, "no table of what each rule's flags are worth"
    worth = tables[0].set_index("rule")["what a flag is worth"]
    assert worth["HG-WATER-100"] == (
        "mining_sites ±10 m, water_bodies ±500 m; positions may be off by up to 510 m together, not small "
        "against the rule's 100 m: its flags are leads for a field visit, not proof, and sites may be missed")
    assert "HG-BURN-RESIDENTIAL" not in worth.index  # no residential areas held


@needs_data
def test_check_of_files_says_what_set_gave_and_that_the_error_is_unknown(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`check --layer FILE --set mining_sites.uses_mercury=true`: the violation file named the
    footprints file as the source of sites 'using mercury', with nothing said of the assumption."""
    out = tmp_path / "v.geojson"
    assert cli.main(["check", "--layer", f"mining_sites={GHANA / 'amw_mining_footprints_2024.geojson'}",
                     "--layer", f"water_bodies={GHANA / 'gshhg_lakes.geojson'}", "--set",
                     "mining_sites.uses_mercury=true", "--set", "water_bodies.kind=lake", "--repair",
                     "--only", "HG-WATER-100", "--out", str(out)]) == 0
    assert ("accuracy HG-WATER-100: mining_sites unknown, water_bodies unknown; the expected error of "
            "mining_sites, water_bodies is unknown") in capsys.readouterr().out
    meta = {m["layer"]: m for m in json.loads(out.read_text())["hgwatch"]["layers"]}
    assert meta["mining_sites"]["source"].endswith(
        "amw_mining_footprints_2024.geojson [not in the file, given with --set (assumed, not observed): "
        "uses_mercury=true]")
    assert meta["water_bodies"]["expected_error_m"] is None


@needs_data
def test_footprints_without_attributes_are_told_which_fields_decide_mercury_use(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The footprints carry no attributes: HG-WATER-100 checked 0 sites and said "field(s)
    ['mercury_use'] absent", a field no file can give (it is computed). The note names the fields
    that are read, and that only a survey may give them."""
    ws = tmp_path / "ws.gpkg"
    _import(ws, GHANA / "amw_mining_footprints_2024.geojson", "--layer", "mining_sites", "--repair")
    _import(ws, GHANA / "gshhg_lakes.geojson", "--layer", "water_bodies", "--set", "kind=lake")
    capsys.readouterr()
    assert cli.main(["--workspace", str(ws), "check", "--only", "HG-WATER-100", "--no-record"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"HG-WATER-100\s+critical\s+0\s+0\b", out)
    assert ("note: field 'mercury_use' is computed from uses_mercury, amalgamation or burning, and layer "
            "'mining_sites' has none of them") in out and "mercury_use, which this rule reads, is absent" not in out
