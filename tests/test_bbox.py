"""The --bbox filter, including a box that crosses the antimeridian (west edge > east edge)."""
from __future__ import annotations

import re

import geopandas as gpd
import pytest
import shapely

from geo.errors import InputError
from services.arguments import apply_filters, parse_bbox


def _points() -> gpd.GeoDataFrame:
    """Sites around the Pacific date line (Fiji), one in Ghana and one at 180 exactly."""
    xy = {"fiji_east": (178.4, -18.1), "fiji_west": (-179.9, -16.5), "ghana": (-1.99, 5.30),
          "date_line": (180.0, 0.0), "too_far_west": (-169.0, 0.0), "too_far_north": (175.0, 11.0)}
    return gpd.GeoDataFrame({"site_id": list(xy)}, geometry=shapely.points(list(xy.values())), crs=4326)


def test_a_box_across_the_antimeridian_selects_both_sides() -> None:
    bbox = parse_bbox("170,-20,-170,10")
    assert bbox == (170.0, -20.0, -170.0, 10.0)
    kept = apply_filters(_points(), {}, bbox=bbox)
    assert list(kept["site_id"]) == ["fiji_east", "fiji_west", "date_line"]


def test_an_ordinary_box() -> None:
    kept = apply_filters(_points(), {}, bbox=parse_bbox("-3,4,-1,6"))
    assert list(kept["site_id"]) == ["ghana"]


def test_a_line_crossing_the_box_edge_is_kept() -> None:
    river = gpd.GeoDataFrame({"water_id": ["R"]}, geometry=[shapely.LineString([(160, 0), (175, 0)])], crs=4326)
    assert list(apply_filters(river, {}, bbox=parse_bbox("170,-10,-170,10"))["water_id"]) == ["R"]


@pytest.mark.parametrize("text,message", [
    ("170,-20,-170", "expected four numbers W,S,E,N in degrees"),
    ("a,b,c,d", "expected four numbers W,S,E,N in degrees"),
    ("170,10,-170,-20", "expected -180<=W,E<=180 and -90<=S<N<=90"),
    ("190,-20,-170,10", "expected -180<=W,E<=180 and -90<=S<N<=90"),
])
def test_bad_boxes_are_refused_naming_the_value(text: str, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(f"--bbox {text!r}: {message}")):
        parse_bbox(text)
