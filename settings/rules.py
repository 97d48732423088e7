"""Read a rule file (TOML) from disk into a checked rule set.

The file is parsed with ``tomllib``, validated key by key against the rule models
(``geo.rules.model``) and the layer catalogue, and its examples are run: a rule whose examples do not
behave as declared is refused, so an agency file is tested the moment it is loaded.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from geo.errors import ConfigError
from geo.rules.examples import example_failures
from geo.rules.model import RuleSet, parse_rules
from layers.catalogue import CATALOGUE
from settings.toml import load_toml

DEFAULT_RULES = Path(__file__).resolve().parent.parent / "config" / "rules.toml"


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


def rules_hash(path: str | os.PathLike[str] = DEFAULT_RULES) -> str:
    """SHA-256 (hex) of the rule file's bytes, recorded with every run."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _prefix(path: Path, text: str) -> str:
    return "\n".join(f"{path}: {line}" for line in text.splitlines())
