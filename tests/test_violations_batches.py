"""A violation CSV is written a batch of rows at a time (``layers.io.export.CSV_ROWS``): the
geometry's WKT made per batch, the ``hgw_profile`` / ``hgw_sources`` text (the same on every row,
1.6 kB with 7 layers: 426 MB of a 637 MB file of 258,638 violations) never built as a column.

The bytes are those of the whole frame written at once (the writer before the batches built every
column whole, then wrote it): checked against pandas' ``to_csv`` of that frame, for sizes below,
at and across the batch size, under the partner and internal profiles, and a failed write still
leaves the previous file as it was.
"""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely

from geo.errors import InputError
from layers.io import csvfile, export, grid
from layers.io.violations import VIOLATION_SPEC, _split, write_violations

PROV = [export.Provenance(f"layer{k}", f'=HYPERLINK("x{k}"), survey "{k}"', "CC-BY-4.0", accuracy_m=30.0,
                          accuracy_note="Sentinel-2, ±10 m") for k in range(7)]


def _violations(n: int) -> gpd.GeoDataFrame:
    """``n`` violations: polygons (one missing), nearest lines, formula and quoted text, floats."""
    rng = np.random.default_rng(n)
    x, y = rng.uniform(-60, -50, n), rng.uniform(-10, 0, n)
    polys = [shapely.box(a, b, a + 0.0012345678, b + 0.001) for a, b in zip(x, y, strict=True)]
    if n > 1:
        polys[1] = None
    lines = [shapely.LineString([(a, b), (a + 0.001, b - 0.002)]) for a, b in zip(x, y, strict=True)]
    return gpd.GeoDataFrame({
        "violation_id": [f"V-{i}" for i in range(n)], "rule_id": "HG-WATER-100", "severity": "high",
        "title": "Mercury, within 100 m", "subject_layer": "mining_sites",
        "subject_id": [f"=cmd|{i}" if i % 3 == 0 else f'AMW "{i}"' for i in range(n)],
        "distance_m": np.round(rng.uniform(0, 100, n), 2), "threshold_m": 100.0,
        "area_m2": rng.uniform(0, 1e5, n), "assumption": [bool(i % 2) for i in range(n)],
        "secret_note": "internal only",
        "nearest_line": gpd.GeoSeries(lines, crs="EPSG:4326"),
    }, geometry=polys, crs="EPSG:4326")


def _expected(violations: gpd.GeoDataFrame, profile: str) -> bytes:
    """The CSV as the whole-frame writer made it: every column built, then pandas' ``to_csv``."""
    frame, _ = _split(violations, lines_too=False, arrow_text=True)
    out = export._prepare(export.apply_profile(frame, VIOLATION_SPEC, profile), on_grid=False)
    meta = export.metadata(profile, PROV)
    df = pd.DataFrame(out.drop(columns=out.geometry.name))
    df["geometry"] = pd.array(grid.grid_wkt(out.geometry.to_numpy(), flat=True), dtype="str")
    df["hgw_profile"] = profile
    df["hgw_sources"] = json.dumps(meta["layers"], ensure_ascii=False)
    return csvfile._pandas_table(df, None).encode("utf-8")


@pytest.mark.parametrize("profile", ["partner", "internal"])
@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_a_batched_violation_csv_has_the_bytes_of_the_whole_frame(
        n: int, profile: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "CSV_ROWS", 3)  # 7 rows: three batches, the last of one row
    violations = _violations(n)
    path = write_violations(violations, tmp_path / "v.csv", profile=profile, provenance=PROV)
    data = path.read_bytes()
    assert data == _expected(violations, profile)
    assert data.count(b"\r\n") == n + 1
    assert (b"secret_note" in data) == (profile == "internal")


def test_the_repeated_text_is_never_built_and_the_wkt_is_made_per_batch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "CSV_ROWS", 3)
    repeated: list[int] = []
    made: list[int] = []
    original = csvfile.repeated_text

    def counted_repeated(value: str, n: int) -> pa.Array:
        repeated.append(n)
        return original(value, n)

    def counted_wkt(geoms: np.ndarray, *, flat: bool = False) -> pa.Array:
        made.append(len(geoms))
        return grid.grid_wkt(geoms, flat=flat)

    monkeypatch.setattr(export, "repeated_text", counted_repeated)
    monkeypatch.setattr(csvfile, "repeated_text", counted_repeated)
    monkeypatch.setattr(export, "grid_wkt", counted_wkt)
    violations = _violations(7)
    path = write_violations(violations, tmp_path / "v.csv", profile="partner", provenance=PROV)
    assert path.read_bytes() == _expected(violations, "partner")
    assert repeated == []  # before: two columns of 7 rows (hgw_profile, hgw_sources)
    assert made == [3, 3, 1]  # before: [7]


def test_a_failed_batched_write_leaves_the_previous_file(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "CSV_ROWS", 3)
    target = tmp_path / "v.csv"
    write_violations(_violations(7), target, profile="partner", provenance=PROV)
    before = target.read_bytes()
    broken = _violations(8)
    ids = broken["subject_id"].astype(object).tolist()
    ids[7] = "AMW-\ud800"  # a lone surrogate in the last batch (Python text, not Arrow's): UTF-8 cannot write it
    broken["subject_id"] = pd.Series(ids, index=broken.index, dtype=object)
    with pytest.raises((InputError, UnicodeError)):
        write_violations(broken, target, profile="partner", provenance=PROV)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.csv"]  # no half file beside it


def test_a_layer_column_named_like_an_added_one_is_written_over_in_place(tmp_path: Path) -> None:
    violations = _violations(4)
    violations.insert(0, "hgw_profile", "from the layer")
    path = write_violations(violations, tmp_path / "v.csv", profile="internal", provenance=PROV)
    assert path.read_bytes() == _expected(violations, "internal")
    assert path.read_bytes().startswith(b"hgw_profile,violation_id,")


@pytest.mark.parametrize("rows", [1, 2, 5])
def test_write_csv_added_columns_are_the_bytes_of_built_ones(rows: int, tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1.5, -0.0, np.nan, 2.25, 7.0], "b": ["x", None, "=1+1", "q,\"", " -2"]})
    wkt = pa.array(["POINT (1 2)", None, "LINESTRING (0 0, 1 1)", "", "=x"], pa.large_string())
    added: list[tuple[str, csvfile.Added]] = [("w", lambda start, stop: wkt[start:stop]),
                                              ("c", '=SUM(1,2) "x"'), ("d", "")]
    whole = frame.copy()
    whole["w"] = pd.array(wkt, dtype="str")
    whole["c"] = '=SUM(1,2) "x"'
    whole["d"] = ""
    path = csvfile.write_csv(frame, tmp_path / "a.csv", rows_per_piece=rows, added=added)
    assert path.read_bytes() == csvfile._pandas_table(whole, None).encode("utf-8-sig")
    assert path.read_bytes() == csvfile.csv_bytes(whole)
