"""``check`` with the subject file read in chunks (``services.chunked_check``) equals the whole-file
run: the same violations (rows, order, ids, distances, nearest ids), summaries, warnings, written
file and refusals, on hand-made layers with known answers and on Hypothesis-drawn points and lines.
Rules that cannot be checked in chunks are refused by name when chunks are asked for."""
from __future__ import annotations

import math
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon

from commands.rules import register
from geo.errors import ConfigError, InputError
from layers.io.violations import write_violations
from services.checks import CheckOutcome, check
from settings import Settings

A_M = 6_378_137.0  # WGS84 semi-major axis, metres: on the equator 1 degree of longitude is a * pi / 180
RULES = ["HG-WATER-100", "WORST-PRACTICE-WHOLE-ORE", "SITE-IN-PROHIBITED-ZONE"]
OFFSETS = (0.0, 0.0002, 0.0005, 0.00085, 0.002)  # degrees east of a meridian river


def _sites() -> tuple[gpd.GeoDataFrame, dict[str, float]]:
    """Sites east of rivers at lon -0.3, 0 and 0.2 on the equator, and the known distance of every
    site flagged by HG-WATER-100 (an arc of the equator); two active sites inside a zone at lon 1."""
    rows, known = [], {}
    for r, lon in enumerate((-0.3, 0.0, 0.2)):
        for k, dlon in enumerate(OFFSETS):
            sid = f"S{r}-{k}"
            rows.append({"site_id": sid, "uses_mercury": k != 1, "status": "active" if k == 4 else "inactive",
                         "amalgamation": "whole_ore" if (r + k) % 3 == 0 else None if k == 1 else "concentrate",
                         "geometry": Point(lon + dlon, 0.0)})
            if (k != 1 or (r + k) % 3 == 0) and dlon < 0.0009:  # whole ore uses mercury
                known[sid] = A_M * math.radians(dlon)
    rows.append({"site_id": "LAKE", "uses_mercury": True, "status": "active", "amalgamation": "concentrate",
                 "geometry": Point(0.405, 0.0)})
    known["LAKE"] = 0.0
    for k, lat in enumerate((0.0, 0.005)):
        rows.append({"site_id": f"Z{k}", "uses_mercury": False, "status": "active", "amalgamation": None,
                     "geometry": Point(1.0, lat)})
    return gpd.GeoDataFrame(rows, crs="EPSG:4326"), known


def _others(folder: Path) -> list[tuple[str, str]]:
    rivers = [{"water_id": f"W{r}", "kind": "river", "geometry": LineString([(lon, -0.01), (lon, 0.01)])}
              for r, lon in enumerate((-0.3, 0.0, 0.2))]
    rivers.append({"water_id": "L", "kind": "lake",
                   "geometry": Polygon([(0.4, -0.01), (0.41, -0.01), (0.41, 0.01), (0.4, 0.01)])})
    zone = {"zone_id": "PA", "prohibits_mining": True, "legal_source": "Law <1>",
            "geometry": Polygon([(0.99, -0.01), (1.01, -0.01), (1.01, 0.01), (0.99, 0.01)])}
    gpd.GeoDataFrame(rivers, crs="EPSG:4326").to_file(folder / "water.geojson")
    gpd.GeoDataFrame([zone], crs="EPSG:4326").to_file(folder / "zones.geojson")
    return [("water_bodies", str(folder / "water.geojson")), ("zones", str(folder / "zones.geojson"))]


def _write(sites: gpd.GeoDataFrame, path: Path) -> str:
    if path.suffix == ".parquet":
        sites.to_parquet(path)
    else:
        sites.to_file(path)
    return str(path)


def _run(folder: Path, files: list[tuple[str, str]], rows: int | None, only: list[str] | None = RULES,
         threads: int = 1) -> CheckOutcome:
    settings_ = Settings(workspace=folder / "none.gpkg", threads_value=str(threads))
    return check(settings_, only=only, files=files, record=False, chunk_rows=rows)


def _assert_same(whole: CheckOutcome, chunked: CheckOutcome, folder: Path) -> None:
    pd.testing.assert_frame_equal(chunked.evaluation.violations, whole.evaluation.violations, check_exact=True)
    assert chunked.evaluation.summaries == whole.evaluation.summaries
    assert [repr(p) for p in chunked.warnings] == [repr(p) for p in whole.warnings]
    assert (chunked.sources, chunked.input_hashes, chunked.provenance) == (
        whole.sources, whole.input_hashes, whole.provenance)
    written = [write_violations(o.evaluation.violations, folder / f"{name}.csv", provenance=o.provenance)
               for name, o in (("whole", whole), ("chunked", chunked))]
    assert written[0].read_bytes() == written[1].read_bytes()


