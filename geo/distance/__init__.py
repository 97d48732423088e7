"""Distances in metres on the WGS84 ellipsoid, and the local metric CRSs to work in.

``nearest_within`` finds, for every subject geometry, the nearest target within a distance
(exact geodesic metres, threshold inclusive, optional per-target limits and centre-line
offsets); ``geodesic_distance`` measures one pair. ``local_tmerc``, ``local_aeqd``,
``aeqd_transformer`` and ``centred_crs`` give metric CRSs centred on the data for work that needs
planar metres (their scale bounds are in ``geo.distance.localcrs``), and ``require_crs`` refuses
a layer without a CRS instead of guessing one. The modules with a leading underscore are the
kernel behind ``nearest_within``; import from this package, not from them.
"""
from geo.distance.geodesic import geodesic_distance, nearest_within
from geo.distance.localcrs import aeqd_transformer, centred_crs, local_aeqd, local_tmerc, require_crs

__all__ = ["aeqd_transformer", "centred_crs", "geodesic_distance", "local_aeqd", "local_tmerc",
           "nearest_within", "require_crs"]
