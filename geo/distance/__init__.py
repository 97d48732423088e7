"""Distances in metres on the WGS84 ellipsoid, and the local metric CRSs to work in.

``nearest_within`` finds, for every subject geometry, the nearest target within a distance
(exact geodesic metres, threshold inclusive, optional per-target limits and centre-line
offsets); ``geodesic_distance`` measures one pair. ``local_tmerc``, ``local_aeqd``,
``aeqd_transformer`` and ``centred_crs`` give metric CRSs centred on the data for work that needs
planar metres (their scale bounds are in ``geo.distance.localcrs``), and ``require_crs`` refuses
a layer without a CRS instead of guessing one. ``points_inside`` (``PolygonSet``) finds which
polygons contain which points with geodesic edges, boundary included, exactly near the boundary;
``geodesic_area_m2``, ``overlap_area_m2`` and ``not_covered`` give areas in square metres and
coverage by a union of polygons. The modules with a leading underscore are the
kernel behind ``nearest_within``; import from this package, not from them.
"""
from geo.distance.area import geodesic_area_m2, not_covered, overlap_area_m2
from geo.distance.containment import PolygonSet, points_inside, sag_bound_m
from geo.distance.geodesic import geodesic_distance, nearest_within
from geo.distance.localcrs import aeqd_transformer, centred_crs, local_aeqd, local_tmerc, require_crs

__all__ = ["PolygonSet", "aeqd_transformer", "centred_crs", "geodesic_area_m2", "geodesic_distance",
           "local_aeqd", "local_tmerc", "nearest_within", "not_covered", "overlap_area_m2", "points_inside",
           "require_crs", "sag_bound_m"]
