"""Read and check the inventory factor file (``config/inventory.toml``) with pydantic models.

Unknown keys are refused by name, every factor is a sourced range low <= central <= high, every
practice of the layer catalogue needs its factor, and every unit goes through pint
(``geo.quantities``): a factor's ``unit`` must be of the factor's kind (a mass ratio for an
Hg:Au ratio, days a year for working days) and is converted to the computing unit, and a
published estimate's unit to kg a year. Every problem is raised at once, naming the file, the
key, the value and what was expected.
"""
from __future__ import annotations

import math
import os
from datetime import date
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from geo.errors import ConfigError
from geo.inventory import DAYS_UNIT, METRICS, RATIO_UNIT, SHARE_UNIT, Factors, PublishedEstimate, Range, Route, Target
from geo.inventory.factors import COUNTED_STATUSES, DISTRIBUTION, PERCENTILES, RESURVEY_DISTANCE_M, RESURVEY_SOURCE
from geo.quantities import UNIT_ERRORS, factor
from layers.catalogue import AMALGAMATION, BURNING, STATUS
from settings.paths import FACTORS_PATH
from settings.toml import Strict, load_toml, strict_model, validation_message

DEFAULT_PATH = FACTORS_PATH


def _mass_per_year(unit: str) -> str:
    try:
        factor(unit, "kg/year")
    except UNIT_ERRORS:
        raise ValueError("a mass per time unit such as 'kg/year' or 't/year'") from None
    return unit


def _known_route(name: str, info: ValidationInfo) -> str:
    given = (info.context or {}).get("routes")  # the file's [route] table, unchecked
    if name not in (routes := sorted(given) if isinstance(given, dict) else []):
        raise ValueError(f"one of the routes {routes}")
    return name


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Amount = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Status = Literal[STATUS]  # type: ignore[valid-type]


class _Ordered(Strict):
    """low <= central <= high <= upper (in the computing unit); a published estimate may give
    no low or high."""

    low: Amount | None
    central: Amount
    high: Amount | None
    upper: ClassVar[float] = math.inf

    def _scale(self) -> float:
        """One unit of the values in the unit ``upper`` is in."""
        return 1.0

    @model_validator(mode="after")
    def _in_order(self) -> _Ordered:
        lo, mid, hi = self.low, self.central, self.high
        if (lo is not None and lo > mid) or (
                hi is not None and not (mid <= hi and hi * self._scale() <= self.upper)):
            bound = "" if self.upper == math.inf else f" <= {self.upper / self._scale():g}"  # file's unit
            raise ValueError(f"low <= central <= high{bound}; got {[lo, mid, hi]}")
        return self


class _Range(_Ordered):
    """A factor range; ``unit`` (optional) must be of the kind of ``computing_unit``."""

    low: Amount
    high: Amount
    source: Text
    unit: str | None = None
    computing_unit: ClassVar[str] = RATIO_UNIT
    kind: ClassVar[str] = "a mass ratio unit such as 'g/g', 'mg/g' or 'kg/t'"

    @model_validator(mode="before")
    @classmethod
    def _known_unit(cls, data: object) -> object:
        unit = data.get("unit") if isinstance(data, dict) else None
        if isinstance(unit, str):
            try:
                factor(unit, cls.computing_unit)
            except UNIT_ERRORS:
                raise ValueError(f"'unit' {cls.kind}; got {unit!r}") from None
        return data

    def _scale(self) -> float:
        try:
            return factor(self.unit or self.computing_unit, self.computing_unit)
        except UNIT_ERRORS:  # _known_unit has refused it already
            return 1.0

    def range(self) -> Range:
        """As a :class:`Range` in the file's unit (``Factors`` converts it to the computing unit)."""
        return Range(self.low, self.central, self.high, self.source,
                     self.computing_unit if self.unit is None else self.unit)


class _Share(_Range):
    upper = 1.0
    computing_unit = SHARE_UNIT
    kind = "a share: no unit, or 'percent'"


class _WorkingDays(_Range):
    upper = 366.0
    computing_unit = DAYS_UNIT
    kind = "a number of days per time such as 'day/year' or 'day/week'"


class _Route(Strict):
    label: str | None = None
    air: _Share
    water: _Share
    land: _Share

    @model_validator(mode="after")
    def _at_most_all(self) -> _Route:
        lows = [r.low * r._scale() for r in (self.air, self.water, self.land)]
        if sum(lows) > 1.0:
            raise ValueError(f"low shares of air, water and land adding to 1 at most; got {lows}")
        return self


