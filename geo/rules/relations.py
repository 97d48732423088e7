"""The polygon relations of the rule engine: ``inside`` (touches or lies inside) and ``not_covered``.

Edges are geodesics and the boundary belongs to the polygon (``geo.distance.containment``): a
point subject is decided exactly near an edge (a point on the edge is inside, a point 1 cm out is
not; a hole is outside). A line or polygon subject touches a polygon when their geodesic distance
is 0 (``geo.distance.nearest_within``: distances exact; crossing and containment read on chords
that stay within about 2 mm of the geodesic edges), and then carries ``area_m2``, the geodesic
area of its overlap with that polygon (the first such polygon by position). ``not_covered`` flags a subject that the union of
the polygons does not wholly cover (``geo.distance.not_covered``), with the uncovered area.
"""
from __future__ import annotations

import datetime
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.distance import nearest_within, not_covered, overlap_area_m2, points_inside
from geo.rules.model import Rule
from geo.rules.qualify import days_for, qualifying
from geo.rules.violations import BASIS_INSIDE, BASIS_NOT_COVERED, LINE_COLUMN
from geo.words import agree, plural


def inside_hits(geoms: np.ndarray, polygons: np.ndarray) -> pd.DataFrame:
    """Per subject that touches or lies inside a polygon: the first such polygon (``target``).

    Columns: subject, target, distance_m (0), nearest_line (None), threshold_m (NaN),
    distance_basis, area_m2 (overlap in square metres for polygon subjects, NaN otherwise).
    """
    points = shapely.get_type_id(geoms) == 0
    inside = points_inside(geoms, polygons)
    parts = [pd.DataFrame({"subject": inside["point"].to_numpy(np.int64),
                           "target": inside["polygon"].to_numpy(np.int64), "area_m2": np.nan})]
    other = np.flatnonzero(~points)
    if other.size:
        touch = nearest_within(geoms[other], polygons, max_distance_m=0.0)
        s, t = other[touch["subject"].to_numpy()], touch["target"].to_numpy()
        polygonal = np.isin(shapely.get_type_id(geoms[s]), (3, 6))
        area = np.full(s.size, np.nan)
        if polygonal.any():
            area[polygonal] = overlap_area_m2(geoms[s][polygonal], polygons[t][polygonal])
        parts.append(pd.DataFrame({"subject": s.astype(np.int64), "target": t.astype(np.int64), "area_m2": area}))
    found = pd.concat(parts, ignore_index=True).sort_values(["subject", "target"]).drop_duplicates("subject")
    found["distance_m"] = 0.0
    found[LINE_COLUMN] = None
    found["threshold_m"] = np.nan
    found["distance_basis"] = BASIS_INSIDE
    return found.reset_index(drop=True)


def uncovered_subjects(rule: Rule, subj: gpd.GeoDataFrame, idx: np.ndarray, frames: Mapping[str, gpd.GeoDataFrame],
                       notes: list[str], today: datetime.date) -> pd.DataFrame:
    """The subjects ``idx`` not wholly covered by the union of every other layer's features that
    count on the subject's day: subject, area_m2 (uncovered, NaN for points), distance_basis."""
    dated = next((ref for ref in rule.other if ref.valid_on is not None), rule.other[0])
    parts, bare = [], []
    for day, rows in days_for(dated, subj, idx, today):
        covers = np.concatenate([frames[ref.layer].geometry.to_numpy()[
            qualifying(rule, ref, frames[ref.layer], notes, day)] for ref in rule.other])
        if not covers.size:
            bare.append((day, rows.size))
        found = not_covered(subj.geometry.to_numpy()[rows], covers)
        parts.append(pd.DataFrame({"subject": rows[found["subject"].to_numpy()].astype(np.int64),
                                   "area_m2": found["uncovered_m2"].to_numpy(float),
                                   "distance_basis": BASIS_NOT_COVERED}))
    if bare:
        days = [d.isoformat() for d, _ in bare if d is not None]
        layers = " or ".join(rule.layers[1:])
        count = sum(n for _, n in bare)
        said = f"{count:,} {rule.layers[0]} {plural('feature', count)}"
        notes.append(f"{said} {agree(count, 'was', 'were')} checked on a day when no {layers} feature was valid"
                     f" ({_span(days)}): nothing covers {agree(count, 'it, so it is', 'them, so each is')} flagged"
                     if days else f"no {layers} feature to cover {said}: {agree(count, 'it is', 'each is')} flagged")
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"subject": np.array([], int)})


def _span(days: list[str]) -> str:
    """A short list of ISO days: all of them up to three, else the first and last and how many."""
    return ", ".join(days) if len(days) <= 3 else f"{len(days)} days from {days[0]} to {days[-1]}"
