"""Cases of sites with no admin area, from the command line (found walking the CLI on PostGIS with the
real Peru gold-mining points, which carry a ``Region`` but no ``admin_area``): ``cases counts`` printed
the area as ``None``, and assigning such a case to a field account said "this case's site is in None"."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

import cli
from layers.store.open import open_store
from services import auth
from services.hgwatch import HgWatch
from settings import Settings


def _flagged(settings: Settings) -> str:
    """One mercury site 55 m from a river, with no admin_area column; a recorded run: its case's id."""
    store = open_store(settings.workspace, settings.database_url)
    sites = gpd.GeoDataFrame({"site_id": ["P1"], "uses_mercury": [True]}, geometry=[shapely.Point(0.0005, 0.0)],
                             crs=4326)
    water = gpd.GeoDataFrame({"water_id": ["W1"], "kind": ["river"]},
                             geometry=[shapely.LineString([(0.0, -0.01), (0.0, 0.01)])], crs=4326)
    store.write_layers([("mining_sites", sites), ("water_bodies", water)], source="test", replace_all=True)
    outcome = HgWatch(settings).check(only=["HG-WATER-100"])
    assert outcome.run_id is not None and len(outcome.evaluation.violations) == 1
    return str(outcome.evaluation.violations["violation_id"].iloc[0])


def test_counts_and_assign_name_a_site_without_an_admin_area(settings: Settings, location: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    vid = _flagged(settings)
    where = ["--database-url", location] if location.startswith("postgresql") else ["--workspace", location]
    assert cli.main([*where, "cases", "counts"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["admin_area", "status", "cases"]
    assert out[1].split() == ["(no", "area)", "new", "1"] and "None" not in "\n".join(out)
    auth.add_account(open_store(settings.workspace, settings.database_url), "kofi", "field", "a long password",
                     ["Ucayali"])
    assert cli.main([*where, "cases", "assign", vid, "--to", "kofi"]) == 2
    err = capsys.readouterr().err
    assert "this case's site has no admin area, so only an analyst or an admin may take it" in err
    assert "import --set admin_area=NAME" in err and "None" not in err


def test_a_region_column_is_read_as_the_admin_area(settings: Settings, location: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """The real Peru gold-mining points name their first-level area "Region" (Ucayali, Madre de Dios):
    imported, their cases take that area, so a field account of the region can be given them."""
    (tmp_path / "sites.csv").write_text("id,Region,uses_mercury,lon,lat\nP1,Ucayali,yes,0.0005,0.0\n"
                                        "P2,Madre de Dios,yes,0.0004,0.002\n")
    (tmp_path / "water.csv").write_text("id,kind,wkt\nW1,river,\"LINESTRING (0 -0.01, 0 0.01)\"\n")
    where = ["--database-url", location] if location.startswith("postgresql") else ["--workspace", location]
    for name, layer in (("sites.csv", "mining_sites"), ("water.csv", "water_bodies")):
        assert cli.main([*where, "import", str(tmp_path / name), "--layer", layer]) == 0, capsys.readouterr().err
    store = open_store(settings.workspace, settings.database_url)
    assert list(store.read("mining_sites")["admin_area"]) == ["Ucayali", "Madre de Dios"]
    assert cli.main([*where, "check", "--only", "HG-WATER-100"]) == 0
    capsys.readouterr()
    assert cli.main([*where, "cases", "counts"]) == 0
    rows = sorted(line.split() for line in capsys.readouterr().out.splitlines()[1:])
    assert rows == [["Madre", "de", "Dios", "new", "1"], ["Ucayali", "new", "1"]]