@pytest.mark.parametrize("suffix", [".geojson", ".parquet", ".gpkg"])
def test_a_chunked_check_equals_the_whole_file_check(tmp_path: Path, suffix: str) -> None:
    sites, known = _sites()
    files = [("mining_sites", _write(sites, tmp_path / f"mining_sites{suffix}")), *_others(tmp_path)]
    whole = _run(tmp_path, files, 0)
    v = whole.evaluation.violations
    water = v[v["rule_id"] == "HG-WATER-100"]
    assert dict(zip(water["site_id"], water["distance_m"], strict=True)) == pytest.approx(
        {sid: round(m, 2) for sid, m in known.items()}, abs=1e-9)
    assert list(water["nearest_id"]) == ["W0", "W0", "W0", "W1", "W1", "W1", "W2", "W2", "W2", "W2", "L"]
    assert list(v.loc[v["rule_id"] == "WORST-PRACTICE-WHOLE-ORE", "site_id"]) == ["S0-0", "S0-3", "S1-2", "S2-1", "S2-4"]
    zone = v[v["rule_id"] == "SITE-IN-PROHIBITED-ZONE"]
    assert list(zone["site_id"]) == ["Z0", "Z1"] and set(zone["nearest_source"]) == {"Law <1>"}
    assert [s.checked for s in whole.evaluation.summaries] == [14, 5, 6]  # mercury users, whole ore, active
    for rows in (1, 2, 7, 100):
        _assert_same(whole, _run(tmp_path, files, rows, threads=2), tmp_path)


def test_the_subject_file_anywhere_among_the_files_gives_warnings_in_file_order(tmp_path: Path) -> None:
    sites, _ = _sites()
    path = _write(sites.drop(columns="site_id"), tmp_path / "mining_sites.geojson")  # ids generated: a warning
    others = _others(tmp_path)
    files = [others[0], ("mining_sites", path), others[1]]
    whole = _run(tmp_path, files, 0)
    assert [p.kind for p in whole.warnings] == ["generated"]
    assert "mining_sites-1" in set(whole.evaluation.violations["site_id"])
    _assert_same(whole, _run(tmp_path, files, 3), tmp_path)


def test_an_error_in_a_late_chunk_is_refused_as_the_whole_file_is(tmp_path: Path) -> None:
    sites, _ = _sites()
    sites.loc[14, "amalgamation"] = "wholeore"  # not an allowed value, in the last chunk of 4
    sites.loc[16, "site_id"] = "S0-1"  # a repeat of an id of the first chunk
    files = [("mining_sites", _write(sites, tmp_path / "mining_sites.parquet")), *_others(tmp_path)]
    refusals = []
    for rows in (0, 4, 1):
        with pytest.raises(InputError) as err:
            _run(tmp_path, files, rows)
        refusals.append((str(err.value), [repr(p) for p in err.value.problems]))
    assert refusals[0][0].startswith("mining_sites.parquet: 2 problems; the file was not used\n")
    assert any("duplicate id: already used by record 2" in p for p in refusals[0][1])
    assert refusals[1] == refusals[0] and refusals[2] == refusals[0]


def test_the_subject_file_errors_come_before_a_later_file_s_errors(tmp_path: Path) -> None:
    sites, _ = _sites()
    sites.loc[15, "amalgamation"] = "wholeore"
    water = gpd.GeoDataFrame([{"water_id": "W", "kind": "sea", "geometry": LineString([(0, 0), (0, 1)])}], crs=4326)
    water.to_file(tmp_path / "water.geojson")
    files = [("mining_sites", _write(sites, tmp_path / "mining_sites.geojson")),
             ("water_bodies", str(tmp_path / "water.geojson"))]
    messages = []
    for rows in (0, 5):
        with pytest.raises(InputError) as err:
            _run(tmp_path, files, rows, only=["HG-WATER-100"])
        messages.append(str(err.value))
    assert messages[0].startswith("mining_sites.geojson: 1 problem; the file was not used\n")
    assert messages[1] == messages[0]


