"""Mercury samples, guideline classes and surfaces as the agency's environmental scientist met them
(session 12 walk-through, hand-made samples with known answers).

- Kriging a file with one sample recorded as 0 said "field 'hg': value 0.0: values > 0" with no row
  and no sample id; it now names each such row.
- Two samples 55 km apart (5 km mask) made a surface of two flat discs, each one sample's value
  carried outwards, and printed "leave-one-out error (0 samples): RMSE nan"; the demo's fish surface
  had 16 of its 20 samples alone like that, and nothing said so. The error now says it cannot be
  estimated, and a note counts the positions with no other sample within the mask distance.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from geo.contamination import ClassSettings, Guideline, interpolate
from geo.distance import local_tmerc
from layers.store.workspace import DEFAULT_PATH, Workspace

APP = str(Path(__file__).resolve().parent.parent / "app.py")
CRS_M = local_tmerc(-2.0, 6.0)
HEADER = "sample_id,medium,hg,unit,lon,lat\n"


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_kriging_names_the_row_and_sample_recorded_as_zero(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    import cli

    rng = np.random.default_rng(3)
    rows = [f"Z{i},water,{0 if i == 3 else rng.uniform(0.5, 20):.3f},ug/L,"
            f"{-2 + rng.uniform(0, 0.2):.5f},{6 + rng.uniform(0, 0.2):.5f}" for i in range(25)]
    src = _csv(tmp_path / "z.csv", rows)
    out = tmp_path / "z.tif"
    code = cli.main(["surface", "--medium", "water", "--method", "kriging", "--out", str(out),
                     "--layer", f"samples={src}"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "z.csv, row 4, id Z3, field 'hg': value 0.0: a value above 0" in err
    assert not out.exists()


def test_samples_alone_within_the_mask_are_said_and_their_error_not_made_up(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import folium

    import cli
    from render.map import overlays as overlay_map

    src = _csv(tmp_path / "two.csv", ["S1,water,8,ug/L,-2.0,6.0", "S2,water,4,ug/L,-2.0,6.5"])
    code = cli.main(["surface", "--medium", "water", "--out", str(tmp_path / "two.tif"),
                     "--layer", f"samples={src}", "--cell-m", "500"])
    out = capsys.readouterr().out
    assert code == 0
    assert "nan" not in out
    assert "leave-one-out error: cannot be estimated, no sample has another within 5000 m" in out
    assert "2 of 2 sample positions have no other sample within 5000 m" in out

    # three samples: two 1 km apart, one 20 km away; known LOO: each of the pair predicts the other
    xy = np.array([[0.0, 0.0], [1000.0, 0.0], [20_000.0, 0.0]])
    surf = interpolate(xy, np.array([2.0, 6.0, 9.0]), crs=CRS_M, unit="ug/L", cell_m=500.0,
                       max_distance_m=5000.0)
    assert surf.cross_validation.n == 2 and surf.cross_validation.rmse == pytest.approx(4.0)
    assert surf.loo_text() == ("leave-one-out error (2 samples; 1 with no other within 5000 m not "
                               "predicted): RMSE 4 ug/L, MAE 4 ug/L")
    assert "1 of 3 sample positions have no other sample within 5000 m: around it" in "; ".join(surf.notes)
    legend = overlay_map.add_surface(
        folium.Map(), surf, medium="water",
        guideline=Guideline("water", 6.0, "ug/L", "inorganic", "guideline", "WHO"),
        settings=ClassSettings())
    assert "Leave-one-out error (2 samples; 1 with no other" in legend and "nan" not in legend


def _classed(rows: list[str], tmp_path: Path, header: str = HEADER):
    from layers.io.readers import load_layer
    from services.contamination import classed_samples
    from settings.guidelines import load_guidelines

    path = tmp_path / "s.csv"
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    guidelines, settings = load_guidelines()
    return classed_samples(load_layer(str(path), "samples").gdf, guidelines, settings, source="s.csv")


def test_a_value_recorded_as_zero_is_inconclusive_and_said(tmp_path: Path) -> None:
    """'0 ug/L' was classed "below" the 6 ug/L guideline with nothing said: no laboratory measures zero
    mercury, so it is a non-detect whose limit is not given."""
    out = _classed(["B,water,0,ug/L,-2.0,6.0", "A,water,<0.1,ug/L,-2.0,6.01",
                    "G,water,0.012,mg/L,-2.0,6.02", "O,water,2,µg/l,-2.0,6.03"], tmp_path)
    got = dict(zip(out["sample_id"], zip(out["hg_value"], out["hg_class"], out["hg_text"])))
    assert got == {"B": (0.0, "inconclusive", "0 ug/L"), "A": (0.1, "below", "<0.1 ug/L"),
                   "G": (12.0, "above", "12 ug/L"), "O": (2.0, "below", "2 ug/L")}
    assert out["basis"].iloc[0].startswith("recorded as 0, which is no measurement")
    assert "compared with an inorganic guideline" in out["basis"].iloc[1]


def test_zero_in_a_surface_is_noted(tmp_path: Path) -> None:
    from services.contamination import medium_surface
    from settings.exposure import load_exposure

    out = _classed(["B,water,0,ug/L,-2.0,6.0", "C,water,4,ug/L,-2.0,6.01"], tmp_path)
    surf = medium_surface(out, medium="water", exposure=load_exposure(), cell_m=500.0)
    assert "1 value recorded as 0 entered as 0" in "; ".join(surf.notes)


def test_fish_not_said_predatory_is_compared_with_the_lower_level_and_says_so(tmp_path: Path) -> None:
    """600 ng/g = 0.6 mg/kg: above Codex's 0.5 mg/kg for non-predatory fish, below 1 mg/kg for
    predatory. With fish_predatory empty it was compared with 0.5 and the basis did not say why."""
    out = _classed(["F1,fish,600,ng/g,-2.0,6.0,", "F2,fish,600,ng/g,-2.0,6.01,true",
                    "F3,fish,600,ng/g,-2.0,6.02,false"], tmp_path,
                   header="sample_id,medium,hg,unit,lon,lat,fish_predatory\n")
    assert out["hg_value"].tolist() == [0.6, 0.6, 0.6]
    assert out["hg_class"].tolist() == ["above", "near", "above"]
    assert out["guideline"].tolist() == [0.5, 1.0, 0.5]
    assert ("not said whether the fish is predatory, compared with the non-predatory level 0.5 mg/kg "
            "(predatory: 1 mg/kg)") in out["basis"].iloc[0]
    assert "not said whether" not in out["basis"].iloc[1] and "not said whether" not in out["basis"].iloc[2]


@pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")
def test_the_page_counts_samples_above_out_of_those_with_a_guideline(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's 180 samples: 34 above their guideline, 60 (40 sediment, 20 soil) with no guideline
    shipped. The page said "34 of 180", as if the 60 had been compared and found below."""
    from streamlit.testing.v1 import AppTest

    ws = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(ws))
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("ui/pages/overlays.py").run()
    assert not at.exception, at.exception
    metric = next(m for m in at.metric if m.label == "Samples above guideline")
    assert metric.value == "34 of 120"
    assert "60 more have no guideline set (sediment, soil)" in metric.help


