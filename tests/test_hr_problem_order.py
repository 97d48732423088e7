"""One order for a file's problems on every surface (HR, session 19): ``cli.py validate``, ``cli.py import``'s
refusal, the Import page (``services.imports.load_upload``, whose problems ``group_problems`` tables) and an
import in chunks list a file's errors in the same order: record by record, field by field in the layer's order.

Found: ``layers.io.validate.in_file_order`` existed and was tested, but no command used it. ``validate``
listed errors kind by kind ('allowed' before 'duplicate' before 'range' before 'type'), the import's refusal
field by field as the validator found them, and an import in chunks in a third order of its own.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cli
from geo.errors import InputError
from layers.catalogue import spec_for
from services.imports import group_problems, load_upload

FAULTS = ("status", "miners_negative", "miners_text", "repeat_id", "no_id", "mercury", "latitude")
FIELDS = spec_for("mining_sites").field_names


def _features(faults: list[frozenset[str]]) -> list[dict[str, object]]:
    out = []
    for n, wrong in enumerate(faults):
        props: dict[str, object] = {"site_id": "S0" if "repeat_id" in wrong and n else f"S{n}",
                                    "status": "actve" if "status" in wrong else "active",
                                    "miners": -3 if "miners_negative" in wrong else "x" if "miners_text" in wrong else 5,
                                    "uses_mercury": "maybe" if "mercury" in wrong else "yes"}
        if "no_id" in wrong:
            props["site_id"] = None
        lat = 95.0 + n if "latitude" in wrong else 6.5 + n / 100
        feature: dict[str, object] = {"type": "Feature", "properties": props,
                                      "geometry": {"type": "Point", "coordinates": [-1.6, lat]}}
        out.append(feature)
    return out


def _write(folder: Path, faults: list[frozenset[str]]) -> Path:
    path = folder / "mining_sites.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": _features(faults)}))
    return path


def _error_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("error:")]


def _surfaces(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, list[str]]:
    """The error lines of every surface, in the order each lists them."""
    out: dict[str, list[str]] = {}
    assert cli.main(["validate", str(path)]) == 1
    out["validate"] = _error_lines(capsys.readouterr().out)
    for rows in (0, 2):
        ws = path.with_name(f"ws{rows}.gpkg")
        assert cli.main(["--workspace", str(ws), "import", str(path), "--chunk-rows", str(rows)]) == 2
        out[f"import --chunk-rows {rows}"] = _error_lines(capsys.readouterr().err)
        assert not ws.exists()
    with pytest.raises(InputError) as refused:
        load_upload(path.name, path.read_bytes())
    out["Import page"] = [str(p) for p in refused.value.problems if p.severity == "error"]
    tables = [table for heading, table in group_problems(refused.value.problems) if heading.startswith("error")]
    for table in tables:  # each of the page's tables lists its rows in file order
        assert list(table["row"]) == sorted(table["row"])
    return out


def _rank(line: str) -> tuple[int, int]:
    """(row, the field's place in the layer) of an error line, as a reader of the file meets them."""
    row = int(line.split(", row ")[1].split(",")[0])
    field = line.split("field '")[1].split("'")[0]
    return row, FIELDS.index(field) if field in FIELDS else len(FIELDS)


def test_the_known_file_in_file_order_everywhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, [frozenset({"status", "miners_negative"}), frozenset({"latitude"}), frozenset(),
                             frozenset({"repeat_id", "status", "miners_text"})])
    surfaces = _surfaces(path, capsys)
    want = [(1, "status"), (1, "miners"), (2, "geometry"), (4, "site_id"), (4, "status"), (4, "miners")]
    for name, lines in surfaces.items():
        got = [(int(line.split(", row ")[1].split(",")[0]), line.split("field '")[1].split("'")[0]) for line in lines]
        assert got == want, name


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(faults=st.lists(st.frozensets(st.sampled_from(FAULTS), max_size=3), min_size=2, max_size=7)
       .filter(lambda rows: any(rows) and 3 * sum("latitude" in r for r in rows) < len(rows)))
def test_every_surface_lists_a_file_s_errors_in_one_order(faults: list[frozenset[str]],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        surfaces = _surfaces(_write(Path(folder), faults), capsys)
    first = surfaces["validate"]
    assert first and [_rank(line) for line in first] == sorted(_rank(line) for line in first)
    for name, lines in surfaces.items():
        assert lines == first, name
