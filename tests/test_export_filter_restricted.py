"""``export --filter`` on a restricted field: a partner or public file chosen by a restricted value
tells whoever receives it that value (here: which sites one informant named), and a partner, who
reads no restricted column, has nothing to filter on. Both are refused with the field, the profile or
role, and the fields that may be used; an internal export by an analyst may still filter on it."""
from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

import cli
from layers.catalogue import spec_for
from layers.store.open import open_store
from services import auth

SECRET = "Kofi Informant-7731"


@pytest.fixture
def ws(tmp_path: Path) -> str:
    path = tmp_path / "ws.gpkg"
    sites = gpd.GeoDataFrame({"site_id": ["A", "B", "C"], "status": ["active", "active", "inactive"],
                              "informant_name": [SECRET, "someone else", SECRET]},
                             geometry=[Point(-1.5, 6.0), Point(-1.6, 6.1), Point(-1.7, 6.2)], crs=4326)
    store = open_store(path)
    store.write_layer("mining_sites", sites, source="sites.geojson")
    auth.add_account(store, "pat", "partner", "correct horse")
    return str(path)


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code = cli.main(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.parametrize("profile", ["partner", "public"])
def test_an_outside_file_is_not_chosen_by_a_restricted_value(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str], ws: str,
                                                             tmp_path: Path, profile: str) -> None:
    out = tmp_path / f"{profile}.geojson"
    code, err = run(monkeypatch, capsys, "--workspace", ws, "export", "mining_sites", "--profile", profile,
                    "--filter", f"informant_name={SECRET}", "--out", str(out))
    assert code == 2 and "Traceback" not in err
    assert f"'informant_name' is a restricted field of mining_sites; a {profile} export may not be chosen" in err
    offered = err.split("expected a field that may leave, one of: ")[1].split("\n")[0].split(", ")  # in words (HR, s19)
    assert "status" in offered and "site_id" in offered
    assert "informant_contact" not in err  # the list offered holds no restricted name
    assert not out.exists()
    # a field that may leave still filters the same outside file
    code, err = run(monkeypatch, capsys, "--workspace", ws, "export", "mining_sites", "--profile", profile,
                    "--filter", "status=active", "--out", str(out))
    assert code == 0, err
    assert sorted(f["properties"]["site_id"] for f in json.loads(out.read_text())["features"]) == ["A", "B"]


def test_a_partner_cannot_filter_on_what_it_does_not_read(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str], ws: str,
                                                          tmp_path: Path) -> None:
    out = tmp_path / "p.geojson"
    code, err = run(monkeypatch, capsys, "--workspace", ws, "--as", "pat", "export", "mining_sites",
                    "--profile", "partner", "--filter", f"informant_name={SECRET}", "--out", str(out))
    assert code == 2 and "'informant_name' is a restricted field" in err and not out.exists()
    assert err.count(SECRET) == 1  # the partner's own item echoed; no stored value read


def test_an_internal_export_by_an_analyst_may_filter_on_it(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str], ws: str,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "internal.geojson"
    code, err = run(monkeypatch, capsys, "--workspace", ws, "export", "mining_sites", "--profile", "internal",
                    "--filter", f"informant_name={SECRET}", "--out", str(out))
    assert code == 0, err
    rows = json.loads(out.read_text())["features"]
    assert sorted(f["properties"]["site_id"] for f in rows) == ["A", "C"]
    assert {f["properties"]["informant_name"] for f in rows} == {SECRET}


def test_the_fields_each_export_may_filter_on() -> None:
    from services.arguments import parse_filters
    from services.exports import filter_fields

    spec = spec_for("mining_sites")
    analyst, field, partner = (auth.Identity("a", "analyst"), auth.Identity("f", "field", ("North",)),
                               auth.Identity("p", "partner"))
    assert filter_fields(spec, "internal", analyst) == spec.field_names
    assert filter_fields(spec, "internal", field) == spec.field_names  # its restricted values, in its areas
    for who, profile in [(analyst, "partner"), (analyst, "public"), (field, "partner"), (partner, "partner")]:
        assert filter_fields(spec, profile, who) == spec.shared_fields
    assert "informant_name" in spec.field_names and "informant_name" not in spec.shared_fields
    assert parse_filters(["status=active"], spec, keys=spec.shared_fields) == {"status": ["active"]}
