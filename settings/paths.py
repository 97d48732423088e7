"""Where the shipped settings files are: plain paths, so that ``Settings`` can name them without
loading the parsers (pydantic, the rule engine, pint), which load on first use."""
from __future__ import annotations

from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
RULES_PATH = CONFIG_DIR / "rules.toml"
FACTORS_PATH = CONFIG_DIR / "inventory.toml"
GUIDELINES_PATH = CONFIG_DIR / "guidelines.toml"
EXPOSURE_PATH = CONFIG_DIR / "exposure.toml"
