"""Settings: the four TOML files (rules, inventory factors, guideline values, exposure) and the
environment, loaded once into one typed object that is passed in. No compute function reads a
config file itself.

``Settings.from_env()`` is the one place that reads ``$HGWATCH_WORKSPACE`` and
``$HGWATCH_DATABASE_URL`` (the PostGIS store, ``layers.store.open``). Each file is parsed on
first use and kept; a file with errors raises ``ConfigError`` (with every problem) on each access,
so a page can show the message and go on with what else works.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from layers.store.workspace import DEFAULT_PATH as DEMO_WORKSPACE
from settings.oidc import ENV_NAMES as OIDC_ENV_NAMES
from settings.paths import EXPOSURE_PATH, FACTORS_PATH, GUIDELINES_PATH, RULES_PATH
from settings.threads import THREADS_ENV, parse_threads

if TYPE_CHECKING:  # each file's parser loads on its first use (pydantic, the rule engine, pint: issue 13,
    from geo.contamination import ClassSettings, Guideline  # ~0.3 s of every command's start-up)
    from geo.inventory import Factors
    from geo.rules import RuleSet
    from settings.exposure import ExposureSettings

WORKSPACE_ENV = "HGWATCH_WORKSPACE"
DATABASE_ENV = "HGWATCH_DATABASE_URL"  # a postgresql:// URL: the PostGIS store instead of the file

__all__ = ["DATABASE_ENV", "DEMO_WORKSPACE", "WORKSPACE_ENV", "Settings", "workspace_from_env"]


def workspace_from_env(environ: Mapping[str, str] | None = None) -> Path:
    """The workspace file: ``$HGWATCH_WORKSPACE``, else the embedded demo workspace."""
    env = os.environ if environ is None else environ
    return Path(env.get(WORKSPACE_ENV) or DEMO_WORKSPACE)


@dataclass(frozen=True)
class Settings:
    """Where the workspace and the four settings files are, and their parsed contents."""

    workspace: Path = DEMO_WORKSPACE
    rules_path: Path = RULES_PATH
    factors_path: Path = FACTORS_PATH
    guidelines_path: Path = GUIDELINES_PATH
    exposure_path: Path = EXPOSURE_PATH
    threads_value: str | None = None  # $HGWATCH_THREADS as given; None: every core (see .threads)
    database_url: str | None = None  # the PostGIS store (layers.store.open), used instead of `workspace`
    oidc_env: tuple[tuple[str, str], ...] = ()  # the $HGWATCH_OIDC_* / $HGWATCH_SIGN_IN variables (settings.oidc)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, database_url: str | None = None,
                 **paths: Path | str | None) -> Settings:
        """Settings for this process: the workspace from ``paths`` or the environment, and the
        settings files from ``paths`` where given, else the shipped ones in ``config/``.
        The store is the database ``database_url`` if given, else the workspace file given in
        ``paths``, else ``$HGWATCH_DATABASE_URL``, else ``$HGWATCH_WORKSPACE`` or the demo."""
        env = os.environ if environ is None else environ
        chosen = {k: Path(v) for k, v in paths.items() if v is not None}
        if not database_url and "workspace" not in chosen:
            database_url = env.get(DATABASE_ENV, "").strip() or None
        chosen.setdefault("workspace", workspace_from_env(environ))
        oidc_env = tuple((k, env[k]) for k in OIDC_ENV_NAMES if k in env)
        return cls(**chosen, threads_value=env.get(THREADS_ENV), database_url=database_url or None, oidc_env=oidc_env)

    def with_paths(self, **paths: Path | str | None) -> Settings:
        """A copy with other file paths (``None`` keeps the current one); nothing is re-read
        from files that did not change name."""
        changed: dict[str, Any] = {k: Path(v) for k, v in paths.items() if v is not None}
        return replace(self, **changed)

    @cached_property
    def threads(self) -> int:
        """Worker threads for the geodesic kernel (``ConfigError`` if $HGWATCH_THREADS is bad)."""
        return parse_threads(self.threads_value)

    @cached_property
    def rules(self) -> RuleSet:
        """The rule set, its examples run (``ConfigError`` if the file is unusable)."""
        from settings.rules import load_rules

        return load_rules(self.rules_path)

    @cached_property
    def rules_hash(self) -> str:
        from settings.rules import rules_hash

        return rules_hash(self.rules_path)

    @cached_property
    def factors(self) -> Factors:
        from settings.factors import load_factors

        return load_factors(self.factors_path)

    @cached_property
    def guidelines(self) -> tuple[dict[str, Guideline], ClassSettings]:
        from settings.guidelines import load_guidelines

        return load_guidelines(self.guidelines_path)

    @cached_property
    def exposure(self) -> ExposureSettings:
        from settings.exposure import load_exposure

        return load_exposure(self.exposure_path)

    def stamp(self) -> tuple[float, ...]:
        """Modification times of the four settings files, for cache keys. Not the workspace's: a
        bookkeeping write (an audit row, an account) changes that file too; the store's own
        ``change_stamp`` says when its data changed."""
        return tuple(_mtime(p) for p in (self.rules_path, self.factors_path, self.guidelines_path, self.exposure_path))


def _mtime(path: Path) -> float:
    """The modification time of ``path``; 0 when it does not exist (one ``stat``: read before every cached answer)."""
    try:
        return os.stat(path).st_mtime
    except FileNotFoundError:
        return 0.0
