"""Class each mercury sample against its medium's guideline value.

Classes, from the guideline ``g`` and the two class settings (``near_fraction``,
``several_times``; assumptions of this product, not law):

- ``below``: value < near_fraction x g
- ``near``: near_fraction x g <= value <= g
- ``above``: g < value < several_times x g
- ``several_times_above``: value >= several_times x g
- ``no_guideline``: the medium has no guideline value set (e.g. sediment by default)
- ``inconclusive``: below the detection limit, but the limit itself is above the guideline; or
  recorded as 0 with no detection limit

A value below the detection limit ``d`` is only known to be < d. It is classed by what that
bound proves: ``below`` when d <= near_fraction x g, ``near`` (cannot be excluded) when
d <= g, and ``inconclusive`` otherwise. It is never turned into zero. A value recorded as 0 is no
measurement (no laboratory measures zero mercury): it is a value below a detection limit that is
not given, so nothing is proved and it is ``inconclusive``; its basis says to write '<limit'.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

CLASSES = ("below", "near", "above", "several_times_above", "no_guideline", "inconclusive")


@dataclass(frozen=True)
class Guideline:
    """The guideline of one medium. ``value`` is None when no guideline is set."""

    medium: str
    value: float | None
    unit: str
    species: str
    kind: str
    citation: str
    predatory_value: float | None = None
    upper_value: float | None = None


@dataclass(frozen=True)
class ClassSettings:
    """Where "near" starts (fraction of the guideline) and "several times above" starts."""

    near_fraction: float = 0.5
    several_times: float = 5.0


def guideline_level(guideline: Guideline, *, predatory: bool = False) -> float | None:
    """The level a sample is compared with; for predatory fish the predatory value."""
    if predatory and guideline.predatory_value is not None:
        return guideline.predatory_value
    return guideline.value


def classify(
    value: float,
    *,
    below_detection: bool,
    level: float | None,
    settings: ClassSettings,
) -> str:
    """The class of one value (in the guideline's unit) against guideline ``level``.

    Parameters
    ----------
    value : the measured value, or the detection limit when ``below_detection``.
    below_detection : the true value is below ``value``.
    level : the guideline value in the same unit, or None when there is none.
    settings : where "near" and "several times above" start.
    """
    if level is None or not np.isfinite(value):
        return "no_guideline"
    near = settings.near_fraction * level
    if value == 0 and not below_detection:  # no measurement: a non-detect whose limit is not given
        return "inconclusive"
    if below_detection:
        if value <= near:
            return "below"
        return "near" if value <= level else "inconclusive"
    if value < near:
        return "below"
    if value <= level:
        return "near"
    return "several_times_above" if value >= settings.several_times * level else "above"


def display_value(value: float, unit: str, *, below_detection: bool) -> str:
    """How a value is written: ``'<0.1 ug/L'`` below the detection limit, else ``'0.4 ug/L'``."""
    text = f"{value:.4g} {unit}"
    return f"<{text}" if below_detection else text


def classify_samples(
    samples: pd.DataFrame,
    guidelines: dict[str, Guideline],
    settings: ClassSettings,
) -> pd.DataFrame:
    """Class every converted sample (output of ``geo.contamination.units.convert_samples``).

    Returns a copy with ``hg_class``, ``guideline`` (the level compared with, or NaN),
    ``ratio`` (value / guideline; for below-detection samples an upper bound), ``hg_text``
    (``'<0.1 ug/L'`` style) and ``basis`` (the guideline's citation, and a note when the
    species measured differs from the species the guideline is written for).
    """
    out = samples.copy()
    bd = _bool(out.get("below_detection"), len(out))
    pred = _bool(out.get("fish_predatory"), len(out))
    classes, levels, texts, bases = [], [], [], []
    for i, (medium, value) in enumerate(zip(out["medium"], out["hg_value"])):
        g = guidelines.get(str(medium))
        level = None if g is None else guideline_level(g, predatory=bool(pred[i]))
        classes.append(classify(float(value), below_detection=bool(bd[i]), level=level,
                                settings=settings))
        levels.append(np.nan if level is None else level)
        unit = out["hg_unit"].iloc[i]
        texts.append(display_value(float(value), str(unit), below_detection=bool(bd[i])))
        basis = _basis(g, out["species"].iloc[i] if "species" in out.columns else None)
        if level is not None and g is not None and g.predatory_value is not None and pd.isna(
                out["fish_predatory"].iloc[i] if "fish_predatory" in out.columns else None):
            basis += (f"; not said whether the fish is predatory, compared with the non-predatory "
                      f"level {g.value:g} {g.unit} (predatory: {g.predatory_value:g} {g.unit})")
        if float(value) == 0 and not bd[i]:
            basis = ("recorded as 0, which is no measurement: a value below the detection limit is "
                     "written '<limit' (e.g. '<0.1'); inconclusive. " + basis)
        bases.append(basis)
    out["hg_class"] = classes
    out["guideline"] = levels
    out["ratio"] = out["hg_value"].to_numpy(dtype=float) / np.asarray(levels, dtype=float)
    out["hg_text"] = texts
    out["basis"] = bases
    return out


def _bool(values: pd.Series | None, n: int) -> np.ndarray:
    """A nullable boolean column as a numpy bool array; missing counts as False."""
    if values is None:
        return np.zeros(n, dtype=bool)
    return pd.Series(values).astype("boolean").fillna(False).to_numpy(dtype=bool)


def _basis(guideline: Guideline | None, species: object) -> str:
    """Citation of the guideline, with a note when species measured and guideline differ."""
    if guideline is None or guideline.value is None:
        return "no guideline set for this medium"
    text = guideline.citation
    measured = None if species is None or pd.isna(species) else str(species)
    if measured == "total" and guideline.species not in ("total", "unknown"):
        text += f"; total mercury compared with {_a(guideline.species)} guideline (conservative)"
    elif measured in (None, "unknown") and guideline.species not in ("total", "unknown"):
        text += f"; species not given, compared with {_a(guideline.species)} guideline"
    elif measured is not None and measured != guideline.species and guideline.species != "total":
        text += f"; {measured} mercury compared with {_a(guideline.species)} guideline"
    return text


def _a(word: str) -> str:
    """``word`` with its indefinite article: 'an inorganic', 'a methyl'."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"
