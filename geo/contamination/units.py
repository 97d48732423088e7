"""Mercury concentration units through pint (``geo.quantities.UREG``): parse, check, convert.

Water and air are measured as mass per volume (ug/L, ug/m^3); sediment, soil, fish and hair as
mass per mass (mg/kg, ug/g, ppm). A unit of the wrong kind for its medium (``ug/L`` in a soil
sample) is refused, row by row, never silently converted.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pint

from geo.contamination.media import MASS_PER_MASS, MASS_PER_VOLUME, MEDIUM_KIND
from geo.contamination.media import MEDIA as MEDIA  # still importable from here
from geo.errors import InputError, Problem
from geo.quantities import UREG
from geo.words import one_of

_EXAMPLES = {MASS_PER_VOLUME: "e.g. ug/L, ng/L, mg/L, ug/m^3, ng/m^3",
             MASS_PER_MASS: "e.g. mg/kg, ug/g, ng/g, ug/kg, ppm, ppb"}
_RATIOS = {"ppm", "ppb", "ppt", "percent", "permille"}
_POWER = re.compile(r"([A-Za-z])([23])\b")
ROW = "_row"


def parse_unit(text: str) -> pint.Unit:
    """Parse a unit string such as ``"ug/L"``, ``"µg/m3"`` or ``"mg kg-1"``.

    Raises
    ------
    ValueError
        The text is blank or names a unit pint does not know.
    """
    cleaned = str(text).strip().replace("μ", "u").replace("µ", "u")
    cleaned = re.sub(r"\b([A-Za-z]+)-1\b", r"/\1", cleaned).replace(" /", "/")
    cleaned = _POWER.sub(r"\1**\2", cleaned)
    if not cleaned:
        raise ValueError("blank unit")
    try:
        unit = UREG.Unit(cleaned)
    except Exception as exc:
        # (UndefinedUnitError, AssertionError, TokenError, ...); all mean "not a unit".
        raise ValueError(f"unknown unit {text!r}") from exc
    return unit


def unit_kind(unit: pint.Unit) -> str | None:
    """``MASS_PER_VOLUME``, ``MASS_PER_MASS`` or None for any other kind of unit."""
    names = list(unit._units)
    dims = [UREG.get_dimensionality(n) for n in names]
    mass = UREG.get_dimensionality("gram")
    volume = UREG.get_dimensionality("litre")
    length = UREG.get_dimensionality("metre")
    if unit.dimensionality == mass / volume and all(d in (mass, volume, length) for d in dims):
        return MASS_PER_VOLUME
    if unit.dimensionality == UREG.dimensionless.dimensionality:
        if len(names) == 1 and names[0] in _RATIOS:
            return MASS_PER_MASS
        if names and all(d == mass for d in dims):
            return MASS_PER_MASS
    return None


def check_unit(medium: str, text: object) -> str | None:
    """Why ``text`` cannot be a unit of ``medium``, or None when it can."""
    kind = MEDIUM_KIND.get(str(medium))
    if kind is None:
        return f"a medium, {one_of(sorted(MEDIUM_KIND))}"
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return f"a unit of {kind} for a {medium} sample ({_EXAMPLES[kind]})"
    try:
        unit = parse_unit(str(text))
    except ValueError:
        return f"a known unit of {kind} for a {medium} sample ({_EXAMPLES[kind]})"
    if unit_kind(unit) != kind:
        return f"a unit of {kind} for a {medium} sample ({_EXAMPLES[kind]}), not {unit_kind(unit) or 'another quantity'}"
    return None


def _round_sig(value: float, digits: int = 12) -> float:
    """``value`` to ``digits`` significant figures, so that 0.006 mg/L is exactly 6 ug/L."""
    return float(f"{value:.{digits}g}")


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit`` (same kind of quantity).

    Raises
    ------
    ValueError
        A unit is unknown or the two are of different kinds.
    """
    src, dst = parse_unit(from_unit), parse_unit(to_unit)
    if unit_kind(src) is None or unit_kind(src) != unit_kind(dst):
        raise ValueError(f"cannot convert {from_unit!r} to {to_unit!r}")
    return _round_sig(float(UREG.Quantity(value, src).to(dst).magnitude))


def convert_samples(
    samples: pd.DataFrame,
    target_units: Mapping[str, str],
    *,
    source: str,
) -> pd.DataFrame:
    """Convert every sample's ``hg`` to its medium's target unit.

    Parameters
    ----------
    samples : frame with ``sample_id``, ``medium``, ``hg``, ``unit`` (and optionally the
        1-based source record number in ``_row``).
    target_units : unit per medium, e.g. ``{"water": "ug/L", "fish": "mg/kg"}``.
    source : file name used in problems.

    Returns
    -------
    A copy with ``hg_value`` (float, in the target unit; for a below-detection sample this is
    the detection limit) and ``hg_unit`` (the target unit text).

    Raises
    ------
    InputError
        One Problem per row whose unit is unknown or of the wrong kind for its medium.
    """
    rows = samples[ROW].to_numpy() if ROW in samples.columns else np.arange(1, len(samples) + 1)
    problems: list[Problem] = []
    values = np.full(len(samples), np.nan)
    units: list[str | None] = []
    factors: dict[tuple[str, str], float] = {}
    for i, (medium, hg, unit) in enumerate(zip(samples["medium"], samples["hg"], samples["unit"])):
        sid = samples["sample_id"].iloc[i] if "sample_id" in samples.columns else None
        why = check_unit(medium, unit)
        target = target_units.get(str(medium))
        if why is None and target is None:
            why = f"a medium with a target unit, {one_of(sorted(target_units))}"
        if why is not None:
            field = "medium" if str(medium) not in MEDIUM_KIND or target is None else "unit"
            problems.append(Problem(source, int(rows[i]), field,
                                    medium if field == "medium" else unit, why,
                                    feature_id=None if sid is None else str(sid), kind="unit"))
            units.append(None)
            continue
        key = (str(unit), str(target))
        if key not in factors:
            factors[key] = convert(1.0, str(unit), str(target))
        values[i] = _round_sig(float(hg) * factors[key])
        units.append(str(target))
    if problems:
        raise InputError(f"{source}: {len(problems)} sample(s) with an unusable unit", problems)
    out = samples.copy()
    out["hg_value"] = values
    out["hg_unit"] = units
    return out
