"""An export keeps each geometry's kind: a GeoPackage export of a layer holding Polygons and
MultiPolygons stored every Polygon as a one-part MultiPolygon (pyogrio promotes mixed single and
multi types for GPKG by default), so an export-then-import round trip changed the layer; the import
had the same defect until this session (tests/test_national_polygons_store.py)."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import MultiPolygon, Polygon

from layers.catalogue import spec_for
from layers.io import export

SQUARE = Polygon([(0, 0), (0.01, 0), (0.01, 0.01), (0, 0.01), (0, 0)])
TWO = MultiPolygon([Polygon([(1, 1), (1.01, 1), (1.01, 1.01), (1, 1)]),
                    Polygon([(2, 2), (2.01, 2), (2.01, 2.01), (2, 2)])])


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson"])
def test_the_kinds_of_a_mixed_layer_survive_an_export(tmp_path: Path, suffix: str) -> None:
    sites = gpd.GeoDataFrame({"site_id": ["P", "M"]}, geometry=[SQUARE, TWO], crs=4326)
    path = export.write(sites, tmp_path / f"sites{suffix}", spec=spec_for("mining_sites"), profile="partner")
    back = pyogrio.read_dataframe(path)
    assert dict(zip(back["site_id"], back.geometry.geom_type)) == {
        "P": "Polygon", "M": "MultiPolygon"}
    assert back.geometry.iloc[0].equals(SQUARE) and back.geometry.iloc[1].equals(TWO)
