"""Contamination: sample units, classes against guideline values, and interpolated surfaces.

``MEDIA`` is the one list of sample media. ``convert_samples`` converts every sample to its
medium's unit through pint (``check_unit`` and ``convert`` for one value), refusing a unit of the
wrong kind for the medium; ``classify_samples`` (``classify`` for one value) classes them against
each medium's ``Guideline`` with the ``ClassSettings``. ``surface_inputs`` and ``interpolate``
make an IDW or kriging ``Surface`` on a ``Grid`` (``make_grid``) in a metric CRS, masked to where
there are data.
"""
from geo.contamination.guidelines import ClassSettings, Guideline, classify, classify_samples
from geo.contamination.surface import Grid, Surface, interpolate, make_grid, surface_inputs
from geo.contamination.units import MEDIA, check_unit, convert, convert_samples

__all__ = ["MEDIA", "ClassSettings", "Grid", "Guideline", "Surface", "check_unit", "classify",
           "classify_samples", "convert", "convert_samples", "interpolate", "make_grid",
           "surface_inputs"]
