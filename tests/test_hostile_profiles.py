"""Issue: restricted fields left under the partner and public profiles when their name varied.
The partner and public profiles are allow-lists: only the catalogue's declared non-restricted
fields leave, plus columns an analyst marked shareable; person-like names are restricted on
every layer whatever their spelling; nested objects never pass through."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from geo.errors import InputError
from layers.io.readers import load_layer
from tests.hostile_kit import SECRET, digest, run, sites

FORMATS = (".geojson", ".gpkg", ".csv", ".kml")
VARIANTS = [  # column names that all mean a restricted person field
    "informant_", "informan_1", "inspector_", "Informant Name", "informantName", "INFORMANT-NAME",
    "interview/informant_name", "grp-informant_contact", "collector_name", "participant_id",
    "interview-informant_name", "meta/inspectorName", "Collector Name",
]


def _planted(n: int) -> dict[str, list[object]]:
    return {name: [f"{SECRET}-{k}-{i}" for i in range(n)] for k, name in enumerate(VARIANTS)}


def _layer_frame(layer: str, tmp_path: Path) -> Path:
    """A GeoJSON of ``layer`` carrying every variant, an unknown column and a nested object."""
    base = sites(2, **_planted(2), local_code=["LC-1", "LC-2"])
    if layer == "tailings":
        base = base[["geometry", *VARIANTS, "local_code"]].assign(tailings_id=["T1", "T2"], site_id=["S1", "S2"])
    elif layer == "samples":
        base = base[["geometry", *VARIANTS, "local_code"]].assign(
            sample_id=["X1", "X2"], medium=["water", "water"], hg=[1.0, 2.0], unit=["ug/L", "ug/L"],
            sampled_on=["2024-01-01", "2024-01-02"])
    data = json.loads(base.to_json())
    for i, feature in enumerate(data["features"]):
        feature["properties"]["interview"] = {"informant_name": f"{SECRET}-nested-{i}", "village": "x"}
    path = tmp_path / f"{layer}.geojson"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture(params=["mining_sites", "tailings", "samples"])
def stored(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    layer = request.param
    ws = tmp_path / "ws.gpkg"
    code, out, err = run("--workspace", str(ws), "import", str(_layer_frame(layer, tmp_path)), "--layer", layer)
    assert code == 0, err
    return ws, layer


@pytest.mark.parametrize("profile", ["partner", "public"])
@pytest.mark.parametrize("suffix", FORMATS)
def test_no_variant_of_a_restricted_name_leaves(stored: tuple[Path, str], tmp_path: Path,
                                                profile: str, suffix: str) -> None:
    ws, layer = stored
    out = tmp_path / f"out_{profile}{suffix}"
    code, _, err = run("--workspace", str(ws), "export", layer, "--out", str(out), "--profile", profile)
    assert code == 0, err
    data = out.read_bytes()
    assert SECRET.encode() not in data
    assert b"LC-1" not in data  # an unknown column stays inside unless marked shareable


def test_internal_keeps_what_was_imported(stored: tuple[Path, str], tmp_path: Path) -> None:
    """The planted values are really there: the partner test above is not vacuous."""
    ws, layer = stored
    out = tmp_path / "internal.csv"
    assert run("--workspace", str(ws), "export", layer, "--out", str(out), "--profile", "internal")[0] == 0
    text = out.read_text()
    assert f"{SECRET}-0-0" in text and "LC-1" in text


def test_nested_objects_never_pass_through(stored: tuple[Path, str], tmp_path: Path) -> None:
    ws, layer = stored
    out = tmp_path / "internal.geojson"
    assert run("--workspace", str(ws), "export", layer, "--out", str(out), "--profile", "internal")[0] == 0
    for feature in json.loads(out.read_text())["features"]:
        assert not any(isinstance(v, (dict, list)) for v in feature["properties"].values())
        assert not any(isinstance(v, str) and v.lstrip().startswith("{") for v in feature["properties"].values())


def test_an_analyst_can_mark_an_unknown_column_shareable(tmp_path: Path) -> None:
    ws = tmp_path / "ws.gpkg"
    assert run("--workspace", str(ws), "import", str(_layer_frame("mining_sites", tmp_path)))[0] == 0
    code, _, err = run("--workspace", str(ws), "share", "mining_sites", "local_code")
    assert code == 0, err
    out = tmp_path / "p.geojson"
    assert run("--workspace", str(ws), "export", "mining_sites", "--out", str(out), "--profile", "partner")[0] == 0
    props = json.loads(out.read_text())["features"][0]["properties"]
    assert props["local_code"] == "LC-1"
    assert SECRET not in out.read_text()


@pytest.mark.parametrize("name", ["informantName", "Collector Name", "interview/informant_name", "informan_1"])
def test_a_person_field_cannot_be_marked_shareable(tmp_path: Path, name: str) -> None:
    ws = tmp_path / "ws.gpkg"
    assert run("--workspace", str(ws), "import", str(_layer_frame("mining_sites", tmp_path)))[0] == 0
    code, _, err = run("--workspace", str(ws), "share", "mining_sites", name)
    assert code == 2
    assert "restricted" in err


def test_share_undo_and_every_refusal_changes_nothing(tmp_path: Path) -> None:
    ws = tmp_path / "ws.gpkg"
    assert run("--workspace", str(ws), "import", str(_layer_frame("mining_sites", tmp_path)))[0] == 0
    before = digest(ws)
    for fields, says in ((["name"], "declares"), (["nope"], "not a column"), (["local_code", "nope"], "not a column"),
                         (["local_code", "informantName"], "restricted")):
        code, _, err = run("--workspace", str(ws), "share", "mining_sites", *fields)
        assert code == 2 and says in err and "Traceback" not in err, err
        assert digest(ws) == before  # all or nothing: local_code was not marked either
    assert run("--workspace", str(ws), "share", "mining_sites", "local_code")[0] == 0
    code, out, _ = run("--workspace", str(ws), "share", "mining_sites", "local_code", "--undo")
    assert code == 0 and "none" in out
    target = tmp_path / "p.csv"
    assert run("--workspace", str(ws), "export", "mining_sites", "--out", str(target), "--profile", "partner")[0] == 0
    assert b"LC-1" not in target.read_bytes()
    assert run("--workspace", str(ws), "share", "mining_sites", "local_code", "--undo")[0] == 2


def test_nested_objects_become_dotted_columns_and_lists_are_refused(tmp_path: Path) -> None:
    data = json.loads(sites(2).to_json())
    data["features"][0]["properties"]["interview"] = {"village": "Nsuta", "informant": {"phone": f"{SECRET}-phone"}}
    path = tmp_path / "mining_sites.geojson"
    path.write_text(json.dumps(data))
    loaded = load_layer(path, "mining_sites")
    assert loaded.gdf["interview.village"].tolist()[0] == "Nsuta"
    assert "interview.informant.phone" in loaded.gdf.columns and "interview" not in loaded.gdf.columns
    data["features"][1]["properties"]["tags"] = ["a", "b"]
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as caught:
        load_layer(path, "mining_sites")
    listed = [p for p in caught.value.problems if p.field == "tags"]
    assert len(listed) == 1 and listed[0].row == 2 and "['a', 'b']" in str(listed[0])


def test_a_nested_field_that_clashes_with_a_column_is_refused(tmp_path: Path) -> None:
    data = json.loads(sites(1, **{"interview.village": ["x"]}).to_json())
    data["features"][0]["properties"]["interview"] = {"village": "y"}
    path = tmp_path / "mining_sites.geojson"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="interview.village"):
        load_layer(path, "mining_sites")
