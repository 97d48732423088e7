"""The one pint unit registry of HgWatch, and conversion factors through it.

Every unit HgWatch reads or converts (sample concentrations, gold output, Hg:Au ratios, working
days, published estimates) goes through ``UREG``: pint's default definitions plus ``ppb`` and
``ppt``. No module keeps a conversion constant of its own.
"""
from __future__ import annotations

import pint

UREG: pint.UnitRegistry = pint.UnitRegistry()
UREG.define("ppb = 1e-9 = parts_per_billion")
UREG.define("ppt = 1e-12 = parts_per_trillion")

#: What a unit text that pint cannot use raises: unknown name, bad syntax, wrong kind.
UNIT_ERRORS: tuple[type[Exception], ...] = (pint.errors.PintError, AttributeError, TypeError,
                                            ValueError, AssertionError, SyntaxError)


def factor(from_unit: str, to_unit: str) -> float:
    """How many ``to_unit`` make one ``from_unit`` (``""`` is a pure number).

    Raises
    ------
    pint.errors.DimensionalityError
        The two units measure different kinds of quantity (e.g. ``"g/day"`` and ``"kg"``).
    pint.errors.UndefinedUnitError
        A unit pint does not know.
    """
    return float(UREG.Quantity(1.0, from_unit).to(to_unit).magnitude)
