"""Read the guideline file (config/guidelines.toml): values per medium with their citations."""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationError, model_validator

from geo.contamination import MEDIA, ClassSettings, Guideline, check_unit
from geo.errors import ConfigError
from settings.paths import GUIDELINES_PATH
from settings.toml import Strict, load_toml, strict_model, validation_message

DEFAULT_PATH = GUIDELINES_PATH
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _Classes(Strict):
    near_fraction: float = Field(default=0.5, gt=0, lt=1)
    several_times: float = Field(default=5.0, gt=1, allow_inf_nan=False)


class _Medium(Strict):
    value: Positive | None = None
    unit: str
    species: str = "total"
    kind: Literal["guideline", "standard", "setting"] = "guideline"
    citation: str = ""
    predatory_value: Positive | None = None
    upper_value: Positive | None = None

    @model_validator(mode="after")
    def _cited(self) -> _Medium:
        if self.value is not None and not self.citation.strip():
            raise ValueError(f"value {self.value} needs a 'citation' naming its source;"
                             f" got citation {self.citation!r}")
        return self


def _unit_of(medium: str, text: str) -> str:
    """``text`` when pint reads it as a unit of ``medium``'s kind; ValueError saying why not."""
    if (why := check_unit(medium, text)) is not None:
        raise ValueError(why)
    return text


# one optional table per known medium, its unit checked against the medium's kind
_Media = strict_model("Media", {m: (strict_model(
    f"Medium_{m}", {"unit": (Annotated[str, AfterValidator(partial(_unit_of, m))], ...)},
    base=_Medium) | None, None) for m in MEDIA})


class _GuidelineFile(Strict):
    classes: _Classes = _Classes()
    medium: _Media = _Media()  # type: ignore[valid-type]


def load_guidelines(path: str | Path = DEFAULT_PATH) -> tuple[dict[str, Guideline],
                                                              ClassSettings]:
    """The guideline of every medium and the class settings, from TOML file ``path``.

    Raises
    ------
    ConfigError
        The file is missing or unreadable, or a key, unit or value is wrong; one line per
        problem naming the file, the key, the value and what was expected.
    """
    data = load_toml(path, "guideline file")
    try:
        model = _GuidelineFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(path, exc)) from None
    guidelines = {m: Guideline(medium=m, **getattr(model.medium, m).model_dump())
                  for m in data.get("medium", {})}  # in the file's order
    return guidelines, ClassSettings(**model.classes.model_dump())
