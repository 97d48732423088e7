"""The Import page lists a file's problems in file order (HW), as ``cli.py validate`` and ``import`` do since
HR's session-19 change: one table per severity, headed by the count the command line prints ("7 errors"),
rows in row order and within a row field by field in the layer's order. The page grouped them by kind and
field ("error: 2 x allowed in field 'status'"), so someone fixing the file row by row went back to the top
for every kind. The file is hand-made with known problems in known rows; the command line's lines are read
with ``cli.main``."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import cli
from layers.store.workspace import DEFAULT_PATH

APP = str(Path(__file__).resolve().parent.parent / "app.py")
pytestmark = pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")


def _site(props: dict[str, object], lat: float = 6.0) -> dict[str, object]:
    return {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [-1.5, lat]}}


BAD = [  # row: what is wrong, in the layer's field order (site_id, ..., status, miners, uses_mercury, geometry)
    _site({"site_id": "A1", "status": "bogus", "miners": -4}),           # 1: status not allowed, miners < 0
    _site({"site_id": "A2", "status": "active", "uses_mercury": "maybe"}),  # 2: not a yes/no
    _site({"site_id": "A1", "status": "active"}),                        # 3: the id of row 1 again
    _site({"site_id": "A4", "status": "active"}, lat=95.0),              # 4: latitude out of range
    _site({"site_id": "A5", "status": "closed-ish", "miners": "many"}),  # 5: status, miners not a number
]
EXPECTED = [(1, "status"), (1, "miners"), (2, "uses_mercury"), (3, "site_id"), (4, "geometry"), (5, "status"),
            (5, "miners")]


def test_the_page_lists_the_problems_in_file_order_with_the_commands_count(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(ws))
    path = tmp_path / "mining_sites.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": BAD}))
    assert cli.main(["validate", str(path)]) == 1
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "7 errors:"
    said = [(int(line.split(", row ")[1].split(",")[0]), line.split("field '")[1].split("'")[0]) for line in printed[1:]]
    assert said == EXPECTED

    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("ui/pages/imports.py").run()
    at.file_uploader[0].set_value((path.name, path.read_bytes(), "application/geo+json")).run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["mining\\_sites\\.geojson was not imported: 7 problems to fix."]
    assert [e.label for e in at.expander] == ["7 errors"]  # the count validate prints, one table
    table = at.dataframe[0].value
    assert list(zip(table["row"], table["field"])) == EXPECTED
    assert list(table.columns[:5]) == ["row", "field", "value", "expected", "problem"]
    assert table.loc[table["row"] == 3, ["value", "problem", "id"]].values.tolist() == [["A1", "duplicate", "A1"]]
