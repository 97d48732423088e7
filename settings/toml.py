"""Read a TOML configuration file; report its pydantic validation errors by file, key and value."""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from geo.errors import ConfigError
from settings.pydantic_errors import error_lines


class Strict(BaseModel):
    """Base of the config file models: unknown keys refused, no silent type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True)


def strict_model(name: str, fields: dict[str, Any], base: type[Strict] | None = None) -> type[Strict]:
    """A model class ``name`` (on ``base``, default ``Strict``) with ``fields``: name -> (type,
    default), ``...`` as the default of a required key."""
    return create_model(name, __base__=base or Strict, **fields)


def load_toml(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """The content of TOML file ``path``, or ConfigError naming it (``what``: "rule file"...)."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the {what} ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def validation_message(path: str | os.PathLike[str], exc: ValidationError) -> str:
    """One line per problem of ``exc``: "file: key 'a.b': expected; got value"."""
    return "\n".join(f"{path}: {line}" for line in error_lines(exc))