def test_a_missing_layer_is_refused_after_the_file_is_read_in_chunks(tmp_path: Path) -> None:
    sites, _ = _sites()
    files = [("mining_sites", _write(sites, tmp_path / "mining_sites.parquet"))]
    refusals = []
    for rows in (0, 3):
        with pytest.raises(InputError) as err:
            _run(tmp_path, files, rows, only=["HG-WATER-100"])
        refusals.append([repr(p) for p in err.value.problems])
    assert refusals[0] == refusals[1] and "needs layer 'water_bodies'" in refusals[0][0]


def test_rules_that_need_whole_layers_are_refused_by_name_when_chunks_are_asked(tmp_path: Path) -> None:
    sites, _ = _sites()
    files = [("mining_sites", _write(sites, tmp_path / "mining_sites.parquet")), *_others(tmp_path)]
    cases = {
        ("HG-WATER-100", "TAILINGS-WATER-100"): "the rules HG-WATER-100 and TAILINGS-WATER-100 check several subject "
                                                "layers (mining_sites and tailings)",  # in words, not a Python list
        ("SITE-OUTSIDE-LICENCE",): "rule SITE-OUTSIDE-LICENCE is a 'not_covered' rule",
    }
    for only, why in cases.items():
        with pytest.raises(InputError) as err:
            _run(tmp_path, files, 5, only=list(only))
        assert str(err.value).startswith("--chunk-rows 5: cannot check in chunks: ") and why in str(err.value)
    with pytest.raises(InputError, match="is given in 2 files; chunks are read from one file"):
        _run(tmp_path, [*files, files[0]], 5, only=["HG-WATER-100"])
    with pytest.raises(InputError, match="a run on the workspace reads its layers whole"):
        _run(tmp_path, [], 5, only=["HG-WATER-100"])
    with pytest.raises(InputError, match="expected a number of records >= 1, or 0"):
        _run(tmp_path, files, -1)
    # without --chunk-rows a small file, or rules that need whole layers, are read whole
    _assert_same(_run(tmp_path, files, 0, only=None), _run(tmp_path, files, None, only=None), tmp_path)


def test_check_help_says_when_chunks_are_automatic() -> None:
    import argparse
    sub = argparse.ArgumentParser().add_subparsers()
    register(sub)
    text = " ".join(sub.choices["check"].format_help().split())
    assert "--chunk-rows N" in text and "chunks of 250,000" in text and "more than 2,000,000 records" in text


@settings(max_examples=20, deadline=None)
@given(points=st.lists(st.tuples(st.integers(-300, 300), st.integers(-300, 300), st.booleans()),
                       min_size=1, max_size=25),
       lines=st.lists(st.tuples(st.integers(-300, 300), st.integers(-300, 300), st.integers(-300, 300),
                                st.integers(-300, 300)).filter(lambda t: (t[0], t[1]) != (t[2] + 1, t[3])),
                      min_size=1, max_size=6),  # never a line of zero length (an error in both runs)
       rows=st.integers(1, 30))