def test_shipped_guidelines_are_the_domain_briefs_values_and_none_claims_to_be_law() -> None:
    """config/guidelines.toml against /work/shared/domain/README.md ("Guideline values") and the seeds
    digest's Appendix C (L650-653): value, unit, medium, citation. Codex CXS 193-1995 gives
    methylmercury "guideline levels" (GL), not law, yet the file called them kind "standard" (law),
    which the page's guideline table showed."""
    from settings.guidelines import load_guidelines

    guidelines, classes = load_guidelines()
    got = {m: (g.value, g.predatory_value, g.upper_value, g.unit, g.species, g.kind)
           for m, g in guidelines.items()}
    assert got == {"water": (6.0, None, None, "ug/L", "inorganic", "guideline"),
                   "fish": (0.5, 1.0, None, "mg/kg", "methyl", "guideline"),
                   "air": (1.0, None, None, "ug/m^3", "inorganic", "guideline"),
                   "hair": (1.0, None, 2.0, "ug/g", "total", "guideline"),
                   "sediment": (None, None, None, "mg/kg", "total", "setting"),
                   "soil": (None, None, None, "mg/kg", "total", "setting")}
    assert "0.006 mg/L" in guidelines["water"].citation and "CXS 193-1995" in guidelines["fish"].citation
    assert "2000" in guidelines["air"].citation and "annual mean" in guidelines["air"].citation
    assert (classes.near_fraction, classes.several_times) == (0.5, 5.0)


@pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")
def test_a_site_id_on_the_page_is_text_not_markdown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The people-downstream sentence wrote the chosen site id into st.write (Markdown): a site id
    '[x](http://e.example/t.png)' became a link (an image would be fetched from outside)."""
    from streamlit.testing.v1 import AppTest

    import cli

    evil = "![x](http://e.example/t.png)"
    ws = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    site = tmp_path / "site.csv"  # where demo site DEMO-S004 lies, 100 m from a river, using mercury
    site.write_text("site_id,name,status,uses_mercury,amalgamation,burning,lon,lat\n"
                    f"{evil},Evil,active,true,whole_ore,open,-1.2008057,6.1313193\n", encoding="utf-8")
    assert cli.main(["--workspace", str(ws), "import", str(site), "--layer", "mining_sites", "--append"]) == 0
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(ws))
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("ui/pages/overlays.py").run()
    at.selectbox(key="ov_source").set_value(evil).run()
    assert not at.exception, at.exception
    said = next(m.value for m in at.markdown if "within" in m.value and "settlement" in m.value)
    assert evil not in said and said.endswith(r"downstream of \!\[x\]\(http\://e\.example/t\.png\).")


def test_the_pressure_legend_gives_the_estimate_as_a_range_with_its_source() -> None:
    """The pressure legend gave only the central estimate's peak ("0 to X kg Hg/yr per km²"); every
    estimate is a range with its source. Two sites using 1/2/4 and 3/5/8 kg a year (low/central/high)
    spread 4-12 kg a year in all (the kernel keeps each site's mass on the grid)."""
    import folium

    from geo.exposure import pressure_surface
    from render.map import overlays as overlay_map

    p = pressure_surface(np.array([[0.0, 0.0], [3000.0, 0.0]]), np.array([1.0, 3.0]),
                         np.array([2.0, 5.0]), np.array([4.0, 8.0]), crs=CRS_M,
                         kernel_width_m=1000.0, cell_m=100.0)
    legend = overlay_map.add_pressure(folium.Map(), p)
    assert "In all 4-12 kg Hg/yr (central 7)" in legend
    assert "low and high ends of the inventory factors (config/inventory.toml" in legend


def test_sample_circles_have_a_legend_of_their_classes() -> None:
    """The overlays page colours every sample circle by its class, but only a surface with a
    guideline drew those colours' legend: with no overlay, the pressure overlay or a sediment surface
    the circles' colours were explained nowhere."""
    import folium
    import geopandas as gpd
    from shapely.geometry import Point

    from render.map import overlays as overlay_map

    classed = gpd.GeoDataFrame({
        "sample_id": ["<b>x</b>", "B", "C"], "medium": ["water", "water", "sediment"],
        "hg_class": ["above", "above", "no_guideline"], "hg_text": ["7 ug/L", "9 ug/L", "1 mg/kg"],
    }, geometry=[Point(-2.0, 6.0), Point(-2.0, 6.01), Point(-2.0, 6.02)], crs=4326)
    m = folium.Map()
    legend = overlay_map.add_sample_classes(m, classed)
    assert legend is not None
    assert "above guideline (2)" in legend and "no guideline set (1)" in legend
    assert "below guideline" not in legend  # only the classes present
    html = m.get_root().render()
    assert "hgw-sample-legend" in html and "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_settlements_are_measured_from_the_bank_as_the_sites_are() -> None:
    """A 300 m wide river given as its centre line: a site 200 m from the line (50 m from the bank)
    is traced, since the entry distance is measured from the bank, but the settlement buffer was
    measured from the centre line, so a village 1,100 m from the line (950 m from the bank, inside the
    1 km buffer) was left out: 0 people downstream instead of 500."""
    import geopandas as gpd
    from shapely.geometry import LineString, Point

    from services.people import headline_people, source_people, trace_view
    from settings.exposure import load_exposure

    m_per_deg_lat = 110_574.0  # at the equator
    water = gpd.GeoDataFrame({"water_id": ["R"], "name": ["R"], "kind": ["river"], "width_m": [300.0]},
                             geometry=[LineString([(0.0, 0.0), (0.3, 0.0)])], crs=4326)
    sites = gpd.GeoDataFrame({"site_id": ["S"], "name": ["S"], "uses_mercury": [True],
                              "amalgamation": ["whole_ore"]},
                             geometry=[Point(0.05, 200 / m_per_deg_lat)], crs=4326)
    areas = gpd.GeoDataFrame({"area_id": ["V-in", "V-out"], "name": ["In", "Out"], "population": [500, 700]},
                             geometry=[Point(0.1, -1100 / m_per_deg_lat), Point(0.12, 1200 / m_per_deg_lat)],
                             crs=4326)
    frames = {"mining_sites": sites, "water_bodies": water, "residential_areas": areas}
    figure = headline_people(frames, load_exposure())
    assert (figure.people, figure.settlements, figure.sources) == (500, 1, 1)
    found = source_people(trace_view(frames, load_exposure()), "S")
    assert found.settlements["area_id"].tolist() == ["V-in"]
    assert found.settlements["distance_to_river_m"].iloc[0] == pytest.approx(950.0, abs=1.0)


def test_the_entry_distance_cites_its_source_lines() -> None:
    """The one figure of config/exposure.toml from the documents (100 m, 003) cited no line; the page
    shows the citation beside 'Sources traced'. 003 L1549-1551 (mercury work) and L1573 (tailings)."""
    from settings.exposure import load_exposure

    cfg = load_exposure().downstream
    assert cfg["entry_distance_m"] == 100.0
    assert "L1549-1551" in cfg["entry_citation"] and "L1573" in cfg["entry_citation"]
    source = next(Path("/work/shared/domain/sources").glob("003_*.txt"), None) if Path(
        "/work/shared/domain/sources").exists() else None
    if source is not None:  # the lines say what is cited
        lines = source.read_text(encoding="utf-8").splitlines()
        assert "less than 100 meters from" in lines[1548] and "100 meters away from any water body" in lines[1572]


def test_downstream_reaches_and_settlements_have_a_legend() -> None:
    """The overlays map drew the reaches as red lines and the settlements on them as purple circles
    with no legend saying what either is or how far they reach."""
    import folium
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import LineString, Point

    from render.map import overlays as overlay_map
    from services.people import trace_view
    from settings.exposure import load_exposure

    water = gpd.GeoDataFrame({"water_id": ["R"], "name": ["R"]},
                             geometry=[LineString([(0.0, 0.0), (0.3, 0.0)])], crs=4326)
    sites = gpd.GeoDataFrame({"site_id": ["S"], "name": ["S"], "uses_mercury": [True],
                              "amalgamation": ["whole_ore"]}, geometry=[Point(0.05, 0.0005)], crs=4326)
    areas = gpd.GeoDataFrame({"area_id": ["V"], "name": ["<b>V</b>"], "population": [500]},
                             geometry=[Point(0.1, -0.005)], crs=4326)
    down = trace_view({"mining_sites": sites, "water_bodies": water, "residential_areas": areas},
                      load_exposure())
    assert down is not None and len(down.reaches) == 1 and down.people["area_id"].tolist() == ["V"]
    m = folium.Map()
    legend = overlay_map.add_reaches(m, down.reaches, down.people, reach_m=20_000.0,
                                     areas=dict(zip(areas["area_id"], areas.geometry)), buffer_m=1000.0)
    assert legend is not None
    assert "20 km downstream of 1 mercury source<br>" in legend and "(assumed distances)" in legend
    assert "settlement within 1,000 m of the bank" in legend
    html = m.get_root().render()
    assert "hgw-reach-legend" in html and "&lt;b&gt;V&lt;/b&gt;: 500 people" in html
    assert overlay_map.add_reaches(folium.Map(), [], pd.DataFrame(columns=down.people.columns),
                                   reach_m=20_000.0) is None


def test_a_fish_surface_legend_says_which_codex_level_its_colours_use() -> None:
    """A fish surface is coloured against 0.5 mg/kg (non-predatory fish) while predatory fish samples
    are classed against 1 mg/kg; the legend named only 0.5 mg/kg."""
    import folium

    from render.map import overlays as overlay_map
    from settings.guidelines import load_guidelines

    guidelines, settings = load_guidelines()
    surf = interpolate(np.array([[0.0, 0.0], [1000.0, 0.0]]), np.array([0.3, 0.9]), crs=CRS_M,
                       unit="mg/kg", cell_m=250.0, max_distance_m=2000.0)
    legend = overlay_map.add_surface(folium.Map(), surf, medium="fish", guideline=guidelines["fish"],
                                     settings=settings)
    assert "Guideline 0.5 mg/kg" in legend
    assert "Predatory fish: 1 mg/kg; the colours use the 0.5 mg/kg of other fish" in legend



@pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")
def test_one_unusable_unit_leaves_out_its_row_not_every_sample(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A sample with unit 'bananas' stored (as in a workspace written before imports checked units
    against the medium, which they do since H2W's b8eb51f), after which the overlays page classed no sample
    at all: no circles, no figure, no surface, for
    the demo's 180 good samples. The README says a unit is refused row by row: the row is now left
    out and named, the others classed and interpolated."""
    from streamlit.testing.v1 import AppTest

    import cli

    ws = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    extra = _csv(tmp_path / "more.csv", ["BAD-1,water,3,ug/L,-2.0,6.0", "GOOD-1,water,9,ug/L,-2.0,6.01"])
    assert cli.main(["--workspace", str(ws), "import", str(extra), "--layer", "samples", "--append"]) == 0
    store = Workspace(ws)  # the import now refuses 'bananas': a row stored before it checked units
    stored = store.read("samples")
    stored.loc[stored["sample_id"] == "BAD-1", "unit"] = "bananas"
    store.write_layer("samples", stored, source="demo samples; BAD-1's unit edited to bananas")
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(ws))
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("ui/pages/overlays.py").run()
    assert not at.exception, at.exception
    said = "1 sample left out of the classes, the figures and the surfaces below: a unit or medium that cannot be used"
    assert any(e.value.startswith(said) for e in at.error)
    assert any("id BAD-1, field 'unit': value 'bananas'" in c.value for c in at.code)
    metric = next(m for m in at.metric if m.label == "Samples above guideline")
    assert metric.value == "35 of 121" and "Left out besides, their unit or medium cannot be used: 1 sample." in metric.help
    assert any(c.value.startswith("IDW surface of 81 sample positions") for c in at.caption)


def test_the_overlay_legends_sit_under_the_layer_switcher() -> None:
    """Three legends stacked bottom right (the map's, the samples', the reaches') grew up over the
    layer switcher on a 600 px map (screenshot, demo, 1366x768). The two overlay legends now sit top
    right after the switcher, whose script still runs after every layer it lists."""
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point

    from render.map import mapview
    from render.map import overlays as overlay_map

    classed = gpd.GeoDataFrame({"sample_id": ["A"], "medium": ["water"], "hg_class": ["above"],
                                "hg_text": ["7 ug/L"]}, geometry=[Point(-2.0, 6.0)], crs=4326)
    m = mapview.build_map({"samples": gpd.GeoDataFrame(geometry=[Point(-2.0, 6.0)], crs=4326)})
    overlay_map.add_sample_classes(m, classed)
    overlay_map.add_reaches(m, [], pd.DataFrame(columns=["source_id", "area_id", "name", "population",
                                                         "along_river_m"]), reach_m=20_000.0)
    html = m.get_root().render()
    switcher = html.index("L.control.layers(")
    assert html.index("L.circleMarker(") < switcher < html.index("hgw-sample-legend")
    assert '"topright"' in html[switcher:]
