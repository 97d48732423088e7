"""Facts about a mining site that several parts of HgWatch ask for, defined once.

"Uses mercury" is one of them. A site uses mercury when it says so (``uses_mercury`` true), when
it amalgamates (whole ore, concentrate or partial) or when it burns amalgam (open or in a
retort): there is no amalgam to burn without mercury. It uses none when none of that holds and it
says so (``uses_mercury`` false, or amalgamation ``none``). Anything else is "not recorded".
The rules file, the map's symbols, the filters, the downstream sources and the inventory all
read this one definition.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

USES = "uses mercury"
NONE = "no mercury"
NOT_RECORDED = "not recorded"
MERCURY_USE = (USES, NONE, NOT_RECORDED)

AMALGAMATION_WITH_MERCURY = ("whole_ore", "concentrate", "partial")
BURNING_OF_AMALGAM = ("open", "retort")

__all__ = ["AMALGAMATION_WITH_MERCURY", "BURNING_OF_AMALGAM", "MERCURY_USE", "NONE", "NOT_RECORDED",
           "USES", "mercury_use", "uses_mercury"]


def _flag(values: pd.Series, wanted: bool) -> np.ndarray:
    """True where a value is the boolean ``wanted`` (True/False, numpy bools, 1/0)."""
    if pd.api.types.is_bool_dtype(values.dtype):  # a boolean column (missing values are neither)
        return values.to_numpy(dtype=bool, na_value=not wanted) == wanted
    if pd.api.types.is_numeric_dtype(values.dtype):  # numbers: 1 or 0 (NaN, NA: neither), compared whole
        return values.to_numpy(dtype="float64", na_value=np.nan) == float(wanted)
    if bool(values.isna().all()):  # a layer without the column: one value each was tested, 7 times a headline
        return np.zeros(len(values), dtype=bool)
    def test(v: object) -> bool:
        if isinstance(v, (bool, np.bool_)):
            return bool(v) is wanted
        return isinstance(v, (int, float, np.integer, np.floating)) and not pd.isna(v) and v == int(wanted)
    return np.fromiter((test(v) for v in values), dtype=bool, count=len(values))


def _column(sites: pd.DataFrame, name: str) -> pd.Series:
    return sites[name] if name in sites else pd.Series(None, index=sites.index, dtype=object)


def _text_in(sites: pd.DataFrame, name: str, values: tuple[str, ...]) -> np.ndarray:
    """True where column ``name`` (as text, missing as "") is one of ``values``; all False when
    the layer has no such column (no text is made for it)."""
    if name not in sites:
        return np.zeros(len(sites), dtype=bool)
    text = sites[name].astype(object).where(lambda s: s.notna(), "").astype(str)
    return text.isin(values).to_numpy()


def mercury_use(sites: pd.DataFrame) -> pd.Series:
    """Per site: ``USES``, ``NONE`` or ``NOT_RECORDED`` (see the module docstring)."""
    said = _column(sites, "uses_mercury")
    yes = (_flag(said, True) | _text_in(sites, "amalgamation", AMALGAMATION_WITH_MERCURY)
           | _text_in(sites, "burning", BURNING_OF_AMALGAM))
    no = ~yes & (_flag(said, False) | _text_in(sites, "amalgamation", ("none",)))
    out = np.array([NOT_RECORDED, NONE, USES], dtype=object)[np.where(yes, 2, np.where(no, 1, 0))]  # np.full of
    return pd.Series(out, index=sites.index, dtype=object)  # objects took 0.06 s at 1e6 sites


def uses_mercury(sites: pd.DataFrame) -> np.ndarray:
    """Boolean per site: the site uses mercury (``mercury_use(sites) == USES``)."""
    return (mercury_use(sites) == USES).to_numpy(dtype=bool)
