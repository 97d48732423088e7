"""Read a rule file (TOML) from disk into a checked rule set.

The file is parsed with ``tomllib``, validated key by key against the rule models
(``geo.rules.model``, pure) with the errors worded by ``settings.pydantic_errors``, checked against
the layer catalogue (``settings.rule_check``), and its examples are run: a rule whose examples do
not behave as declared is refused, so an agency file is tested the moment it is loaded.

The examples run once per rule file, not on every command: their outcome (the list of failures,
empty when all pass) is kept in a small JSON file under the user's cache folder
(``$XDG_CACHE_HOME/hgwatch`` or ``~/.cache/hgwatch``), keyed by the SHA-256 of the rule file's
bytes together with a fingerprint of the code that runs them (``geo``, the layer catalogue and
the versions of numpy, pandas, shapely, pyproj and geopandas), so an edited file or an updated
HgWatch or library runs them again. A missing, unreadable or corrupt cache is a miss; a cache that
cannot be written is skipped.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from pydantic import ValidationError

import geo
import layers.catalogue
from geo.errors import ConfigError
from geo.rules import LayerSchema, RuleSet, example_failures
from layers.catalogue import CATALOGUE
from settings.paths import RULES_PATH
from settings.pydantic_errors import describe, merge
from settings.rule_check import catalogue_problems
from settings.toml import load_toml

DEFAULT_RULES = RULES_PATH
CACHE_FILE = "rule-examples.json"
CACHE_ENTRIES = 64  # rule files remembered; the oldest entries go first


def load_rules(path: str | os.PathLike[str] = DEFAULT_RULES, *,
               run_examples: bool = True, cache: str | os.PathLike[str] | None = None) -> RuleSet:
    """The rule set in TOML file ``path``.

    Parameters
    ----------
    path : the rule file; the shipped ``config/rules.toml`` by default.
    run_examples : run every rule's examples and refuse the file when one fails (or take their
        outcome from the cache, see the module docstring).
    cache : the cache file of example outcomes; ``examples_cache()`` by default.

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
        failures = _cached_failures(path, ruleset, Path(cache) if cache is not None else examples_cache())
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


def examples_cache(environ: Mapping[str, str] | None = None) -> Path:
    """The cache file of example outcomes: ``$XDG_CACHE_HOME/hgwatch/rule-examples.json``, or
    ``~/.cache/hgwatch/rule-examples.json`` when the variable is unset or not an absolute path."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or ""
    return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "hgwatch" / CACHE_FILE


@lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    """SHA-256 (hex) of the code that runs examples: the source of ``geo`` and of the layer
    catalogue, and the versions of the libraries that compute with them."""
    root = Path(geo.__file__).resolve().parent
    digest = hashlib.sha256(" ".join(m.__version__ for m in (np, pd, shapely, pyproj, gpd)).encode())
    for file in [*sorted(root.rglob("*.py")), Path(layers.catalogue.__file__).resolve()]:
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def _read_cache(cache: Path) -> dict[str, list[str]]:
    """The cached outcomes (key -> failure lines); empty when the file is missing or not ours."""
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items()
            if isinstance(v, list) and all(isinstance(line, str) for line in v)}


def _write_cache(cache: Path, entries: dict[str, list[str]]) -> None:
    """Write ``entries`` (the newest ``CACHE_ENTRIES``) atomically; give up quietly on any OS error."""
    kept = dict(list(entries.items())[-CACHE_ENTRIES:])
    with contextlib.suppress(OSError):
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{cache.stem}-", suffix=".tmp", dir=cache.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(kept, f)
            os.replace(name, cache)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(name)


def _cached_failures(path: Path, ruleset: RuleSet, cache: Path) -> list[str]:
    """``example_failures`` of ``ruleset`` (read from ``path``), taken from ``cache`` when the same
    file bytes were checked by the same code before, else run and remembered."""
    key = f"{rules_hash(path)}:{_code_fingerprint()}"
    entries = _read_cache(cache)
    if key in entries:
        return entries[key]
    failures = example_failures(ruleset, schemas=CATALOGUE)
    entries[key] = failures
    _write_cache(cache, entries)
    return failures


def _prefix(path: Path, text: str) -> str:
    return "\n".join(f"{path}: {line}" for line in text.splitlines())
