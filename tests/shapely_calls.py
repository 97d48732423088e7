"""Count the passes of real shapely functions over a layer's geometries (the check's speed tests)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pytest
import shapely


def counting(monkeypatch: pytest.MonkeyPatch, names: Iterable[str], n: int) -> Counter[str]:
    """Wrap the real shapely functions ``names``; count their calls on arrays of ``n`` geometries."""
    calls: Counter[str] = Counter()
    for name in names:
        real: Callable[..., Any] = getattr(shapely, name)

        def wrapper(geoms: Any, *args: Any, _real: Callable[..., Any] = real, _name: str = name,
                    **kwargs: Any) -> Any:
            if np.ndim(geoms) == 1 and len(geoms) == n:
                calls[_name] += 1
            return _real(geoms, *args, **kwargs)
        monkeypatch.setattr(shapely, name, wrapper)
    return calls
