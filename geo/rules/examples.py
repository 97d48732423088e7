"""Rule examples: build each example's layers and check that the rule treats it as declared.

Every rule in a rule file carries examples that must be flagged and examples that must not
(``geo.rules.model.Example``). ``example_failures`` runs them all; ``settings.rules`` refuses a file
whose examples fail, and the test suite runs every example of the shipped file.
"""
from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import pandas as pd
import shapely

from geo.rules.evaluate import run_rules
from geo.rules.model import Example, ExampleFeature, LayerSchema, Rule, RuleSet


def example_frames(rule: Rule, example: Example, *,
                   schemas: Mapping[str, LayerSchema]) -> dict[str, gpd.GeoDataFrame]:
    """The layers of one rule example as GeoDataFrames in EPSG:4326 (absent layers empty)."""
    def frame(layer: str, feats: list[ExampleFeature], prefix: str) -> gpd.GeoDataFrame:
        id_field = schemas[layer].id_field
        rows = [{**f.fields, id_field: f.id or f"{prefix}{n + 1}"} for n, f in enumerate(feats)]
        geoms = [shapely.from_wkt(f.wkt) for f in feats]
        return gpd.GeoDataFrame(pd.DataFrame(rows, columns=None if rows else [id_field]),
                                geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"))
    out = {rule.subject.layer: frame(rule.subject.layer, [example.subject], "EX-")}
    for layer in rule.layers[1:]:
        out[layer] = frame(layer, example.other.get(layer, []), f"EX-{layer}-")
    return out


def example_failures(ruleset: RuleSet, *, schemas: Mapping[str, LayerSchema]) -> list[str]:
    """Run every example of every rule; one line per example that does not behave as declared.

    An example fails when it is flagged but expects "clear" (or the reverse), when it gives
    ``distance_m`` and the measured distance differs by more than 0.01 m, or when it gives
    ``area_m2`` and the measured area differs by more than 0.01 m2 or 0.01 %. An example with
    ``today`` is run on that day (the day a subject without a date is checked on).
    """
    out = []
    for rule in ruleset.rules:
        for n, ex in enumerate(rule.examples):
            frames = example_frames(rule, ex, schemas=schemas)
            found = run_rules(RuleSet(format=1, title="example", rules=[rule]), frames,
                              schemas=schemas, today=ex.today).violations
            flagged = len(found) > 0
            what = f"rule {rule.id!r}: example {n + 1} ({ex.note})"
            if flagged != (ex.expect == "flagged"):
                out.append(f"{what}: expected {ex.expect}, got "
                           f"{'flagged' if flagged else 'clear'}")
            elif ex.distance_m is not None and flagged and not (
                    abs(float(found["distance_m"].iloc[0]) - ex.distance_m) <= 0.01):
                out.append(f"{what}: expected distance_m {ex.distance_m}, got "
                           f"{found['distance_m'].iloc[0]}")
            elif ex.area_m2 is not None and flagged and not (
                    abs(float(found["area_m2"].iloc[0]) - ex.area_m2) <= max(0.01, 1e-4 * ex.area_m2)):
                out.append(f"{what}: expected area_m2 {ex.area_m2}, got {found['area_m2'].iloc[0]}")
    return out
