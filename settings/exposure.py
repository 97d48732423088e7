"""Read the exposure settings file (config/exposure.toml): reach, buffers, surface, pressure, gaps.

Every figure in that file is an assumption of this product, not law (except the 100 m entry
distance, cited to 003). Every key of every section is required; pydantic refuses unknown keys by
name and reports every problem at once. Distances (``*_m``) are in metres.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from geo.contamination import MEDIA
from geo.errors import ConfigError
from settings.paths import EXPOSURE_PATH
from settings.toml import load_toml, strict_model, validation_message

DEFAULT_PATH = EXPOSURE_PATH
_M = Annotated[float, Field(ge=0, allow_inf_nan=False)]  # metres, years or a factor, >= 0
_N = Annotated[int, Field(gt=0)]
_SCHEMA: dict[str, dict[str, Any]] = {
    "downstream": {"reach_m": _M, "settlement_buffer_m": _M, "entry_distance_m": _M,
                   "entry_citation": str, "snap_tolerance_m": _M},
    "surface": {"default_method": Literal["idw", "kriging"], "idw_power": _M,
                "idw_neighbours": _N, "kriging_min_samples": _N, "kriging_neighbours": _N,
                "variogram_model": str, "max_distance_m": _M, "cell_m": _M,
                "below_detection_fraction": _M},
    "pressure": {"kernel_width_m": _M, "cell_m": _M},
    "gaps": {"max_distance_m": _M, "max_age_years": _M,
             "media": list[Literal[MEDIA]]},  # type: ignore[valid-type]
}


_ExposureFile = strict_model("ExposureFile", {
    name: (strict_model(name, {k: (t, ...) for k, t in keys.items()}), ...)
    for name, keys in _SCHEMA.items()})


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
        Missing file, unknown section or key, missing key, or a value of the wrong type; one
        line per problem naming the file, the key, the value and what was expected.
    """
    try:
        model = _ExposureFile.model_validate(load_toml(path, "exposure settings file"))
    except ValidationError as exc:
        raise ConfigError(validation_message(path, exc)) from None
    return ExposureSettings(**model.model_dump(), path=str(path))
