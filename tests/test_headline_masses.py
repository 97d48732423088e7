"""The headline's mercury range (``ui.sidebar._masses``): kilograms up to 10,000 kg, then tonnes to one
decimal, converted through pint (``geo.quantities``), so that a national range fits its column (the
browser test checks that no headline figure is cut off on the demo)."""
from __future__ import annotations

import pytest

from ui.sidebar import _masses


@pytest.mark.parametrize(("kg", "expected"), [
    ((214.2, 509.0, 1104.4), ("kg", ["214", "509", "1,104"])),
    ((0.0, 0.0, 0.0), ("kg", ["0", "0", "0"])),
    ((2000.0, 5000.0, 9999.4), ("kg", ["2,000", "5,000", "9,999"])),
    ((4000.0, 7000.0, 10_000.0), ("t", ["4.0", "7.0", "10.0"])),
    ((21_400.0, 50_049.0, 110_400.0), ("t", ["21.4", "50.0", "110.4"])),
    ((1_250_000.0, 2_000_000.0, 3_450_000.0), ("t", ["1,250.0", "2,000.0", "3,450.0"])),
])
def test_masses_in_kilograms_then_tonnes(kg: tuple[float, ...], expected: tuple[str, list[str]]) -> None:
    assert _masses(*kg) == expected
