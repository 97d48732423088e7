"""Read the guideline file (config/guidelines.toml): values per medium with their citations."""
from __future__ import annotations

import tomllib
from pathlib import Path

from geo.errors import ConfigError
from geo.guidelines import ClassSettings, Guideline
from geo.units import MEDIUM_KIND, parse_unit, unit_kind

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "config" / "guidelines.toml"
_MEDIUM_KEYS = {"value", "unit", "species", "kind", "citation", "predatory_value", "upper_value"}
_CLASS_KEYS = {"near_fraction", "several_times"}
_KINDS = ("guideline", "standard", "setting")


def load_guidelines(
    path: str | Path = DEFAULT_PATH,
) -> tuple[dict[str, Guideline], ClassSettings]:
    """The guideline of every medium and the class settings, from TOML file ``path``.

    Raises
    ------
    ConfigError
        The file is missing or unreadable, or a key, unit or value is wrong; the message names
        the file, the key, the value and what was expected.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read guideline file: {exc}") from None
    _only(path, "", data, {"classes", "medium"})
    classes = data.get("classes", {})
    _only(path, "classes", classes, _CLASS_KEYS)
    settings = ClassSettings(
        near_fraction=_number(path, "classes.near_fraction", classes.get("near_fraction", 0.5)),
        several_times=_number(path, "classes.several_times", classes.get("several_times", 5.0)),
    )
    if not 0 < settings.near_fraction < 1 or settings.several_times <= 1:
        raise ConfigError(f"{path}: [classes] expects 0 < near_fraction < 1 and several_times > 1")
    guidelines = {m: _medium(path, m, v) for m, v in data.get("medium", {}).items()}
    return guidelines, settings


def _medium(path: Path, medium: str, table: object) -> Guideline:
    """One [medium.X] table as a Guideline."""
    where = f"medium.{medium}"
    if medium not in MEDIUM_KIND:
        raise ConfigError(f"{path}: [{where}]: unknown medium; expected one of {sorted(MEDIUM_KIND)}")
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [{where}] must be a table")
    _only(path, where, table, _MEDIUM_KEYS)
    unit = str(table.get("unit", ""))
    try:
        kind = unit_kind(parse_unit(unit))
    except ValueError:
        kind = None
    if kind != MEDIUM_KIND[medium]:
        raise ConfigError(f"{path}: {where}.unit: value {unit!r}: expected a unit of "
                          f"{MEDIUM_KIND[medium]}")
    value = table.get("value")
    citation = str(table.get("citation", ""))
    if value is not None and not citation.strip():
        raise ConfigError(f"{path}: {where}.citation: a guideline value needs its citation")
    if table.get("kind", "guideline") not in _KINDS:
        raise ConfigError(f"{path}: {where}.kind: value {table.get('kind')!r}: expected one of {_KINDS}")
    opt = {k: (None if table.get(k) is None else _number(path, f"{where}.{k}", table[k]))
           for k in ("value", "predatory_value", "upper_value")}
    return Guideline(medium=medium, value=opt["value"], unit=unit,
                     species=str(table.get("species", "total")),
                     kind=str(table.get("kind", "guideline")), citation=citation,
                     predatory_value=opt["predatory_value"], upper_value=opt["upper_value"])


def _only(path: Path, where: str, table: dict[str, object], allowed: set[str]) -> None:
    """Reject unknown keys by name."""
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"{path}: [{where or 'top level'}]: unknown key(s) {unknown}; "
                          f"expected some of {sorted(allowed)}")


def _number(path: Path, key: str, value: object) -> float:
    """A positive finite number, or ConfigError naming the key."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"{path}: {key}: value {value!r}: expected a positive number")
    return float(value)
