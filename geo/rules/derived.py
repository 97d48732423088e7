"""Derived fields: values the rule engine computes from a layer's own fields before it filters.

A rule filter may name a derived field as if the layer had it, so that a fact defined once in
code is not spelled out again in the rule file. ``mercury_use`` is the one definition of "uses
mercury" (``geo.sites.mercury_use``): ``"uses mercury"``, ``"no mercury"`` or ``"not recorded"``::

    { field = "mercury_use", equals = "uses mercury" }

A derived field needs no entry in the layer catalogue; the rule-file check accepts it on a layer
that declares at least one of the fields it is computed from, with a value from its own list. A
feature cannot give it (an example's ``fields`` naming it is refused): it is always computed.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd

from geo.sites import MERCURY_USE, mercury_use


@dataclass(frozen=True)
class DerivedField:
    """A field computed from other fields of the same layer.

    Parameters
    ----------
    name : the name a rule filter uses.
    reads : the layer fields it is computed from.
    allowed : every value it can take.
    compute : frame -> one value per row (a Series aligned with the frame).
    """

    name: str
    reads: tuple[str, ...]
    allowed: tuple[str, ...]
    compute: Callable[[pd.DataFrame], pd.Series]
    dtype: str = "str"


DERIVED_FIELDS: dict[str, DerivedField] = {
    "mercury_use": DerivedField("mercury_use", ("uses_mercury", "amalgamation", "burning"),
                                MERCURY_USE, mercury_use),
}


def with_derived(frame: pd.DataFrame, fields: Iterable[str]) -> pd.DataFrame:
    """``frame`` with a column for every derived field among ``fields`` (others are ignored).

    The derived value replaces a column of the same name: the one definition wins. The frame is
    returned unchanged (not copied) when ``fields`` names no derived field.
    """
    wanted = [DERIVED_FIELDS[f] for f in dict.fromkeys(fields) if f in DERIVED_FIELDS]
    if not wanted:
        return frame
    # each in the dtype it is computed in (text as objects: pandas would turn 1e6 of them into Arrow text first)
    return frame.assign(**{d.name: _aligned(d.compute(frame), frame) for d in wanted})


def _aligned(values: pd.Series, frame: pd.DataFrame) -> pd.Series:
    """``values`` by position on ``frame``'s index, in their own dtype."""
    return pd.Series(values.to_numpy(), index=frame.index, dtype=values.dtype)


def missing_inputs(frame: pd.DataFrame, fields: Iterable[str]) -> list[str]:
    """The derived fields among ``fields`` whose inputs are all absent from ``frame``."""
    return [f for f in dict.fromkeys(fields) if f in DERIVED_FIELDS
            and not set(DERIVED_FIELDS[f].reads) & set(frame.columns)]
