"""Read a rule file (TOML) from disk into a checked rule set.

The file is parsed with ``tomllib``, validated key by key against the rule models
(``geo.rules.model``, pure) with the errors worded by ``settings.pydantic_errors``, checked against
the layer catalogue (``settings.rule_check``), and its examples are run: a rule whose examples do
not behave as declared is refused, so an agency file is tested the moment it is loaded.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from geo.errors import ConfigError
from geo.rules import LayerSchema, RuleSet, example_failures
from layers.catalogue import CATALOGUE
from settings.pydantic_errors import describe, merge
from settings.rule_check import catalogue_problems
from settings.toml import CONFIG_DIR, load_toml

DEFAULT_RULES = CONFIG_DIR / "rules.toml"


def load_rules(path: str | os.PathLike[str] = DEFAULT_RULES, *,
               run_examples: bool = True) -> RuleSet:
    """The rule set in TOML file ``path``.

    Parameters
    ----------
    path : the rule file; the shipped ``config/rules.toml`` by default.
    run_examples : run every rule's examples and refuse the file when one fails.

    Raises
    ------
    ConfigError
        The file is missing or not TOML, or has an unknown key, a bad value, an undeclared layer
        or field, or an example that fails; every line names the file, the rule id and the key.
    """
    path = Path(path)
    data = load_toml(path, "rule file")
    try:
        ruleset = parse_rules(data, schemas=CATALOGUE)
    except ConfigError as exc:
        raise ConfigError(_prefix(path, str(exc))) from None
    if run_examples:
        failures = example_failures(ruleset, schemas=CATALOGUE)
        if failures:
            raise ConfigError(_prefix(path, "\n".join(failures)))
    return ruleset


def parse_rules(data: Mapping[str, object], *, schemas: Mapping[str, LayerSchema]) -> RuleSet:
    """Validate a rule file's content and check it against the layer catalogue.

    Parameters
    ----------
    data : the parsed file (e.g. from ``tomllib``).
    schemas : layer type name -> its declared schema (``layers.catalogue.CATALOGUE``).

    Raises
    ------
    ConfigError
        One line per problem, each naming the rule id, the key and the bad value.
    """
    try:
        ruleset = RuleSet.model_validate(dict(data))
    except ValidationError as exc:
        lines = merge(_describe(err, data) for err in exc.errors())
        raise ConfigError("\n".join(lines)) from None
    problems = [p for rule in ruleset.rules for p in catalogue_problems(rule, schemas)]
    if problems:
        raise ConfigError("\n".join(problems))
    return ruleset


def _describe(error: Mapping[str, object], data: Mapping[str, object]) -> tuple[str, str]:
    """Where (rule id and dotted key) and what (problem and value) for one pydantic error."""
    loc = list(error["loc"])  # type: ignore[call-overload]
    where = "rule file"
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = data.get("rules")
        raw = rules[loc[1]] if isinstance(rules, list) and loc[1] < len(rules) else {}
        rid = raw.get("id") if isinstance(raw, Mapping) else None
        where = f"rule {rid!r}" if rid else f"rule #{loc[1] + 1}"
        loc = loc[2:]
    key, msg = describe(error, loc)
    return (f"{where}: key {key!r}" if key else where), msg


def rules_hash(path: str | os.PathLike[str] = DEFAULT_RULES) -> str:
    """SHA-256 (hex) of the rule file's bytes, recorded with every run."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _prefix(path: Path, text: str) -> str:
    return "\n".join(f"{path}: {line}" for line in text.splitlines())
