"""One order for a file's problems, whatever the command (``layers.io.validate.in_file_order``).

Found in the last session's walk: ``validate`` listed a file's problems kind by kind (every "allowed"
error, then every "range" error ...), ``import`` field by field as they were found; a person fixing the
file in an editor wants them record by record. ``in_file_order`` gives the file's own problems first,
then record by record, field by field in the layer's order (the geometry after the declared fields).
"""
from __future__ import annotations

from pathlib import Path

from geo.errors import InputError
from layers.catalogue import spec_for
from layers.io.readers import load_layer
from layers.io.validate import in_file_order


def test_problems_come_record_by_record_then_field_by_field(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text("site_id,status,miners,lon,lat\n"
                    "A,actve,-3,-1.6,6.7\n"       # row 1: status, miners
                    "B,active,5,-1.6,96.7\n"      # row 2: geometry out of range
                    "A,closed,x,-1.5,6.8\n")      # row 3: a repeated id, status, miners
    try:
        load_layer(path, "mining_sites")
    except InputError as exc:
        problems = exc.problems
    else:
        raise AssertionError("the file has errors")
    spec = spec_for("mining_sites")
    ordered = [(p.row, p.field) for p in in_file_order(problems, spec.field_names) if p.severity == "error"]
    assert ordered == [(1, "status"), (1, "miners"), (2, "geometry"), (3, "site_id"), (3, "status"), (3, "miners")]
    assert [p.severity for p in in_file_order(problems, spec.field_names)] == ["error"] * 6 + ["warning", "info"]
    notes = [p for p in in_file_order(problems, spec.field_names) if p.row is None and p.severity != "error"]
    assert [p.kind for p in notes] == ["crs", "coordinates"]  # each severity's file-wide problems before its rows
    assert problems == in_file_order(problems, spec.field_names)  # load_layer gives them in this order (HR, s19)
    assert sorted(map(repr, in_file_order(problems))) == sorted(map(repr, problems))  # nothing lost or added
