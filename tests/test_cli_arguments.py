"""The one KEY=VALUE parser (services.arguments.parse_pairs) and the four flags that use it:
``--set FIELD=VALUE``, ``--layer LAYER=PATH``, ``--set LAYER.FIELD=VALUE`` and ``--filter``."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

import cli
from geo.errors import InputError
from layers.catalogue import spec_for
from layers.store.workspace import Workspace
from services.arguments import layer_files, layer_values, parse_filters, parse_pairs, set_values


def test_pairs_are_stripped_and_kept_in_order() -> None:
    assert parse_pairs([" a = 1 ", "b=x=y", "c="], flag="--x", form="K=V", example="a=1") == [
        ("a", "1"), ("b", "x=y"), ("c", "")]
    assert set_values(["kind=river"]) == {"kind": "river"}
    assert layer_files(["samples=a=b.csv"]) == [("samples", "a=b.csv")]
    assert layer_values(["mining_sites.uses_mercury = true", "mining_sites.status=active"]) == {
        "mining_sites": {"uses_mercury": "true", "status": "active"}}
    assert parse_filters(["status=active, inactive"], spec_for("mining_sites")) == {
        "status": ["active", "inactive"]}


@pytest.mark.parametrize(("call", "message"), [
    (lambda: set_values(["kind"]), "--set 'kind': expected FIELD=VALUE, e.g. --set kind=river"),
    (lambda: set_values(["=river"]), "--set '=river': expected FIELD=VALUE"),
    (lambda: layer_files(["samples="]), "--layer 'samples=': expected LAYER=PATH with LAYER one of"),
    (lambda: layer_files(["rivers=x.geojson"]),
     "e.g. --layer water_bodies=rivers.geojson"),
    (lambda: layer_values(["uses_mercury=true"]),
     "--set 'uses_mercury=true': expected LAYER.FIELD=VALUE with LAYER one of"),
    (lambda: layer_values(["mining_sites.=true"]), "e.g. --set mining_sites.uses_mercury=true"),
    (lambda: layer_values(["sites.status=active"]), "expected LAYER.FIELD=VALUE"),
    (lambda: parse_filters(["nosuch=1"], spec_for("mining_sites")),
     "--filter 'nosuch=1': expected FIELD=V1,V2 with FIELD one of: "),
    (lambda: parse_filters(["status"], spec_for("mining_sites")),
     "e.g. --filter status=active,inactive"),
])
def test_each_refusal_names_the_flag_the_item_and_an_example(call: Callable[[], object], message: str) -> None:
    with pytest.raises(InputError) as caught:
        call()
    assert message in str(caught.value)


def test_the_cli_refuses_bad_pairs_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = Workspace(tmp_path / "ws.gpkg")
    ws.write_layer("mining_sites", gpd.GeoDataFrame({"site_id": ["A"], "status": ["active"]},
                                                    geometry=[Point(0, 0)], crs=4326), source="t")
    sites = tmp_path / "mining_sites.geojson"
    sites.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    base = ["--workspace", str(ws.path)]
    for args, needle in [
        (["validate", str(sites), "--set", "kind"], "e.g. --set kind=river"),
        (["check", "--layer", "mining_sites"], "e.g. --layer water_bodies=rivers.geojson"),
        (["check", "--set", "status=active"], "e.g. --set mining_sites.uses_mercury=true"),
        (["export", "mining_sites", "--out", str(tmp_path / "x.geojson"), "--filter", "colour=red"],
         "e.g. --filter status=active,inactive"),
    ]:
        assert cli.main(base + args) == 2, args
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err


def test_the_workspace_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "env.gpkg"
    Workspace(path).write_layer("mining_sites", gpd.GeoDataFrame(
        {"site_id": ["A"]}, geometry=[Point(0, 0)], crs=4326), source="from the environment")
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    assert cli.main(["layers"]) == 0
    out = capsys.readouterr().out
    assert f"workspace {path}" in out and "from the environment" in out
