"""Rules as data and the engine that runs them on layers.

A rule set (``RuleSet`` of ``Rule``, with ``Condition`` filters, ``OtherRef`` layers and
``Example`` cases) is plain pydantic models; reading a rule file and checking it against the layer
catalogue is ``settings.rules``. ``run_rules`` evaluates a rule set on GeoDataFrames and returns an
``Evaluation``: one violation row per rule and subject, with a stable ``violation_id``, the
geodesic distance and its basis (``BASIS_*``) and the shortest line (``LINE_COLUMN``).
``diff_runs`` compares two runs; ``example_failures`` and ``example_frames`` run a rule's own
examples; ``DERIVED_FIELDS`` are the fields a filter may name that the engine computes (such as
``mercury_use``, the one definition of "uses mercury"). ``inside`` (touches or lies inside, edges
geodesic, boundary included) and ``not_covered`` (not wholly covered by the union, of features
valid on the subject's day when the layer has ``Validity``) are the polygon relations.
"""
from geo.rules.derived import DERIVED_FIELDS
from geo.rules.evaluate import Evaluation, RuleSummary, run_rules
from geo.rules.examples import example_failures, example_frames
from geo.rules.model import Condition, Example, FieldSchema, LayerSchema, OtherRef, Rule, RuleSet, Validity
from geo.rules.violations import (
    BASIS_BANK,
    BASIS_EDGE,
    BASIS_INSIDE,
    BASIS_NOT_COVERED,
    BASIS_REPORTED,
    LINE_COLUMN,
    RunDiff,
    diff_runs,
    violation_id,
)

__all__ = ["BASIS_BANK", "BASIS_EDGE", "BASIS_INSIDE", "BASIS_NOT_COVERED", "BASIS_REPORTED", "DERIVED_FIELDS",
           "LINE_COLUMN", "Condition", "Evaluation", "Example", "FieldSchema", "LayerSchema",
           "OtherRef", "Rule", "RuleSet", "RuleSummary", "RunDiff", "Validity", "diff_runs", "example_failures",
           "example_frames", "run_rules", "violation_id"]
