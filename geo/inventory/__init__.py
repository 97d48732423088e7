"""The mercury inventory: per-site estimates, Monte Carlo roll-ups, register counts and targets.

``estimate_sites`` gives each site's mercury used and released (kg a year, low / central / high)
and its ``basis`` (``MEASURED``, ``FROM_KG``, ``FROM_DAYS``, ``FROM_DEFAULT_DAYS``,
``MERCURY_FREE``, ``NOT_OPERATING``, ``NOT_ESTIMABLE``; ``ESTIMATED`` are the gold-based ones)
from ``Factors`` (ranges with sources, in the computing units ``RATIO_UNIT``, ``SHARE_UNIT`` and
``DAYS_UNIT``). ``rollup`` totals them by group with seeded Monte Carlo percentiles
(``sample_factors``), ``register_counts`` counts sites, miners and retorts, and ``trends`` /
``target_status`` follow the National Action Plan ``METRICS`` by survey round. ``resolve_links`` reads
the re-survey links (``resurvey_of``: one site surveyed in several rounds under several ids) and
``resurvey_candidates`` lists the records of different rounds within a distance of each other that
may be one site (``geo.inventory.resurvey``). Every grouped table
labels an empty group ``NOT_GIVEN`` and the ungrouped total ``ALL_SITES``.
"""
from geo.inventory._groups import ALL_SITES, NOT_GIVEN
from geo.inventory.estimate import (
    ESTIMATED,
    FROM_DAYS,
    FROM_DEFAULT_DAYS,
    FROM_KG,
    MEASURED,
    MERCURY_FREE,
    NOT_ESTIMABLE,
    NOT_OPERATING,
    estimate_sites,
)
from geo.inventory.factors import (
    DAYS_UNIT,
    QUANTITIES,
    RATIO_UNIT,
    SHARE_UNIT,
    Factors,
    PublishedEstimate,
    Range,
    Route,
    Target,
)
from geo.inventory.montecarlo import rollup, sample_factors
from geo.inventory.register import register_counts
from geo.inventory.resurvey import CANDIDATE_COLUMNS, LINK_FIELD, Links, resolve_links, search_distance_m
from geo.inventory.resurvey import candidates as resurvey_candidates
from geo.inventory.targets import METRICS, SAME_SITE, round_ranks, survey_rounds, target_status, trends

__all__ = ["ALL_SITES", "CANDIDATE_COLUMNS", "DAYS_UNIT", "ESTIMATED", "FROM_DAYS", "FROM_DEFAULT_DAYS", "FROM_KG",
           "LINK_FIELD", "SAME_SITE", "Links",
           "MEASURED", "MERCURY_FREE", "METRICS", "NOT_ESTIMABLE", "NOT_GIVEN", "NOT_OPERATING", "QUANTITIES",
           "RATIO_UNIT", "SHARE_UNIT", "Factors", "PublishedEstimate", "Range", "Route", "Target",
           "estimate_sites", "register_counts", "resolve_links", "resurvey_candidates", "rollup", "round_ranks",
           "sample_factors", "search_distance_m", "survey_rounds",
           "target_status", "trends"]
