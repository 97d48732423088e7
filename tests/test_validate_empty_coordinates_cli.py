"""End to end: ``cli.py validate`` of a CSV with an empty coordinate cell names the file's own column, the
row and what was expected, once (found in a walk: it said only "field 'geometry': the geometry is null or
empty"; HR made ``validate`` name the column from the reader's ``EMPTY`` notes, and the reader now keeps them)."""
from __future__ import annotations

from pathlib import Path

import pytest

import cli
from geo.errors import InputError
from layers.io.readers import load_layer


def test_validate_names_the_empty_lon_and_nothing_else(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "sites.csv"
    csv.write_text("site_id,lon,lat,uses_mercury\nA,-1.6,6.7,yes\nB,,6.8,yes\nC,-1.5,6.9,no\n")
    assert cli.main(["validate", str(csv), "--layer", "mining_sites"]) == 1
    err = capsys.readouterr()
    text = err.out + err.err
    assert "row 2" in text and "field 'lon'" in text and "the cell is empty while 'lat' holds 6.8" in text
    assert "geometry is null or empty" not in text
    with pytest.raises(InputError) as caught:
        load_layer(csv, "mining_sites")
    errors = [(p.row, p.field) for p in caught.value.problems if p.severity == "error"]
    assert errors == [(2, "lon")]