def test_any_points_lines_and_chunk_size_give_the_whole_file_result(
        points: list[tuple[int, int, bool]], lines: list[tuple[int, int, int, int]], rows: int) -> None:
    """Coordinates on a 1e-5 degree grid (about 1.1 m) near (0, 0), so many sites fall within 100 m."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        sites = gpd.GeoDataFrame({"site_id": [f"S{k}" for k in range(len(points))],
                                  "uses_mercury": [p[2] for p in points]},
                                 geometry=[Point(x * 1e-5, y * 1e-5) for x, y, _ in points], crs=4326)
        water = gpd.GeoDataFrame({"water_id": [f"W{k}" for k in range(len(lines))], "kind": "river"},
                                 geometry=[LineString([(a * 1e-5, b * 1e-5), (c * 1e-5 + 1e-5, d * 1e-5)])
                                           for a, b, c, d in lines], crs=4326)
        sites.to_parquet(folder / "mining_sites.parquet")
        water.to_parquet(folder / "water.parquet")
        files = [("mining_sites", str(folder / "mining_sites.parquet")), ("water_bodies", str(folder / "water.parquet"))]
        whole = _run(folder, files, 0, only=["HG-WATER-100"])
        _assert_same(whole, _run(folder, files, rows, only=["HG-WATER-100"]), folder)


def test_a_bad_thread_setting_comes_after_the_file_s_errors_as_in_a_whole_run(tmp_path: Path) -> None:
    sites, _ = _sites()
    files = [("mining_sites", _write(sites, tmp_path / "mining_sites.parquet")), *_others(tmp_path)]
    bad = Settings(workspace=tmp_path / "none.gpkg", threads_value="two")
    for rows in (0, 4):
        with pytest.raises(ConfigError, match="HGWATCH_THREADS is 'two'"):
            check(bad, only=RULES, files=files, record=False, chunk_rows=rows)
    sites.loc[3, "amalgamation"] = "wholeore"
    _write(sites, tmp_path / "mining_sites.parquet")
    for rows in (0, 4):
        with pytest.raises(InputError, match="mining_sites.parquet: 1 problem"):
            check(bad, only=RULES, files=files, record=False, chunk_rows=rows)


def test_the_check_command_prints_and_writes_the_same_in_chunks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cli

    sites, _ = _sites()
    files = [("mining_sites", _write(sites.drop(columns="site_id"), tmp_path / "mining_sites.parquet")),
             *_others(tmp_path)]
    base = ["--workspace", str(tmp_path / "none.gpkg"), "check", "--no-record",
            *[f"--layer={lay}={path}" for lay, path in files], *[f"--only={r}" for r in RULES]]
    printed = []
    for rows, out in (("0", "whole.gpkg"), ("4", "chunked.gpkg")):
        assert cli.main([*base, "--chunk-rows", rows, "--out", str(tmp_path / out)]) == 0
        got = capsys.readouterr()
        printed.append((got.out.replace(out, "OUT"), got.err))
    assert printed[0] == printed[1] and "18 violations in 3 rules" in printed[0][0]
    assert "ids were generated as 'mining_sites-<row>'" in printed[0][1]
    layers = [gpd.read_file(tmp_path / out, layer="violations") for out in ("whole.gpkg", "chunked.gpkg")]
    pd.testing.assert_frame_equal(layers[0], layers[1], check_exact=True)
    assert cli.main([*base, "--chunk-rows", "4", "--only", "SITE-OUTSIDE-LICENCE"]) == 2
    assert "cannot check in chunks: rule SITE-OUTSIDE-LICENCE is a 'not_covered' rule" in capsys.readouterr().err


def test_an_empty_subject_file_and_a_geopackage_of_several_layers(tmp_path: Path) -> None:
    sites, _ = _sites()
    empty = _write(sites.iloc[:0], tmp_path / "mining_sites.geojson")
    files = [("mining_sites", empty), *_others(tmp_path)]
    whole = _run(tmp_path, files, 0)
    assert whole.evaluation.summaries[0].notes == ("layer 'mining_sites' is empty: nothing to check",)
    _assert_same(whole, _run(tmp_path, files, 2), tmp_path)
    both = tmp_path / "both.gpkg"
    sites.iloc[:3].to_file(both, layer="tailings")
    sites.to_file(both, layer="mining_sites")
    files = [("mining_sites", str(both)), *_others(tmp_path)]
    assert len(_run(tmp_path, files, 0).evaluation.violations) == 18
    with pytest.raises(InputError, match="both.gpkg holds 2 layers; chunks are read from a GeoPackage of one layer"):
        _run(tmp_path, files, 2)


def test_chunks_are_automatic_above_a_number_of_geoparquet_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from services import chunked_check, imports

    monkeypatch.setattr(imports, "AUTO_CHUNK_ABOVE", 10)  # instead of 2e6: this file has 19 records
    monkeypatch.setattr(chunked_check, "CHUNK_ROWS", 4)
    sites, _ = _sites()
    others = _others(tmp_path)
    rules = [Settings().rules.rule(r) for r in RULES]
    big = [("mining_sites", _write(sites, tmp_path / "mining_sites.parquet")), *others]
    small = [("mining_sites", _write(sites.iloc[:10], tmp_path / "small.parquet")), *others]
    geojson = [("mining_sites", _write(sites, tmp_path / "mining_sites.geojson")), *others]
    assert chunked_check.chunk_rows(rules, big, None) == 4
    assert chunked_check.chunk_rows(rules, small, None) == 0 and chunked_check.chunk_rows(rules, geojson, None) == 0
    assert chunked_check.chunk_rows([*rules, Settings().rules.rule("TAILINGS-WATER-100")], big, None) == 0
    assert chunked_check.chunk_rows(rules, big, 0) == 0 and chunked_check.chunk_rows(rules, big, 7) == 7
    _assert_same(_run(tmp_path, big, 0), _run(tmp_path, big, None), tmp_path)
