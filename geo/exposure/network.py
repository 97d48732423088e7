"""The river network: water_bodies lines as a networkx graph whose edges follow the flow.

Flow runs from a line's first vertex to its last; ``flow = "reverse"`` flips a line. End points
closer than ``snap_tolerance_m`` become one node, and a line ending within the tolerance of
another line's interior (a tributary meeting a main river mid-line) splits that line there, so
that confluences join up. Edge lengths are geodesic metres on the WGS84 ellipsoid; snapping and
searching use a transverse Mercator centred on the network.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Geod, Transformer
from scipy.spatial import cKDTree
from shapely.geometry import LineString
from shapely.ops import substring

from geo.distance import centred_crs, require_crs

GEOD = Geod(ellps="WGS84")
EdgeKey = tuple[int, int, int]


@dataclass
class RiverNetwork:
    """A directed multigraph of river pieces plus a spatial index over them.

    Each edge (u, v, key) carries ``water_id``, ``name``, ``half_width_m`` (half the line's
    ``width_m``, 0 when not given: a centre line's bank lies that far off it), ``length_m`` (geodesic metres),
    ``geometry`` (lon/lat LineString in flow order) and ``geometry_m`` (the same in ``crs``).
    """

    graph: nx.MultiDiGraph
    crs: CRS
    edges: list[EdgeKey]
    tree: shapely.STRtree
    notes: list[str] = field(default_factory=list)
    _forward: Transformer | None = None

    def edge(self, key: EdgeKey) -> dict[str, Any]:
        """The attributes of edge ``key``."""
        u, v, k = key
        return self.graph.edges[u, v, k]

    def to_metric(self) -> Transformer:
        """Transformer from lon/lat to the network's metric CRS (created once)."""
        if self._forward is None:
            self._forward = Transformer.from_crs(4326, self.crs, always_xy=True)
        return self._forward


def _lines(water: gpd.GeoDataFrame) -> tuple[list[LineString], list[dict[str, Any]], int]:
    """Every single line part in flow order, its attributes, and the count of parts skipped
    (polygons, and lines of zero length)."""
    lines: list[LineString] = []
    attrs: list[dict[str, Any]] = []
    skipped = 0
    flows = water["flow"] if "flow" in water.columns else [None] * len(water)
    names = water["name"] if "name" in water.columns else [None] * len(water)
    ids = water["water_id"] if "water_id" in water.columns else [str(i) for i in range(len(water))]
    widths = (pd.to_numeric(water["width_m"], errors="coerce").fillna(0.0).clip(lower=0.0).to_numpy(float)
              if "width_m" in water.columns else np.zeros(len(water)))
    for geom, flow, wid, name, width in zip(water.geometry, flows, ids, names, widths):
        if geom is None or geom.is_empty:
            continue
        if geom.geom_type not in ("LineString", "MultiLineString"):
            skipped += 1
            continue
        for part in getattr(geom, "geoms", [geom]):
            if len(part.coords) < 2 or part.length == 0:
                skipped += 1  # a line of one repeated point carries no flow
                continue
            lines.append(part.reverse() if str(flow) == "reverse" else part)
            attrs.append({"water_id": str(wid), "name": None if name is None else str(name),
                          "half_width_m": float(width) / 2})
    return lines, attrs, skipped


def _split_at_junctions(lines_m: list[LineString], tol: float) -> list[list[LineString]]:
    """Split each line where another line's end point touches its interior (within ``tol``)."""
    tree = shapely.STRtree(lines_m)
    cuts: dict[int, set[float]] = {}
    for i, line in enumerate(lines_m):
        for end in (shapely.Point(line.coords[0]), shapely.Point(line.coords[-1])):
            for j in tree.query(end, predicate="dwithin", distance=tol):
                if j == i:
                    continue
                at = lines_m[j].project(end)
                if tol < at < lines_m[j].length - tol:
                    cuts.setdefault(int(j), set()).add(float(at))
    pieces: list[list[LineString]] = []
    for i, line in enumerate(lines_m):
        stops = [0.0, *sorted(cuts.get(i, ())), line.length]
        pieces.append([substring(line, a, b) for a, b in zip(stops[:-1], stops[1:]) if b > a])
    return pieces


def build_network(water: gpd.GeoDataFrame, *, snap_tolerance_m: float = 25.0) -> RiverNetwork:
    """The river network of the line features of ``water`` (polygons are skipped and counted).

    Parameters
    ----------
    water : water_bodies layer with a CRS; optional ``flow`` ("forward" | "reverse").
    snap_tolerance_m : end points closer than this (metres) are joined into one node.
    """
    require_crs(water, "water_bodies")
    water = water.to_crs(4326)
    lines, attrs, skipped = _lines(water)
    crs = centred_crs(water) if len(water) else CRS.from_epsg(3857)
    fwd = Transformer.from_crs(4326, crs, always_xy=True)
    back = Transformer.from_crs(crs, 4326, always_xy=True)
    lines_m = [shapely.transform(g, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
               for g in lines]
    pieces = _split_at_junctions(lines_m, snap_tolerance_m) if lines_m else []
    flat = [(p, attrs[i]) for i, ps in enumerate(pieces) for p in ps]
    ends = np.array([c for p, _ in flat for c in (p.coords[0], p.coords[-1])]).reshape(-1, 2)
    joins = nx.Graph()
    joins.add_nodes_from(range(len(ends)))
    if len(ends):
        joins.add_edges_from(cKDTree(ends).query_pairs(r=snap_tolerance_m))
    node_of = {i: n for n, comp in enumerate(nx.connected_components(joins)) for i in comp}
    graph = nx.MultiDiGraph()
    for n in set(node_of.values()):
        graph.add_node(n)
    keys: list[EdgeKey] = []
    geoms_m: list[LineString] = []
    for idx, (piece, attr) in enumerate(flat):
        geom = shapely.transform(piece, lambda xy: np.column_stack(back.transform(xy[:, 0], xy[:, 1])))
        u, v = node_of[2 * idx], node_of[2 * idx + 1]
        k = graph.add_edge(u, v, water_id=attr["water_id"], name=attr["name"],
                           half_width_m=attr["half_width_m"], geometry=geom,
                           geometry_m=piece, length_m=float(GEOD.geometry_length(geom)))
        keys.append((u, v, k))
        geoms_m.append(piece)
    notes = [f"{graph.number_of_edges()} river pieces, {graph.number_of_nodes()} nodes, "
             f"end points joined within {snap_tolerance_m:g} m"]
    if skipped:
        notes.append(f"{skipped} polygon water bodies or zero-length lines are not part of "
                     "the river network")
    return RiverNetwork(graph, crs, keys, shapely.STRtree(geoms_m), notes, fwd)
