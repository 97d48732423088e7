"""A CSV of more than one piece (``layers.io.csvfile.write_csv``, ``rows_per_piece``) has each piece's
rows joined and written on a side thread while the next piece's cells are made (issue 13: the
violation file of ``check`` at 1e6 sites). The bytes stay those of the whole table written at once
(pandas' ``to_csv``, the oracle), whatever the pieces, the text or the numbers; a piece left to pandas
after others were handed to the thread still gives pandas' bytes of the whole table; an error on the
side thread reaches the caller, and a failed violation write leaves the previous file and nothing beside it.
"""
from __future__ import annotations

import csv
import errno
import io
import math
import threading
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.errors import InputError
from geo.rules.violations import violation_id, violation_id_array
from layers.io import csvfile, export
from layers.io.csvfile import defuse_formula
from layers.io.violations import write_violations

ODD_TEXTS = ["S1", "sítio-ñ", "北京-7", "a,b", 'say "hi"', "line\nbreak", "cr\rhere", "=HYPERLINK(\"x\")",
             "+1", "-5", " @x", "'=quoted", "", "tab\tin", "🙂,\"\r\n"]


class _Recorded(io.BytesIO):
    """A file in memory that notes the thread of every write."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self.threads.append(threading.current_thread().name)
        return super().write(data)


def _frame(n: int) -> pd.DataFrame:
    """``n`` rows of odd text (Arrow-backed and objects), floats, whole numbers and booleans."""
    texts = [ODD_TEXTS[i % len(ODD_TEXTS)] + str(i) for i in range(n)]
    return pd.DataFrame({
        "id": pd.array(texts, dtype="str"),
        "name": pd.Series([None if i % 4 == 1 else ODD_TEXTS[(i * 7) % len(ODD_TEXTS)] for i in range(n)],
                          dtype=object),
        "distance_m": np.round(np.linspace(0.0, 99.99, n), 2),
        "x": [(-0.0, 1e-7, 180.0, -90.0, math.nan, 1.5e-5)[i % 6] for i in range(n)],
        "k": np.arange(n, dtype=np.int64) - 3,
        "flag": [bool(i % 3) for i in range(n)],
        "const": "same, \"every\" row",
    })


def test_the_rows_of_a_table_of_several_pieces_are_written_on_the_side_thread() -> None:
    frame = _frame(11)
    out = _Recorded()
    assert csvfile._write_pieces(frame, out, True, 4)  # pieces of 4, 4 and 3 rows
    assert out.getvalue() == csvfile.csv_bytes(frame)
    assert out.threads[0] == threading.current_thread().name  # the header, by the caller
    assert set(out.threads[1:]) == {"csv-rows_0"}  # before: every write on the caller's thread
    one = _Recorded()
    assert csvfile._write_pieces(frame, one, True, 11)  # one piece: nothing to overlap, no thread
    assert one.getvalue() == out.getvalue()
    assert set(one.threads) == {threading.current_thread().name}


@pytest.mark.parametrize("rows", [1, 2, 3, 5, 20])
def test_pieces_written_on_the_side_thread_are_the_bytes_of_the_whole_table(rows: int, tmp_path: Path) -> None:
    frame = _frame(13)
    path = csvfile.write_csv(frame, tmp_path / "t.csv", rows_per_piece=rows, bom=False)
    assert path.read_bytes() == csvfile._pandas_table(frame, None).encode("utf-8")


_CELL = st.one_of(st.text(alphabet=st.sampled_from(list("aé北🙂,\"\r\n=+-@' \t0.5e")), max_size=6),
                  st.sampled_from(ODD_TEXTS))
_NUMBER = st.sampled_from([-0.0, 0.0, 1e-7, -1e-7, 180.0, -180.0, 90.0, -90.0, 0.1, 99.99, 1e16, math.nan])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.tuples(_CELL, _NUMBER, st.booleans()), min_size=1, max_size=9),
       rows=st.integers(1, 4))
def test_any_table_in_pieces_has_the_bytes_of_pandas(cells: list[tuple[str, float, bool]], rows: int,
                                                     tmp_path: Path) -> None:
    frame = pd.DataFrame({"t": pd.array([c[0] for c in cells], dtype="str"),
                          "o": pd.Series([c[0] for c in cells], dtype=object),
                          "v": [c[1] for c in cells], "b": [c[2] for c in cells]})
    path = csvfile.write_csv(frame, tmp_path / "h.csv", rows_per_piece=rows)
    assert path.read_bytes() == csvfile._pandas_table(frame, None).encode("utf-8-sig")


def test_a_later_piece_left_to_pandas_gives_pandas_bytes_of_the_whole_table(tmp_path: Path) -> None:
    frame = _frame(9)
    values: list[object] = ["text"] * 9
    values[8] = 42  # a number among text objects, in the last piece only: pandas writes that table
    frame["mixed"] = pd.Series(values, dtype=object)
    out = _Recorded()
    assert not csvfile._write_pieces(frame, out, True, 3)  # two pieces handed to the thread, then refused
    assert set(out.threads[1:]) == {"csv-rows_0"}
    path = csvfile.write_csv(frame, tmp_path / "m.csv", rows_per_piece=3)
    assert path.read_bytes() == csvfile._pandas_table(frame, None).encode("utf-8-sig")


def test_an_error_of_the_side_thread_reaches_the_caller_and_leaves_no_thread() -> None:
    frame = _frame(3000)  # pieces of 1,000 rows, well above the file's buffer
    with pytest.raises(OSError) as caught:
        csvfile.write_csv(frame, "/dev/full", rows_per_piece=1000)
    assert caught.value.errno == errno.ENOSPC
    assert not [t for t in threading.enumerate() if t.name.startswith("csv-rows")]


def _violations(ids: list[str]) -> gpd.GeoDataFrame:
    """Violations of odd subject ids at odd coordinates, each with its nearest line."""
    xy = [(-0.0, -90.0), (1e-7, 0.0), (180.0, 89.9999999), (-179.99999995, 1e-7), (0.12345675, -0.0)]
    pts = [xy[i % len(xy)] for i in range(len(ids))]
    return gpd.GeoDataFrame({
        "violation_id": pd.array(violation_id_array("HG-WATER-100", 1, "mining_sites", ids), dtype="str"),
        "rule_id": "HG-WATER-100", "subject_id": pd.array(ids, dtype="str"),
        "distance_m": [round(0.01 * i, 2) for i in range(len(ids))], "assumption": False,
        "nearest_line": gpd.GeoSeries([shapely.LineString([p, (p[0] + 1e-5, p[1])]) for p in pts], crs=4326),
    }, geometry=shapely.points(pts), crs="EPSG:4326")


def test_a_violation_file_in_pieces_is_the_file_written_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [text + str(i) for i, text in enumerate(ODD_TEXTS)]
    violations = _violations(ids)
    assert list(violations["violation_id"]) == [violation_id("HG-WATER-100", 1, "mining_sites", s) for s in ids]
    whole = write_violations(violations, tmp_path / "whole.csv").read_bytes()
    monkeypatch.setattr(export, "CSV_ROWS", 2)
    assert write_violations(violations, tmp_path / "pieces.csv").read_bytes() == whole
    rows = list(csv.DictReader(io.StringIO(whole.decode("utf-8"), newline="")))
    assert [r["subject_id"] for r in rows] == [str(defuse_formula(s)) for s in ids]
    for column, geoms in (("geometry", violations.geometry), ("nearest_line", violations["nearest_line"])):
        oracle = shapely.to_wkt(shapely.set_precision(geoms.to_numpy(), 1e-7, mode="pointwise"),
                                rounding_precision=7, trim=True)
        assert [r[column] for r in rows] == list(oracle)
    assert rows[0]["geometry"] == "POINT (0 -90)" and rows[1]["geometry"] == "POINT (1e-7 0)"


def test_a_failed_violation_write_in_pieces_leaves_the_previous_file(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "CSV_ROWS", 2)
    target = tmp_path / "v.csv"
    write_violations(_violations(["a", "b", "c"]), target)
    before = target.read_bytes()
    broken = _violations([f"s{i}" for i in range(7)])
    ids = broken["subject_id"].astype(object).tolist()
    ids[6] = "bad-\ud800"  # a lone surrogate in the last piece: UTF-8 cannot write it
    broken["subject_id"] = pd.Series(ids, index=broken.index, dtype=object)
    with pytest.raises((InputError, UnicodeError)):
        write_violations(broken, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.csv"]
