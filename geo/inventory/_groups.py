"""Group labels of the inventory tables, defined once: an empty group and the one-group total.

Every table grouped by a column (area, practice, survey round) shows an empty value (None, NaN,
NA or a blank string) as ``NOT_GIVEN`` and, when not grouped at all, one row ``ALL_SITES``.
"""
from __future__ import annotations

import pandas as pd

NOT_GIVEN = "(not given)"
ALL_SITES = "all sites"


def _label(value: object) -> str:
    if isinstance(value, str):
        return value if value.strip() else NOT_GIVEN
    try:
        missing = bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or an array is not one missing value
        missing = False
    return NOT_GIVEN if missing else str(value)


def group_labels(values: pd.Series) -> pd.Series:
    """Each value as text, empty ones as ``NOT_GIVEN`` (same index)."""
    return values.map(_label).astype(object)
