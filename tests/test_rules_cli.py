"""`cli.py check` and `cli.py diff` end to end, and the violation files they write.

The Ghana test checks the engine against an independent computation: every edge densified along
its geodesic (pyproj ``Geod.npts``), projected into an azimuthal-equidistant projection centred
on each site, and measured with shapely. Within a few km of the centre that projection distorts
distances by far less than 1 mm at 100 m (scale error ~ (r / R)^2 / 6).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import LineString, Point, Polygon

import cli
from geo.errors import InputError
from geo.rules import run_rules
from layers.catalogue import CATALOGUE
from layers.io.violations import LINE_LAYER, write_violations
from layers.store.workspace import Workspace
from settings.rules import load_rules

ROOT = Path(__file__).resolve().parent.parent
GHANA = ROOT.parent / "shared" / "data" / "ghana"
GEOD = Geod(ellps="WGS84")


def _east(lon: float, lat: float, metres: float) -> Point:
    return Point(*GEOD.fwd(lon, lat, 90.0, metres)[:2])


def _layers(shift_m: float = 0.0) -> dict[str, gpd.GeoDataFrame]:
    """A small complete world near Tarkwa: three sites, a river, a village, two tailings."""
    river = LineString([(-2.0, 5.2), (-2.0, 5.4)])
    sites = gpd.GeoDataFrame({
        "site_id": ["S1", "S2", "=S3"], "name": ["Alpha", "Beta", "Gamma"],
        "uses_mercury": [True, True, False], "amalgamation": ["whole_ore", "concentrate", "none"],
        "burning": ["open", "retort", "none"], "cyanide_leaching": [False, True, False]},
        geometry=[_east(-2.0, 5.3, 40.0 + shift_m), _east(-2.0, 5.31, 400.0),
                  _east(-2.0, 5.32, 10.0)], crs="EPSG:4326")
    water = gpd.GeoDataFrame({"water_id": ["W1"], "name": ["Ankobra"], "kind": ["river"],
                              "width_m": [20.0]}, geometry=[river], crs="EPSG:4326")
    areas = gpd.GeoDataFrame({"area_id": ["V1"], "name": ["Nsuta"], "population": [900]},
                             geometry=[_east(-2.0, 5.3, 300.0)], crs="EPSG:4326")
    pit = _east(-2.0, 5.35, 60.0)
    tailings = gpd.GeoDataFrame({"tailings_id": ["T1", "T2"], "site_id": ["S1", "S2"]},
                                geometry=[pit.buffer(1e-4), _east(-2.0, 5.35, 500.0)],
                                crs="EPSG:4326")
    return {"mining_sites": sites, "water_bodies": water, "residential_areas": areas,
            "tailings": tailings}


@pytest.fixture
def violations() -> gpd.GeoDataFrame:
    return run_rules(load_rules(), _layers(), schemas=CATALOGUE, missing="skip").violations


def test_violations_cover_every_rule_on_a_small_world(violations) -> None:
    got = set(zip(violations["rule_id"], violations["subject_id"], strict=True))
    assert got == {("HG-WATER-100", "S1"), ("TAILINGS-WATER-100", "T1"),
                   ("HG-BURN-RESIDENTIAL", "S1"), ("WORST-PRACTICE-WHOLE-ORE", "S1"),
                   ("WORST-PRACTICE-OPEN-BURNING", "S1"), ("WORST-PRACTICE-CYANIDE-ON-HG", "S2")}
    row = violations.set_index("rule_id").loc["HG-WATER-100"]
    assert row.distance_m == 30.0 and row.nearest_name == "Ankobra"
    assert row.distance_basis.startswith("bank")
    assert violations.set_index("rule_id").loc["TAILINGS-WATER-100"].tailings_id == "T1"


def test_geojson_is_rfc7946_with_the_line_as_a_property(violations, tmp_path) -> None:
    out = write_violations(violations, tmp_path / "v.geojson")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert "crs" not in doc and len(doc["features"]) == len(violations)
    decimals = re.findall(r"-?\d+\.(\d+)", json.dumps([f["geometry"] for f in doc["features"]]))
    assert decimals and max(len(d) for d in decimals) <= 7
    props = {f["properties"]["rule_id"]: f["properties"] for f in doc["features"]}
    line = shapely.from_wkt(props["HG-WATER-100"]["nearest_line"])
    assert line.geom_type == "LineString" and props["WORST-PRACTICE-WHOLE-ORE"]["nearest_line"] \
        is None
    assert props["HG-WATER-100"]["distance_m"] == 30.0


def test_gpkg_holds_two_layers_and_csv_holds_wkt(violations, tmp_path) -> None:
    gpkg = write_violations(violations, tmp_path / "v.gpkg")
    names = list(pyogrio.list_layers(gpkg)[:, 0])
    assert names == ["violations", LINE_LAYER, "hgw_export"]  # the export table: profile, sources
    lines = pyogrio.read_dataframe(gpkg, layer=LINE_LAYER)
    assert len(pyogrio.read_dataframe(gpkg, layer="violations")) == len(violations)
    assert len(lines) == violations["nearest_line"].notna().sum()
    assert set(lines.geom_type) == {"LineString"}
    csv = pd.read_csv(write_violations(violations, tmp_path / "v.csv"))
    assert len(csv) == len(violations)
    assert all(shapely.from_wkt(w) is not None for w in csv["geometry"])
    with pytest.raises(InputError, match="expected one of"):
        write_violations(violations, tmp_path / "v.shp")


def test_csv_defuses_spreadsheet_formulas(tmp_path) -> None:
    layers = _layers()
    layers["mining_sites"]["amalgamation"] = "whole_ore"
    found = run_rules(load_rules(), layers, schemas=CATALOGUE,
                      only=["WORST-PRACTICE-WHOLE-ORE"]).violations
    csv = pd.read_csv(write_violations(found, tmp_path / "v.csv"))
    assert "'=S3" in set(csv["site_id"]) and "=S3" not in set(csv["site_id"])


def _workspace(path: Path, shift_m: float = 0.0) -> Workspace:
    ws = Workspace(path)
    for layer, frame in _layers(shift_m).items():
        ws.write_layer(layer, frame, source="test (synthetic)", synthetic=True)
    return ws


def test_check_and_diff_on_the_workspace(tmp_path, capsys) -> None:
    ws_path = tmp_path / "ws.gpkg"
    ws = _workspace(ws_path)
    base = ["--workspace", str(ws_path)]
    assert cli.main(base + ["check", "--out", str(tmp_path / "a.geojson")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"HG-WATER-100\s+critical\s+2\s+1", out)
    assert "recorded as run 1" in out and "(distance is an assumption)" in out
    assert cli.main(base + ["check"]) == 0
    assert cli.main(base + ["diff"]) == 0
    out = capsys.readouterr().out
    assert "total: 0 new, 0 resolved, 6 persisting, 0 not checked" in out
    _workspace(ws_path, shift_m=200.0)  # site S1 moved 200 m from the river
    assert cli.main(base + ["check", "--only", "HG-WATER-100"]) == 0
    assert cli.main(base + ["diff"]) == 0
    out = capsys.readouterr().out
    assert "total: 0 new, 1 resolved, 0 persisting, 5 not checked" in out
    assert "layers changed: mining_sites" in out
    runs = ws.runs(limit=1)[0]
    assert runs["counts"] == {"HG-WATER-100": 0} and len(str(runs["rules_hash"])) == 64


def test_diff_after_a_run_of_some_rules_names_only_the_layers_that_changed(tmp_path, capsys) -> None:
    """A run of one rule reads only its layers. diff said every layer the other run read had
    "changed" (its hash was missing on one side); it now compares the layers both runs read and
    names the others apart."""
    ws_path = tmp_path / "ws.gpkg"
    _workspace(ws_path)
    base = ["--workspace", str(ws_path)]
    assert cli.main(base + ["check"]) == 0
    assert cli.main(base + ["check", "--only", "HG-WATER-100"]) == 0  # nothing changed in between
    capsys.readouterr()
    assert cli.main(base + ["diff"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "  layers changed: none" in lines
    assert "  layers read by one run only (not compared): residential_areas, tailings" in lines


def test_refusals_exit_2_with_a_reason_and_no_traceback(tmp_path, capsys) -> None:
    ws_path = tmp_path / "ws.gpkg"
    Workspace(ws_path).write_layer("mining_sites", _layers()["mining_sites"], source="t")
    bad = tmp_path / "bad.toml"
    bad.write_text("format = 1\ntitle = 'x'\n[[rules]]\nid = 'A'\nversio = 1\n", encoding="utf-8")
    cases = [
        (["check", "--rules", str(bad)], "key 'versio': unknown key"),
        (["check", "--only", "HG-WATER-100"], "needs layer 'water_bodies'"),
        (["check", "--only", "NO-SUCH-RULE"], "no rule 'NO-SUCH-RULE'"),
        (["check", "--layer", "rivers=x.geojson"], "expected LAYER=PATH"),
        (["diff"], "holds 0 recorded runs"),
    ]
    for args, needle in cases:
        assert cli.main(["--workspace", str(ws_path)] + args) == 2
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err
    assert cli.main(["--workspace", str(ws_path), "check"]) == 0
    assert ("not run: layer water_bodies not given; import it into the workspace, or give it with "
            "check --layer water_bodies=FILE") in capsys.readouterr().out


def _densified(geom: shapely.Geometry, step_m: float = 25.0) -> shapely.Geometry:
    """The geometry with points every ``step_m`` metres along each edge's geodesic."""
    def ring(coords: list) -> list:
        out = [coords[0]]
        for (x0, y0), (x1, y1) in zip(coords[:-1], coords[1:], strict=True):
            n = int(GEOD.inv(x0, y0, x1, y1)[2] // step_m)
            out += GEOD.npts(x0, y0, x1, y1, n) if n else []
            out.append((x1, y1))
        return out
    if geom.geom_type == "LineString":
        return LineString(ring(list(geom.coords))) if len(geom.coords) > 1 else geom
    if geom.geom_type == "Polygon":
        return Polygon(ring(list(geom.exterior.coords)),
                       [ring(list(i.coords)) for i in geom.interiors])
    return type(geom)([_densified(g, step_m) for g in geom.geoms])


def _truth(site: shapely.Geometry, water: list[shapely.Geometry]) -> np.ndarray:
    """Distances in metres from ``site`` to each water geometry, in a local AEQD projection."""
    c = site.centroid
    fwd = Transformer.from_crs("EPSG:4326", f"+proj=aeqd +lat_0={c.y} +lon_0={c.x} "
                               "+ellps=WGS84 +units=m", always_xy=True).transform
    local = shapely.transform(_densified(site), fwd, interleaved=False)
    return np.array([local.distance(shapely.transform(w, fwd, interleaved=False)) for w in water])


@pytest.mark.skipif(not GHANA.exists(), reason="needs ../shared/data/ghana")
def test_check_on_ghana_agrees_with_an_independent_computation(tmp_path, capsys) -> None:
    rivers, lakes = GHANA / "gshhg_rivers.geojson", GHANA / "gshhg_lakes.geojson"
    mines = GHANA / "amw_mining_footprints_2024.geojson"
    out = tmp_path / "ghana.geojson"
    code = cli.main(["check", "--layer", f"mining_sites={mines}",
                     "--layer", f"water_bodies={rivers}", "--layer", f"water_bodies={lakes}",
                     "--set", "mining_sites.uses_mercury=true", "--repair",
                     "--only", "HG-WATER-100", "--out", str(out)])
    assert code == 0
    assert re.search(r"HG-WATER-100\s+critical\s+685\s+\d+", capsys.readouterr().out)
    found = gpd.read_file(out).set_index("site_id")

    sites = shapely.make_valid(gpd.read_file(mines).geometry.to_numpy())
    water_frames = [gpd.read_file(rivers), gpd.read_file(lakes)]
    water = [g for f in water_frames for g in f.geometry]
    water_ids = [f"gshhg_{name}-{i + 1}" for name, f in zip(("rivers", "lakes"), water_frames,
                                                           strict=True) for i in range(len(f))]
    tree = shapely.STRtree(water)
    expected: dict[str, tuple[float, list[str]]] = {}
    for i, site in enumerate(sites):
        # coarse preselection in degrees with a wide margin (0.01 deg > 1 km >> 100 m)
        near = tree.query(site, predicate="dwithin", distance=0.01)
        if not len(near):
            continue
        dist = _truth(site, [water[j] for j in near])
        if dist.min() <= 100.0:
            best = [water_ids[near[k]] for k in np.flatnonzero(dist <= dist.min() + 0.01)]
            expected[f"amw_mining_footprints_2024-{i + 1}"] = (float(dist.min()), best)
    assert all(abs(d - 100.0) > 0.01 for d, _ in expected.values())  # no case on the line
    assert set(found.index) == set(expected)
    assert len(expected) > 20
    worst = 0.0
    for sid, (metres, best) in expected.items():
        worst = max(worst, abs(found.loc[sid, "distance_m"] - metres))
        # 1 cm, plus half the 0.01 m step to which distance_m is rounded
        assert abs(found.loc[sid, "distance_m"] - metres) <= 0.015, sid
        assert found.loc[sid, "nearest_id"] in best, sid
    print(f"ghana: {len(expected)} sites flagged, worst difference {worst:.4f} m"
          f" (rounded output vs independent)")


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".gpkg"])
def test_cli_and_dashboard_write_violations_in_one_layout(tmp_path, suffix) -> None:
    """``check --out`` and the dashboard's download of the same run give the same columns."""
    from services.hgwatch import HgWatch, Query

    ws_path = tmp_path / "ws.gpkg"
    _workspace(ws_path)
    out = tmp_path / f"cli{suffix}"
    assert cli.main(["--workspace", str(ws_path), "check", "--no-record", "--out", str(out)]) == 0
    ui = tmp_path / f"ui{suffix}"
    ui.write_bytes(HgWatch.from_env(workspace=ws_path).violations_file(Query(), suffix[1:], "internal"))

    def columns(path: Path) -> dict[str, list[str]]:
        if suffix == ".csv":
            return {"violations": list(pd.read_csv(path).columns)}
        if suffix == ".geojson":
            return {"violations": list(pyogrio.read_dataframe(path).columns)}
        return {name: list(pyogrio.read_dataframe(path, layer=name).columns)
                for name in pyogrio.list_layers(path)[:, 0] if name != "hgw_export"}

    assert columns(out) == columns(ui)
    got = columns(out)
    assert {"nearest_line", "distance_m", "geometry"} <= set(got["violations"])
    if suffix == ".csv":
        sources = pd.read_csv(out)["hgw_sources"].iloc[0]
        assert "water_bodies" in sources and "test (synthetic)" in sources
    if suffix == ".gpkg":
        assert set(got) == {"violations", LINE_LAYER}
