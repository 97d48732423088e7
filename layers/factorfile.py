"""Read and check the inventory factor file (``config/inventory.toml``).

Every problem is collected and raised once as a :class:`ConfigError` naming the file, the key
and the value, so that an agency replacing the factors with its own fixes the file in one pass.
"""
from __future__ import annotations

import math
import os
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pint

from geo.errors import ConfigError
from geo.factors import COMPARTMENTS, Factors, PublishedEstimate, Range, Route, Target
from geo.targets import METRICS
from layers.catalogue import AMALGAMATION, BURNING, STATUS

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "config" / "inventory.toml"
_TOP = {"settings", "hg_au_ratio", "route", "burning_route", "published", "baseline", "targets"}
_QUANTITY = {"mercury_used", "mercury_released"}
_UREG = pint.get_application_registry()


class _Checker:
    """Collects problems as 'key: value: expected' lines for one file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[str] = []

    def fail(self, key: str, value: object, expected: str) -> None:
        shown = "" if value is None else f" value {value!r}:"
        self.problems.append(f"key '{key}':{shown} {expected}")

    def table(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key)
        if not isinstance(value, dict):
            self.fail(key, value, "a table")
            return {}
        return value

    def number(self, data: dict[str, Any], key: str, name: str, *,
               lo: float | None = None, hi: float | None = None) -> float:
        value = data.get(name)
        if value is None:
            self.fail(f"{key}.{name}", None, "missing; expected a number")
            return float("nan")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(
                value):
            self.fail(f"{key}.{name}", value, "a finite number")
            return float("nan")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            self.fail(f"{key}.{name}", value, f"a number from {lo} to {hi}")
        return float(value)

    def text(self, data: dict[str, Any], key: str, name: str, *, required: bool = True) -> str:
        value = data.get(name, "")
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(f"{key}.{name}", value if name in data else None,
                      "a non-empty text" if required else "a text")
            return ""
        return value

    def range(self, data: object, key: str, *, lo: float = 0.0,
              hi: float | None = None, unit: str = "") -> Range:
        if not isinstance(data, dict):
            self.fail(key, data, "a table with low, central, high and source")
            return Range(0.0, 0.0, 0.0, "", unit)
        low, central, high = (self.number(data, key, n, lo=lo, hi=hi)
                              for n in ("low", "central", "high"))
        if not low <= central <= high and all(v == v for v in (low, central, high)):
            self.fail(key, [low, central, high], "low <= central <= high")
        return Range(low, central, high, self.text(data, key, "source"),
                     str(data.get("unit", unit)))


def load_factors(path: str | os.PathLike[str] | None = None) -> Factors:
    """Read, check and return the factors in TOML file ``path`` (default config/inventory.toml).

    Raises
    ------
    ConfigError
        naming the file, every bad key and its value: a factor without a full range or source,
        a practice of the layer catalogue without a factor, an unknown route, metric or key.
    """
    file = Path(path) if path is not None else DEFAULT_PATH
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: factor file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not a valid TOML file: {exc}") from None
    check = _Checker(str(file))
    factors = _build(data, check, str(file))
    if check.problems:
        raise ConfigError("\n".join([f"{file}: {len(check.problems)} problem(s) in the factor"
                                     " file"] + [f"  {p}" for p in check.problems]))
    return factors


def _build(data: dict[str, Any], check: _Checker, file: str) -> Factors:
    for key in sorted(set(data) - _TOP):
        check.fail(key, None, f"unknown key; expected one of {sorted(_TOP)}")
    settings = check.table(data, "settings")
    ratios = {k: check.range(v, f"hg_au_ratio.{k}", unit="g/g")
              for k, v in check.table(data, "hg_au_ratio").items()}
    for k in AMALGAMATION:
        if k not in ratios:
            check.fail(f"hg_au_ratio.{k}", None, "missing; every amalgamation practice of the"
                       f" mining_sites layer needs a range: {list(AMALGAMATION)}")
    routes = {k: _route(k, v, check) for k, v in check.table(data, "route").items()}
    burning = check.table(data, "burning_route")
    for k in BURNING:
        if k not in burning:
            check.fail(f"burning_route.{k}", None, f"missing; expected one of {sorted(routes)}")
    for k, v in burning.items():
        if k not in BURNING:
            check.fail(f"burning_route.{k}", None, f"unknown burning method; expected one of"
                       f" {list(BURNING)}")
        elif v not in routes:
            check.fail(f"burning_route.{k}", v, f"one of the routes {sorted(routes)}")
    baseline = data.get("baseline", {}) if isinstance(data.get("baseline", {}), dict) else {}
    pcts = settings.get("percentiles", [5, 95])
    if not (isinstance(pcts, list) and len(pcts) == 2 and all(
            isinstance(p, (int, float)) and 0 < p < 100 for p in pcts) and pcts[0] < pcts[1]):
        check.fail("settings.percentiles", pcts, "two percentiles between 0 and 100, ascending")
        pcts = [5, 95]
    distribution = settings.get("distribution", "pert")
    if distribution not in ("pert", "triangular"):
        check.fail("settings.distribution", distribution, "'pert' or 'triangular'")
    draws = check.number(settings, "settings", "draws", lo=100, hi=1_000_000)
    statuses = settings.get("counted_statuses", ["active", "inactive", "unknown"])
    if not isinstance(statuses, list) or any(s not in STATUS for s in statuses):
        check.fail("settings.counted_statuses", statuses, f"a list of statuses from {list(STATUS)}")
        statuses = ["active", "inactive", "unknown"]
    seed = settings.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        check.fail("settings.seed", seed, "a whole number, zero or more")
        seed = 0
    return Factors(
        hg_au_ratio=ratios, routes=routes, burning_route={k: str(v) for k, v in burning.items()},
        working_days=check.range(settings.get("working_days"), "settings.working_days",
                                 hi=366, unit="day/year"),
        published=tuple(_published(i, p, check) for i, p in enumerate(_list(data, "published"))),
        targets=tuple(_target(i, t, check) for i, t in enumerate(_list(data, "targets"))),
        baseline_year=baseline.get("year") if isinstance(baseline.get("year"), int) else None,
        baseline_round=str(baseline.get("round", "")),
        baseline_source=str(baseline.get("source", "")),
        draws=int(draws) if draws == draws else 0, seed=seed, distribution=str(distribution),
        percentiles=(float(pcts[0]), float(pcts[1])), counted_statuses=tuple(statuses),
        source_file=file,
    )


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    return value if isinstance(value, list) else []


def _route(name: str, data: object, check: _Checker) -> Route:
    key = f"route.{name}"
    if not isinstance(data, dict):
        check.fail(key, data, "a table with air, water and land ranges")
        data = {}
    shares = {c: check.range(data.get(c), f"{key}.{c}", hi=1.0) for c in COMPARTMENTS}
    if sum(s.low for s in shares.values()) > 1.0:
        check.fail(key, None, "the low shares of air, water and land add up to more than 1")
    return Route(name, str(data.get("label", name)), **shares)


def _published(i: int, data: object, check: _Checker) -> PublishedEstimate:
    key = f"published[{i}]"
    if not isinstance(data, dict):
        check.fail(key, data, "a table")
        data = {}
    quantity = data.get("quantity")
    if quantity not in _QUANTITY:
        check.fail(f"{key}.quantity", quantity, f"one of {sorted(_QUANTITY)}")
    unit = str(data.get("unit", "kg/year"))
    try:
        scale = float((1 * _UREG(unit)).to("kg/year").magnitude)
    except (pint.errors.PintError, AttributeError, TypeError, ValueError):
        check.fail(f"{key}.unit", unit, "a mass per time unit such as 'kg/year' or 't/year'")
        scale = 1.0
    central = check.number(data, key, "central", lo=0) * scale
    low = check.number(data, key, "low", lo=0) * scale if "low" in data else None
    high = check.number(data, key, "high", lo=0) * scale if "high" in data else None
    if (low is not None and low > central) or (high is not None and high < central):
        check.fail(key, [low, central, high], "low <= central <= high")
    year = data.get("year")
    return PublishedEstimate(
        area=check.text(data, key, "area"), quantity=str(quantity), central=central, low=low,
        high=high, unit="kg/year", year=year if isinstance(year, int) else None,
        method=check.text(data, key, "method"), source=check.text(data, key, "source"))


def _target(i: int, data: object, check: _Checker) -> Target:
    key = f"targets[{i}]"
    if not isinstance(data, dict):
        check.fail(key, data, "a table")
        data = {}
    metric = data.get("metric")
    if metric not in METRICS:
        check.fail(f"{key}.metric", metric, f"one of {sorted(METRICS)}")
    raw = data.get("deadline", "")
    deadline: date | None = None
    if isinstance(raw, date):
        deadline = raw
    elif isinstance(raw, str) and raw.strip():
        try:
            deadline = date.fromisoformat(raw.strip())
        except ValueError:
            check.fail(f"{key}.deadline", raw, "a date as YYYY-MM-DD, or empty")
    return Target(id=check.text(data, key, "id"), label=check.text(data, key, "label"),
                  metric=str(metric), value=check.number(data, key, "value", lo=0, hi=1),
                  deadline=deadline, source=check.text(data, key, "source"))
