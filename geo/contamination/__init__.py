"""Contamination: sample units, classes against guideline values, and interpolated surfaces.

``MEDIA`` is the one list of sample media. ``convert_samples`` converts every sample to its
medium's unit through pint (``check_unit`` and ``convert`` for one value), refusing a unit of the
wrong kind for the medium; ``classify_samples`` (``classify`` for one value) classes them against
each medium's ``Guideline`` with the ``ClassSettings``. ``surface_inputs`` and ``interpolate``
make an IDW or kriging ``Surface`` on a ``Grid`` (``make_grid``) in a metric CRS, masked to where
there are data.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geo.contamination.guidelines import ClassSettings, Guideline, classify, classify_samples
    from geo.contamination.media import MEDIA
    from geo.contamination.surface import Grid, Surface, interpolate, make_grid, surface_inputs
    from geo.contamination.units import check_unit, convert, convert_samples

# Each name loads its module on first use (PEP 562): the surfaces need scipy, which the rule check
# and the imports never do (issue 13: ~0.2 s of every command's start-up).
_HOME = {**dict.fromkeys(("ClassSettings", "Guideline", "classify", "classify_samples"), "guidelines"),
         **dict.fromkeys(("Grid", "Surface", "interpolate", "make_grid", "surface_inputs"), "surface"),
         **dict.fromkeys(("check_unit", "convert", "convert_samples"), "units"), "MEDIA": "media"}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)


__all__ = ["MEDIA", "ClassSettings", "Grid", "Guideline", "Surface", "check_unit", "classify",
           "classify_samples", "convert", "convert_samples", "interpolate", "make_grid",
           "surface_inputs"]
