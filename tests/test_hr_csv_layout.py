"""A CSV's separator and header found as a person wrote them (HR, session 19, walking ``validate``).

Found: pandas' guess of the separator read a one-column register (``miner_id``) as the columns 'm', 'ner_'
and 'd' (the letter i taken as the separator: every miner_id lost and ids generated, with a warning saying the
file had no miner_id column); Excel's ``sep=;`` first line became the columns 'sep=' and 'Unnamed: 1' ("no
coordinate columns found"); a blank line before the header, or an empty file, gave pandas' "Could not
determine delimiter".
"""
from __future__ import annotations

from pathlib import Path

import pytest

from geo.errors import InputError
from layers.io.readers import load_layer


def test_a_one_column_register_keeps_its_ids(tmp_path: Path) -> None:
    path = tmp_path / "miners.csv"
    path.write_text("miner_id\nM1\nM2\n")
    loaded = load_layer(path, "miners")
    assert list(loaded.gdf["miner_id"]) == ["M1", "M2"]
    assert not [p for p in loaded.warnings if p.kind == "generated"]


@pytest.mark.parametrize("text", [
    "sep=;\nsite_id;lat;lon\nA;6,7;-1,6\nB;6,8;-1,5\n",  # Excel's line naming the separator, decimal commas
    '\ufeff"sep=;"\r\nsite_id;lat;lon\r\nA;6,7;-1,6\r\nB;6,8;-1,5\r\n',
    "\n\nsite_id,lat,lon\nA,6.7,-1.6\nB,6.8,-1.5\n",  # blank lines before the header
    "site_id\tlat\tlon\nA\t6.7\t-1.6\nB\t6.8\t-1.5\n",
])
def test_the_separator_and_header_are_found(tmp_path: Path, text: str) -> None:
    path = tmp_path / "sites.csv"
    path.write_text(text, encoding="utf-8")
    gdf = load_layer(path, "mining_sites").gdf
    assert list(gdf["site_id"]) == ["A", "B"]
    assert [(g.x, g.y) for g in gdf.geometry] == [(-1.6, 6.7), (-1.5, 6.8)]


def test_a_quoted_name_holding_a_separator(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text('site_id,"notes; field",lat,lon\nA,"a; b",6.7,-1.6\n')
    gdf = load_layer(path, "mining_sites").gdf
    assert list(gdf["notes; field"]) == ["a; b"] and (gdf.geometry[0].x, gdf.geometry[0].y) == (-1.6, 6.7)


@pytest.mark.parametrize(("text", "what"), [("", "is empty"), ("\n \n", "is empty"),
                                            ("sep=;\n", "holds only a 'sep=' line")])
def test_a_file_without_a_header_is_told_so(tmp_path: Path, text: str, what: str) -> None:
    path = tmp_path / "sites.csv"
    path.write_text(text)
    with pytest.raises(InputError) as refused:
        load_layer(path, "mining_sites")
    assert str(refused.value) == (f"sites.csv: the file {what}; expected a header row naming the columns "
                                  "(e.g. site_id,lat,lon), then one row per record")


def test_a_decimal_comma_between_commas_is_told_by_line_and_record(tmp_path: Path) -> None:
    """pandas said "Expected 4 fields in line 7, saw 5": no record, no values, nothing to do."""
    path = tmp_path / "sites.csv"
    path.write_text('\nsite_id,lat,lon,status\n\nA,6.7,-1.6,active\n"B\nb",6.8,-1.5,active\nC,6,9,-1.4,active\n')
    with pytest.raises(InputError) as refused:
        load_layer(path, "mining_sites")
    assert str(refused.value).startswith(
        "sites.csv: cannot read the file: line 7 (record 3) holds 5 values where the header (line 2) names 4 columns: "
        "'C', '6', '9', '-1.4', 'active'; a value holding the separator ',' must be in quotes")


def test_a_first_record_longer_than_the_header_is_refused_not_shifted(tmp_path: Path) -> None:
    """pandas read the extra leading value as an index: site_id took 6.7, lat -1.6 and lon 12, a valid site
    at the wrong place, imported without a word."""
    path = tmp_path / "sites.csv"
    path.write_text("site_id,lat,lon\nA,6.7,-1.6,12\nB,6.8,-1.5,14\n")
    with pytest.raises(InputError) as refused:
        load_layer(path, "mining_sites")
    assert str(refused.value).startswith("sites.csv: cannot read the file: line 2 (record 1) holds 4 values where the "
                                         "header (line 1) names 3 columns: 'A', '6.7', '-1.6', '12'")


def test_a_title_row_above_a_sheet_s_header_is_named(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    for row in (["Mining sites survey, Amansie West, 2024"], [], ["site_id", "lat", "lon"], ["A", 6.7, -1.6]):
        book.active.append(row)
    path = tmp_path / "sites.xlsx"
    book.save(path)
    with pytest.raises(InputError) as refused:
        load_layer(path, "mining_sites")
    assert str(refused.value).endswith("The row holding 'site_id', 'lat', 'lon' looks like the header: remove the rows "
                                       "above it (a title), so that the header is the first row")


def test_a_quote_never_closed_is_told_where_it_opens(tmp_path: Path) -> None:
    """pandas said "unexpected end of data"."""
    path = tmp_path / "sites.csv"
    path.write_text('site_id,lat,lon,name\nA,6.7,-1.6,ok\nB,6.8,-1.5,"Nkwanta\nC,6.9,-1.4,x\n')
    with pytest.raises(InputError) as refused:
        load_layer(path, "mining_sites")
    assert str(refused.value) == ('sites.csv: cannot read the file: line 3 (record 2) opens a quote (") that is never '
                                  "closed, so the rest of the file would be one value; close the quote or remove it")
