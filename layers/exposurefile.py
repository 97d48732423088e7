"""Read the exposure settings file (config/exposure.toml): reach, buffers, surface, pressure, gaps.

Every figure in that file is an assumption of this product, not law (except the 100 m entry
distance, cited to 003). Unknown keys are refused by name.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geo.errors import ConfigError

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "config" / "exposure.toml"

_SCHEMA: dict[str, dict[str, type]] = {
    "downstream": {"reach_m": float, "settlement_buffer_m": float, "entry_distance_m": float,
                   "entry_citation": str, "snap_tolerance_m": float},
    "surface": {"default_method": str, "idw_power": float, "idw_neighbours": int,
                "kriging_min_samples": int, "kriging_neighbours": int, "variogram_model": str,
                "max_distance_m": float,
                "cell_m": float, "below_detection_fraction": float},
    "pressure": {"kernel_width_m": float, "cell_m": float},
    "gaps": {"max_distance_m": float, "max_age_years": float, "media": list},
}


@dataclass(frozen=True)
class ExposureSettings:
    """The four sections of the exposure file, each a plain dict of typed values."""

    downstream: dict[str, Any]
    surface: dict[str, Any]
    pressure: dict[str, Any]
    gaps: dict[str, Any]
    path: str


def load_exposure(path: str | Path = DEFAULT_PATH) -> ExposureSettings:
    """The exposure settings from TOML file ``path``, every key present and typed.

    Raises
    ------
    ConfigError
        Missing file, unknown section or key, missing key, or a value of the wrong type.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read exposure settings: {exc}") from None
    unknown = sorted(set(data) - set(_SCHEMA))
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {unknown}; expected {sorted(_SCHEMA)}")
    sections: dict[str, dict[str, Any]] = {}
    for name, keys in _SCHEMA.items():
        table = data.get(name, {})
        extra = sorted(set(table) - set(keys))
        if extra:
            raise ConfigError(f"{path}: [{name}]: unknown key(s) {extra}; expected {sorted(keys)}")
        section: dict[str, Any] = {}
        for key, kind in keys.items():
            if key not in table:
                raise ConfigError(f"{path}: [{name}] {key}: missing; expected a {kind.__name__}")
            section[key] = _typed(path, f"{name}.{key}", table[key], kind)
        sections[name] = section
    if sections["surface"]["default_method"] not in ("idw", "kriging"):
        raise ConfigError(f"{path}: surface.default_method: expected 'idw' or 'kriging'")
    return ExposureSettings(**sections, path=str(path))


def _typed(path: Path, key: str, value: object, kind: type) -> Any:
    """``value`` as ``kind``; numbers must be non-negative and finite."""
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 <= float(value) < float("inf"):
            raise ConfigError(f"{path}: {key}: value {value!r}: expected a non-negative number")
        return float(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if kind in (str, list) and isinstance(value, kind):
        return value
    raise ConfigError(f"{path}: {key}: value {value!r}: expected a {kind.__name__}")