class _Settings(Strict):
    draws: int = Field(ge=100, le=1_000_000)
    seed: int = Field(ge=0)
    distribution: Literal["pert", "triangular"] = DISTRIBUTION
    percentiles: list[Annotated[float, Field(gt=0, lt=100)]] = Field(
        default=list(PERCENTILES), min_length=2, max_length=2)
    counted_statuses: list[Status] = list(COUNTED_STATUSES)
    working_days: _WorkingDays

    @model_validator(mode="after")
    def _ascending(self) -> _Settings:
        if self.percentiles[0] >= self.percentiles[1]:
            raise ValueError(f"'percentiles' in ascending order; got {self.percentiles}")
        return self


class _Published(_Ordered):
    area: Text
    quantity: Literal["mercury_used", "mercury_released"]
    low: Amount | None = None
    high: Amount | None = None
    unit: Annotated[str, AfterValidator(_mass_per_year)] = "kg/year"
    year: int | None = None
    method: Text
    source: Text

    def estimate(self) -> PublishedEstimate:
        """As a :class:`PublishedEstimate` in kg a year."""
        kg = factor(self.unit, "kg/year")
        low, high = (None if v is None else v * kg for v in (self.low, self.high))
        return PublishedEstimate(self.area, self.quantity, self.central * kg, low, high,
                                 "kg/year", self.year, self.method, self.source)


class _Target(Strict):
    id: Text
    label: Text
    metric: Literal[tuple(METRICS)]  # type: ignore[valid-type]
    value: float = Field(ge=0, le=1)
    deadline: Annotated[date | None, BeforeValidator(lambda v: None if v == "" else v)] = Field(
        default=None, strict=False)  # a TOML date or "YYYY-MM-DD"; empty: no deadline
    source: Text


class _Resurvey(Strict):
    """Records of different rounds within ``distance_m`` (geodesic metres; twice the layer's expected
    error is added) are listed as possible re-surveys of one site (``geo.inventory.resurvey``)."""

    distance_m: float = Field(default=RESURVEY_DISTANCE_M, ge=0, le=10_000, allow_inf_nan=False)
    source: Text = RESURVEY_SOURCE


class _Baseline(Strict):
    year: int | None = None
    round: str = ""
    source: str = ""


# one key per practice of the layer catalogue: a missing one is refused, an unknown one too
_Ratios = strict_model("HgAuRatio", {k: (_Range, ...) for k in AMALGAMATION})
_Burning = strict_model("BurningRoute", {
    k: (Annotated[str, AfterValidator(_known_route)], ...) for k in BURNING})


class _FactorFile(Strict):
    settings: _Settings
    hg_au_ratio: _Ratios  # type: ignore[valid-type]
    route: dict[str, _Route]
    burning_route: _Burning  # type: ignore[valid-type]
    published: list[_Published] = []
    baseline: _Baseline = _Baseline()
    targets: list[_Target] = []
    resurvey: _Resurvey = _Resurvey()


def load_factors(path: str | os.PathLike[str] | None = None) -> Factors:
    """Read, check and return the factors in TOML file ``path`` (default config/inventory.toml).

    Raises
    ------
    ConfigError
        One line per problem naming the file, the key, the value and what was expected: a
        factor without a full range or source, a practice of the layer catalogue without a
        factor, an unknown route, metric or key.
    """
    file = Path(path) if path is not None else DEFAULT_PATH
    data = load_toml(file, "factor file")
    try:
        m = _FactorFile.model_validate(data, context={"routes": data.get("route")})
    except ValidationError as exc:
        raise ConfigError(validation_message(file, exc)) from None
    s = m.settings
    return Factors(  # tables in the file's order
        hg_au_ratio={k: getattr(m.hg_au_ratio, k).range() for k in data["hg_au_ratio"]},
        routes={k: Route(k, r.label or k, r.air.range(), r.water.range(), r.land.range())
                for k, r in m.route.items()},
        burning_route={k: getattr(m.burning_route, k) for k in data["burning_route"]},
        working_days=s.working_days.range(),
        published=tuple(p.estimate() for p in m.published),
        targets=tuple(Target(**t.model_dump()) for t in m.targets),
        baseline_year=m.baseline.year, baseline_round=m.baseline.round,
        baseline_source=m.baseline.source, draws=s.draws, seed=s.seed,
        distribution=s.distribution, percentiles=(s.percentiles[0], s.percentiles[1]),
        counted_statuses=tuple(s.counted_statuses), source_file=str(file),
        resurvey_distance_m=m.resurvey.distance_m, resurvey_source=m.resurvey.source)
