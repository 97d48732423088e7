"""Issue 13: a GeoJSON is sniffed in bounded memory (``layers.io.jsonscan``, ijson), where
``json.loads`` of the whole file held it as Python objects (6-12 times its size), so that a chunked
check or validate of a GeoJSON larger than memory is bounded too. The top-level type and CRS, and
every refusal, are those ``json.loads`` gave; the oracle here is ``json.loads`` itself."""
from __future__ import annotations

import json
import math
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.errors import InputError
from layers.io import jsonscan
from layers.io.sniff import sniff

FC = '{"type": "FeatureCollection", "features": [\n'


def _points(path: Path, n: int) -> Path:
    with path.open("w") as f:
        f.write(FC)
        f.write(",\n".join(f'{{"type": "Feature", "properties": {{"site_id": "S{i}", "status": "active", '
                           f'"miners": {i % 50}}}, "geometry": {{"type": "Point", "coordinates": '
                           f'[{-1.5 + i / 1e5!r}, {6.0 + i / 1e6!r}]}}}}' for i in range(n)))
        f.write("\n]}\n")
    return path


def test_a_geojson_is_sniffed_in_bounded_memory(tmp_path: Path) -> None:
    path = _points(tmp_path / "mining_sites.geojson", 40_000)  # 6.4 MB
    size = path.stat().st_size
    tracemalloc.start()
    try:
        found = sniff(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found.kind == "geojson" and not found.crs_member
    assert peak < size / 4, (peak, size)  # json.loads: about 8 times the file's size; the scan: its block's events


def _oracle(data: bytes) -> tuple[str, dict[str, object]] | str:
    """What json.loads makes of ``data``: (kind, its type and crs members), or the refusal's kind."""
    try:
        doc = json.loads(data)
    except UnicodeDecodeError:
        return "utf8"
    except RecursionError:
        return "deep"
    except ValueError:
        return "json"
    if isinstance(doc, dict):
        return "object", {k: doc[k] for k in ("type", "crs") if k in doc}
    return ("array" if isinstance(doc, list) else "value"), {}


def _scanned(path: Path, block: int) -> tuple[str, dict[str, object]] | str:
    try:
        top = jsonscan.scan(path, ("type", "crs"), block=block)
    except jsonscan.NotUTF8:
        return "utf8"
    except jsonscan.TooDeep:
        return "deep"
    except jsonscan.NotJSON:
        return "json"
    return top.kind, top.members


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12) | st.sampled_from(
    ['NaN', 'Infinity', ' -Infinity ', '"', '\\', '\\"', '"NaN"', 'a\nb', 'é€😀'])
SCALAR = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True, allow_infinity=True)
          | TEXT)
VALUE = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(TEXT | st.sampled_from(["type", "crs"]), inner, max_size=4), max_leaves=25)
TOP = st.dictionaries(st.sampled_from(["type", "crs", "features", "bbox", "x"]), VALUE | st.sampled_from(
    ["FeatureCollection", "Point", {"type": "name", "properties": {"name": "EPSG:32630"}}]), max_size=5) | VALUE


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=TOP, indent=st.sampled_from([None, 0, 2]), ascii_only=st.booleans(), bom=st.booleans(),
       repeat=st.booleans(), block=st.sampled_from([5, 7, 64, 65536]), cut=st.none() | st.integers(0, 400))
def test_the_scan_reads_what_json_loads_reads(tmp_path: Path, doc: object, indent: int | None, ascii_only: bool,
                                              bom: bool, repeat: bool, block: int, cut: int | None) -> None:
    """Any JSON (NaN and infinities as Python writes them, a BOM, repeated members, any text), whole
    or cut short, read a few bytes at a time or in large blocks: the same type and crs members, or the
    same kind of refusal, as json.loads."""
    text = json.dumps(doc, indent=indent, ensure_ascii=ascii_only)
    if repeat and isinstance(doc, dict) and text.startswith("{") and len(text) > 2:
        text = '{"type": "Repeated", ' + text[1:]  # json.loads keeps the last "type": so must the scan
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    if cut is not None:
        data = data[:cut]
    path = tmp_path / "doc.geojson"
    path.write_bytes(data)
    expected, got = _oracle(data), _scanned(path, block)
    if isinstance(expected, tuple) and isinstance(got, tuple) and expected[0] == got[0]:
        members = expected[1]
        for name, value in got[1].items():
            assert name in members and _same(float(value) if isinstance(value, int) and isinstance(
                members[name], float) else value, members[name]), (name, value, members[name])
        assert got[1].keys() == members.keys()
    else:
        assert got == expected


@pytest.mark.parametrize(("data", "message"), [
    (FC.encode(), r"it is not valid JSON: the file ends before the JSON does \(was it cut short\?\) at line 2, "
                  r"column 1, near '.*\"features\": \[\\n'; expected GeoJSON"),
    (b'{"type": "Point", "coordinates": [1, 2]}\n x', r"not valid JSON: more text after the end of the JSON "
                                                       r"value at line 2, column 2"),
    (b'{"type": "Point",\n "x": "a\tb", "coordinates": [1, 2]}',
     r"not valid JSON: a control character \(a line break, a tab\) inside a string at line 2, column 9"),
    (b'{"type": "Point", /* c */ "coordinates": [1, 2]}', r"not valid JSON: a comment; JSON has none at line 1, "
                                                          r"column 19"),
    (b'{"type": "Point", "name": "\xe9", "coordinates": [1, 2]}',
     r"it is not UTF-8 text: line 1, column 28 holds the byte 0xE9"),
    ('{"type": "Point", "coordinates": [1, 2]}'.encode("utf-16"), r"looks like UTF-16 text \(save it as UTF-8\)"),
    (b"[" * 600 + b"]" * 600, r"looks like JSON nested too deeply to read \(more than 512 levels\)"),
    (b'[{"type": "Point"}]', r"looks like a JSON list or value, not what its extension says"),
    (b'{"type": {"a": [1, 2]}, "coordinates": [1, 2]}', r"""looks like JSON whose top-level "type" is "{'a': \[1, 2\]}","""),
    (b'{"features": []}', r'looks like JSON without a top-level "type"'),
])
def test_refusals_name_the_file_what_was_found_and_where(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "mining_sites.geojson"
    path.write_bytes(data)
    with pytest.raises(InputError, match=r"^mining_sites\.geojson: cannot read the file: .*" + message):
        sniff(path)


def test_a_file_with_nan_and_infinities_reads_as_before(tmp_path: Path) -> None:
    """Python's json writes NaN and Infinity, GDAL reads them, and so did json.loads: yajl does not,
    so the scan reads them as numbers, also when a block ends inside one or inside a string."""
    features = [{"type": "Feature", "properties": {"site_id": f"S{i}", "miners": math.nan if i % 3 else math.inf,
                                                   "note": 'NaN "Infinity" \\' * (i % 4)},
                 "geometry": {"type": "Point", "coordinates": [-1.5, 6.0]}} for i in range(300)]
    path = tmp_path / "mining_sites.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features,
                                "crs": {"type": "name", "properties": {"name": "EPSG:4326"}}}))
    for block in (3, 4, 9, 10, 11, 65536):
        top = jsonscan.scan(path, ("type", "crs"), block=block)
        assert top.members["type"] == "FeatureCollection"
        assert top.members["crs"] == {"type": "name", "properties": {"name": "EPSG:4326"}}
    found = sniff(path)
    assert found.crs_member and found.crs is not None and found.crs.to_epsg() == 4326
