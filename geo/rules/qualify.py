"""Which features of a rule's other layer count, and on which day a subject is checked.

A feature counts when it passes the layer's filter, has a geometry, is a polygon where the
relation needs one (``inside``, ``not_covered``), and, for a layer with ``valid_on``, is valid on
the subject's day (``geo.rules.validity``).
"""
from __future__ import annotations

import datetime

import geopandas as gpd
import numpy as np

from geo.rules.derived import with_derived
from geo.rules.model import OtherRef, Rule
from geo.rules.validity import subject_days, valid_mask
from geo.words import agree, plural

POLYGONS = ("Polygon", "MultiPolygon")


def days_for(ref: OtherRef, subj: gpd.GeoDataFrame, idx: np.ndarray,
             today: datetime.date) -> list[tuple[datetime.date | None, np.ndarray]]:
    """The subjects ``idx`` grouped by the day ``ref``'s features must be valid on (one group, day
    None, when the layer has no ``valid_on``)."""
    if ref.valid_on is None:
        return [(None, idx)]
    return list(subject_days(subj, ref.valid_on, today, idx)) or [(today, idx)]


def qualifying(rule: Rule, ref: OtherRef, frame: gpd.GeoDataFrame, notes: list[str],
               day: datetime.date | None) -> np.ndarray:
    """Mask of ``ref``'s features that count for a subject checked on ``day`` (see the module)."""
    keep = ref.where.mask(with_derived(frame, ref.where.fields())) if ref.where \
        else np.ones(len(frame), bool)
    keep &= ~(frame.geometry.isna() | frame.geometry.is_empty).to_numpy()
    if rule.relation in ("inside", "not_covered"):
        polygonal = frame.geom_type.isin(POLYGONS).to_numpy()
        if (keep & ~polygonal).any():
            n = int((keep & ~polygonal).sum())
            notes.append(f"{n:,} {ref.layer} {plural('feature', n)} {agree(n, 'is not a polygon', 'are not polygons')}"
                         f" and cannot contain anything; {agree(n, 'it was', 'they were')} left out")
        keep &= polygonal
    if ref.valid_on is not None and day is not None:
        keep &= valid_mask(frame, ref.valid_on, day)
    return keep
