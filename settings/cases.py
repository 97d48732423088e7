"""The case file (``config/cases.toml``): statuses, allowed moves, what a re-run does, and the
distance beyond which a field visit is flagged. Read here, checked by ``geo.cases``."""
from __future__ import annotations

import os
from collections.abc import Collection
from functools import lru_cache
from pathlib import Path

from geo.cases import CaseRules, parse_case_rules
from settings.paths import CONFIG_DIR
from settings.toml import load_toml

DEFAULT_PATH = CONFIG_DIR / "cases.toml"


def load_case_rules(path: str | os.PathLike[str] = DEFAULT_PATH, *, roles: Collection[str]) -> CaseRules:
    """The case file at ``path`` checked against ``roles`` (``ConfigError`` naming every problem).
    Parsed once per file version (path and modification time)."""
    p = Path(path)
    stamp = p.stat().st_mtime_ns if p.exists() else 0
    return _load(str(p), stamp, tuple(sorted(roles)))


@lru_cache(maxsize=8)
def _load(path: str, stamp: int, roles: tuple[str, ...]) -> CaseRules:
    return parse_case_rules(load_toml(path, "case file"), source=path, roles=roles)
