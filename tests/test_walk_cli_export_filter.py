"""``cli.py export --filter FIELD=V1,V2``: a value no row of the field can hold is refused, naming the item,
the value, the field and what was expected, and a yes/no field reads yes/no as the import does (found by
HC2 exporting the real Peru points as a partner: ``--filter status=actve`` and ``--filter
uses_mercury=yes`` each wrote an empty file and said "wrote 0 features", exit 0)."""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

from geo.errors import InputError
from layers.catalogue import CATALOGUE
from services.arguments import apply_filters, parse_filters
from tests.api_kit import run_cli

SITES = [("A", "active", True, 12), ("B", "inactive", False, 3), ("C", "active", False, 40), ("D", "abandoned", True, 12)]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("walk-export-filter")
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-2.0 + i / 100, 5.3]},
                 "properties": {"site_id": sid, "status": status, "uses_mercury": hg, "miners": miners,
                                "informant_name": f"SECRET-{sid}"}}
                for i, (sid, status, hg, miners) in enumerate(SITES)]
    source = folder / "sites.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    location = str(folder / "ws.gpkg")
    code, _, err = run_cli(location, "import", str(source), "--layer", "mining_sites")
    assert code == 0, err
    return location, folder


@pytest.mark.parametrize(("item", "ids"), [
    ("status=active", ["A", "C"]),
    ("status=Active, abandoned", ["A", "C", "D"]),
    ("uses_mercury=true", ["A", "D"]),
    ("uses_mercury=yes", ["A", "D"]),  # before: 0 features
    ("uses_mercury=0", ["B", "C"]),  # before: 0 features
    ("uses_mercury=Non", ["B", "C"]),  # before: 0 features
    ("miners=12", ["A", "D"]),
    ("miners=12.0", ["A", "D"]),  # before: 0 features
    ("miners=+40", ["C"]),  # before: 0 features
])
def test_a_filter_selects_the_rows_whose_value_it_names(workspace: tuple[str, Path], item: str,
                                                         ids: list[str]) -> None:
    location, folder = workspace
    out = folder / "out.geojson"
    code, said, err = run_cli(location, "export", "mining_sites", "--out", str(out), "--filter", item)
    assert code == 0, err
    assert said.startswith(f"wrote {len(ids)} mining_sites features")
    got = json.loads(out.read_text())["features"]
    assert sorted(f["properties"]["site_id"] for f in got) == ids


@pytest.mark.parametrize(("item", "message"), [
    ("status=actve", "--filter 'status=actve': value 'actve' of field 'status': expected one of: abandoned,"
                     " active, inactive, unknown; did you mean 'active'?"),
    ("status=active,", "--filter 'status=active,': value '' of field 'status': expected one of: abandoned,"
                       " active, inactive, unknown"),
    ("uses_mercury=maybe", "--filter 'uses_mercury=maybe': value 'maybe' of field 'uses_mercury': expected true or"
                           " false (or yes/no, 1/0)"),
    ("miners=twelve", "--filter 'miners=twelve': value 'twelve' of field 'miners': expected a whole number"),
    ("miners=12.5", "--filter 'miners=12.5': value '12.5' of field 'miners': expected a whole number"),
    ("gold_kg_per_year=inf", "--filter 'gold_kg_per_year=inf': value 'inf' of field 'gold_kg_per_year':"
                             " expected a number"),
])
def test_a_value_no_row_can_hold_is_refused_and_nothing_is_written(workspace: tuple[str, Path], item: str,
                                                                    message: str) -> None:
    location, folder = workspace
    out = folder / "refused.geojson"
    code, said, err = run_cli(location, "export", "mining_sites", "--out", str(out), "--filter", item)
    assert (code, said) == (2, "")
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_parse_filters_reads_each_value_as_the_field_holds_it() -> None:
    spec = CATALOGUE["mining_sites"]
    assert parse_filters(["uses_mercury=Oui,no", "miners=007", "status=ACTIVE", "admin_area=Zone 1"], spec) == {
        "uses_mercury": ["true", "false"], "miners": ["7"], "status": ["ACTIVE"], "admin_area": ["Zone 1"]}
    with pytest.raises(InputError, match="did you mean 'inactive'"):
        parse_filters(["status=inactiv"], spec)
    assert parse_filters(iter(["status=active"]), spec) == {"status": ["active"]}  # any iterable, read once


def test_a_number_filter_compares_numbers_not_their_text() -> None:
    """``--filter gold_kg_per_year=3.50`` kept no row holding 3.5 (compared as the text '3.5'), nor
    ``=2`` a row holding 2.0; in a column of numbers, numbers now compare as numbers. Text, yes/no and
    a number given to a text column compare as text, as before."""
    frame = gpd.GeoDataFrame({"gold": [3.5, 2.0, float("nan"), 7.25], "count": [1, 2, 3, 4],
                              "code": ["3.50", "2", "x", "7"], "flag": [True, False, True, False]},
                             geometry=[Point(0, 0)] * 4, crs=4326)
    assert apply_filters(frame, {"gold": ["3.50"]}).index.tolist() == [0]
    assert apply_filters(frame, {"gold": ["2", "7.250"]}).index.tolist() == [1, 3]
    assert apply_filters(frame, {"count": ["2.0", "+4"]}).index.tolist() == [1, 3]
    assert apply_filters(frame, {"code": ["3.50"]}).index.tolist() == [0]  # text: as written
    assert apply_filters(frame, {"flag": ["TRUE"]}).index.tolist() == [0, 2]
    assert apply_filters(frame, {"gold": ["nan"]}).index.tolist() == []  # no number: text, and NaN is missing
