"""How many threads the geodesic kernel may use: ``$HGWATCH_THREADS``, else every core.

The value is read once by ``settings.Settings.from_env`` and checked here when first used, so a
bad value is a ``ConfigError`` naming the variable, the value and what is expected.
"""
from __future__ import annotations

import os

from geo.errors import ConfigError

THREADS_ENV = "HGWATCH_THREADS"


def parse_threads(value: str | None) -> int:
    """Worker threads from the text of ``$HGWATCH_THREADS``.

    Parameters
    ----------
    value : the variable's text; None or blank means every core (``os.cpu_count()``).

    Returns
    -------
    int
        At least 1.

    Raises
    ------
    ConfigError
        The text is not a whole number of at least 1.
    """
    cores = os.cpu_count() or 1
    if value is None or not value.strip():
        return cores
    try:
        count = int(value.strip())
    except ValueError:
        count = 0
    if count < 1:
        raise ConfigError(f"${THREADS_ENV} is {value!r}; expected a whole number of threads, at least 1 "
                          f"(unset, HgWatch uses every core: {cores})")
    return count
