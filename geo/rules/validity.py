"""Which features of a layer are valid on a date (``valid_on`` in a rule file), and the subjects' dates.

A feature is valid on a day when ``from_field`` <= day <= ``to_field``, both bounds included; an
empty bound is open (no start, no end). A bound that is given but is not a date makes the feature
count on no day, so that a typo never makes a licence valid. A subject's day is its
``date_field`` (e.g. ``survey_date``); when that is empty or not a date, the day is ``today``,
which the caller passes in (tests and examples fix it).
"""
from __future__ import annotations

import datetime
from collections.abc import Iterator

import numpy as np
import pandas as pd

from geo.rules.model import Validity


def _days(frame: pd.DataFrame, field: str) -> tuple[pd.Series, np.ndarray]:
    """The field as dates (NaT where empty or not a date) and a mask of values given but not dates."""
    if field not in frame.columns:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]"), np.zeros(len(frame), bool)
    raw = frame[field]
    text = raw.astype(object).where(raw.notna(), None)
    given = np.array([v is not None and str(v).strip() != "" for v in text], dtype=bool)
    days = pd.to_datetime(text.where(given, None), errors="coerce", format="mixed").dt.normalize()
    return days, given & days.isna().to_numpy()


def valid_mask(frame: pd.DataFrame, validity: Validity, day: datetime.date) -> np.ndarray:
    """Per row of ``frame``: valid on ``day`` (bounds included, empty bounds open, bad bounds never)."""
    start, bad_start = _days(frame, validity.from_field)
    end, bad_end = _days(frame, validity.to_field)
    when = pd.Timestamp(day)
    ok = (start.isna() | (start <= when)) & (end.isna() | (end >= when))
    return ok.to_numpy(dtype=bool) & ~bad_start & ~bad_end


def bad_bounds(frame: pd.DataFrame, validity: Validity) -> int:
    """How many rows give a bound that is not a date (they never count)."""
    return int((_days(frame, validity.from_field)[1] | _days(frame, validity.to_field)[1]).sum())


def subject_days(frame: pd.DataFrame, validity: Validity, today: datetime.date,
                 rows: np.ndarray) -> Iterator[tuple[datetime.date, np.ndarray]]:
    """The subjects ``rows`` (positions in ``frame``) grouped by their day, today where none is given."""
    days, _ = _days(frame, validity.date_field)
    picked = days.iloc[rows].dt.date.astype(object).where(days.iloc[rows].notna(), today).to_numpy()
    for day in sorted(set(picked)):
        yield day, rows[picked == day]
