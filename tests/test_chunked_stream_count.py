"""A chunked ``check`` of a GeoJSON counted its records (``layers.io.chunked.count_records``: is the
file empty?) after ``sniff``, which parses the whole file into Python objects: about 12 times the
file's size and 2.5 s for a 62 MB GeoJSON of 300,000 points, before the chunked read sniffed it again.
The count is now GDAL's GeoJSON driver's alone; what the file is, and its refusal, are still the
chunked read's (``read_chunks`` sniffs it), as a whole read gives them.

Also here: the CRS of a file read in chunks is judged on every chunk, a later chunk's coordinates
included (a note said the first chunk alone)."""
from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from geo.errors import CRSError, InputError
from layers.catalogue import spec_for
from layers.io.chunked import count_records, read_chunks, validate_chunks
from layers.io.nested import settle
from layers.io.readers import read_raw
from layers.io.validate import in_file_order, validate


def _sites(path: Path, coords: list[tuple[float, float]]) -> Path:
    features = [{"type": "Feature", "properties": {"site_id": f"S{i}", "name": f"Site {i}", "status": "active"},
                 "geometry": {"type": "Point", "coordinates": list(xy)}} for i, xy in enumerate(coords)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_a_geojson_is_counted_without_parsing_it_in_python(tmp_path: Path) -> None:
    path = _sites(tmp_path / "mining_sites.geojson", [(-1.5 + i / 1e5, 6.0) for i in range(20_000)])
    size = path.stat().st_size  # about 2.3 MB; json.loads of it allocates about 25 MB
    tracemalloc.start()
    try:
        count = count_records(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 20_000
    assert peak < size / 4  # before: the whole file as Python objects (fails before: about 10 x size)


def test_an_empty_geojson_counts_zero(tmp_path: Path) -> None:
    assert count_records(_sites(tmp_path / "mining_sites.geojson", [])) == 0


@pytest.mark.parametrize("content", [
    '<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/passwd</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>',
    '{"type": "Topology", "objects": {}}',
    '{"type": "FeatureCollection", "features": [',
])
def test_what_is_not_geojson_is_refused_by_the_chunked_read_as_by_a_whole_read(tmp_path: Path, content: str) -> None:
    path = tmp_path / "mining_sites.geojson"
    path.write_text(content)
    assert count_records(path) in (-1, 0)  # GDAL's GeoJSON driver only: nothing else opens it
    with pytest.raises(InputError) as whole:
        read_raw(path)
    with pytest.raises(InputError) as chunked:
        list(read_chunks(path, 10))
    assert str(chunked.value) == str(whole.value)


def _problems(path: Path, rows: int | None) -> list[str] | str:
    spec = spec_for("mining_sites")
    try:
        if rows is None:
            gdf, notes = read_raw(path)
            return [repr(p) for p in in_file_order(notes + validate(gdf, spec, source=path.name)[1], spec.field_names)]
        return [repr(p) for p in validate_chunks(read_chunks(path, rows), spec, source=path.name)[1]]
    except CRSError as exc:
        return str(exc)


DEGREES = [(-1.5 + i / 100, 6.0 + i / 100) for i in range(12)]
METRES = [(500_000.0 + 10 * i, 700_000.0 + 10 * i) for i in range(12)]


@pytest.mark.parametrize("rows", [2, 3, 5])
def test_a_later_chunk_out_of_range_is_judged_as_in_a_whole_read(tmp_path: Path, rows: int) -> None:
    """Only the last chunk holds coordinates in metres: two rows (a minority) are out-of-range
    errors naming their rows; most of the file (every chunk but the first) is refused as a whole."""
    few = _sites(tmp_path / "few.geojson", DEGREES[:10] + METRES[:2])
    whole = _problems(few, None)
    assert isinstance(whole, list) and _problems(few, rows) == whole
    assert [p.split("row=")[1].split(",")[0] for p in whole if "kind='range'" in p] == ["11", "12"]
    most = _sites(tmp_path / "most.geojson", DEGREES[:2] + METRES[:10])
    refused = _problems(most, None)
    assert isinstance(refused, str) and _problems(most, rows) == refused


def test_list_errors_come_in_the_order_of_a_whole_read(tmp_path: Path) -> None:
    """A list in a property (a field of the layer or not) is an error the read notes; a whole read
    gives those first, column by column, record by record. The chunked run sorted them with each
    field's problems, and those of a property outside the layer's fields with the geometry problems
    (found by tests/test_chunked_stream.py; fails before)."""
    path = _sites(tmp_path / "mining_sites.geojson", DEGREES)
    doc = json.loads(path.read_text())
    for i, name, value in [(4, "status", ["active", "closed"]), (1, "name", ["x"]), (10, "status", ["a"]),
                           (7, "contact", ["a", 1]), (2, "status", "Activ"), (8, "contact", {"k": [1]})]:
        doc["features"][i]["properties"][name] = value
    path.write_text(json.dumps(doc))
    gdf, notes = read_raw(path)
    spec = spec_for("mining_sites")
    found = settle(notes, validate(gdf, spec, source=path.name)[1], gdf, spec)
    whole = [repr(p) for p in notes + found]  # as load_file gives them
    lists = [(p.split("row=")[1].split(",")[0], p.split("field=")[1].split(",")[0]) for p in whole if "nested" in p]
    assert lists == [("2", "'name'"), ("5", "'status'"), ("11", "'status'"), ("8", "'contact'"), ("9", "'contact.k'")]
    whole = [repr(p) for p in in_file_order(notes + found, spec.field_names)]  # as load_layer orders them
    for rows in (1, 2, 5, 100):
        assert _problems(path, rows) == whole
