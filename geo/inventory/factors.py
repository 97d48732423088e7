"""Inventory factors as plain typed values: ranges with sources, routes, published estimates, targets.

Nothing here reads a file: ``settings.factors`` builds a :class:`Factors` from
``config/inventory.toml`` and checks it. The inventory, Monte Carlo and target modules take a
:class:`Factors` and never look anywhere else for a number. A :class:`Factors` holds every range
in the unit the computations use (``RATIO_UNIT``, ``SHARE_UNIT``, ``DAYS_UNIT``): a range given
in another unit of the same kind (``"mg/g"``, ``"percent"``, ``"day/week"``) is converted
through pint (``geo.quantities``) when the :class:`Factors` is made.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from geo.quantities import factor

RATIO_UNIT = "g/g"
"""Unit of an Hg:Au ratio: grams of mercury used per gram of gold."""
SHARE_UNIT = ""
"""Unit of a release share: a pure number between 0 and 1."""
DAYS_UNIT = "day/year"
"""Unit of working days."""

DISTRIBUTION: Literal["pert", "triangular"] = "pert"
"""The Monte Carlo distribution over low/central/high when the factor file names none."""
PERCENTILES: tuple[float, float] = (5.0, 95.0)
"""The percentiles of a roll-up when the factor file names none."""
COUNTED_STATUSES: tuple[str, ...] = ("active", "inactive", "unknown")
"""The site statuses that add to the yearly totals when the factor file names none."""

RESURVEY_DISTANCE_M = 100.0
"""Metres within which a later round's site may be an earlier round's site surveyed again, when the
factor file names none (``[resurvey] distance_m``); the layer's expected error is added twice."""
RESURVEY_SOURCE = (
    "assumption: the source documents give no distance; a small digging site (1-2 diggers, 003 L556) spans tens"
    " of metres and two surveys may fix different points of it (pit, sluice, camp); handheld GPS is good to a"
    " few metres. Twice the layer's expected error is added when it is recorded")
"""Why ``RESURVEY_DISTANCE_M`` is what it is."""

COMPARTMENTS: tuple[str, ...] = ("air", "water", "land")
"""Where released mercury goes: air, water, and land (tailings and soil)."""

QUANTITIES: tuple[str, ...] = ("used", "air", "water", "land", "released", "recovered")
"""Per-site and rolled-up quantities, each in kg of mercury a year."""


@dataclass(frozen=True)
class Range:
    """One uncertain factor: low <= central <= high, in ``unit``, with where it comes from.

    Parameters
    ----------
    low, central, high : the range; ``central`` is the most likely value.
    source : document and line reference, or "assumption: ..." in plain words.
    unit : pint unit of the factor ("g/g" for grams of mercury per gram of gold, "" for a
        share between 0 and 1, "day/year" for working days).
    """

    low: float
    central: float
    high: float
    source: str
    unit: str = ""

    @property
    def is_assumption(self) -> bool:
        """True when the value is HgWatch's own assumption, not a figure from a source."""
        return self.source.lower().startswith("assumption")

    def to(self, unit: str) -> Range:
        """The same range in ``unit``, converted through pint.

        Raises
        ------
        pint.errors.DimensionalityError
            ``unit`` is not of the same kind as the range's own unit.
        """
        k = factor(self.unit, unit)
        return replace(self, low=self.low * k, central=self.central * k, high=self.high * k,
                       unit=unit)

    def text(self, digits: int = 3) -> str:
        """The range as 'central (low-high)' for tables."""
        fmt = f"{{:.{digits}g}}"
        return f"{fmt.format(self.central)} ({fmt.format(self.low)}-{fmt.format(self.high)})"


@dataclass(frozen=True)
class Route:
    """How the mercury used on a site is split: shares (0-1) to air, water and land."""

    name: str
    label: str
    air: Range
    water: Range
    land: Range

    def share(self, compartment: str) -> Range:
        """The share range of ``compartment`` ("air", "water" or "land")."""
        return {"air": self.air, "water": self.water, "land": self.land}[compartment]


@dataclass(frozen=True)
class PublishedEstimate:
    """A figure someone else published for the same quantity, kept beside ours.

    ``low`` and ``high`` are None where the source gives a single figure.
    """

    area: str
    quantity: str
    central: float
    low: float | None
    high: float | None
    unit: str
    year: int | None
    method: str
    source: str


@dataclass(frozen=True)
class Target:
    """A National Action Plan target: a metric, the value to reach, and by when.

    ``metric`` is one of ``targets.METRICS``; ``value`` is a share between 0 and 1.
    """

    id: str
    label: str
    metric: str
    value: float
    deadline: date | None
    source: str


@dataclass(frozen=True)
class Factors:
    """Everything the inventory needs besides the sites, as read from one factor file."""

    hg_au_ratio: dict[str, Range]
    routes: dict[str, Route]
    burning_route: dict[str, str]
    working_days: Range
    published: tuple[PublishedEstimate, ...] = ()
    targets: tuple[Target, ...] = ()
    baseline_year: int | None = None
    baseline_round: str = ""
    baseline_source: str = ""
    draws: int = 5000
    seed: int = 0
    distribution: str = DISTRIBUTION
    percentiles: tuple[float, float] = PERCENTILES
    counted_statuses: tuple[str, ...] = COUNTED_STATUSES
    source_file: str = "config/inventory.toml"
    resurvey_distance_m: float = RESURVEY_DISTANCE_M
    """Metres (geodesic) within which two sites of different rounds are listed as a possible re-survey."""
    resurvey_source: str = RESURVEY_SOURCE

    def __post_init__(self) -> None:
        """Every range in the unit the computations use (see the module docstring)."""
        set_ = object.__setattr__  # a frozen dataclass sets its own fields once, here
        set_(self, "hg_au_ratio", {k: r.to(RATIO_UNIT) for k, r in self.hg_au_ratio.items()})
        set_(self, "routes", {k: replace(r, air=r.air.to(SHARE_UNIT), water=r.water.to(SHARE_UNIT),
                                         land=r.land.to(SHARE_UNIT)) for k, r in self.routes.items()})
        set_(self, "working_days", self.working_days.to(DAYS_UNIT))

    def route_for(self, burning: str) -> Route:
        """The release route a site's ``burning`` value stands for."""
        return self.routes[self.burning_route[burning]]

    def sources(self) -> list[tuple[str, str, str]]:
        """Every factor as (name, range text, source), for the report's sources table."""
        rows = [(f"Hg:Au ratio, {k.replace('_', ' ')} (g Hg per g Au)", r.text(), r.source)
                for k, r in self.hg_au_ratio.items()]
        for route in self.routes.values():
            for comp in COMPARTMENTS:
                r = route.share(comp)
                rows.append((f"share to {comp}, {route.label}", r.text(), r.source))
        rows.append(("working days a year (when not given)", self.working_days.text(),
                     self.working_days.source))
        return rows
