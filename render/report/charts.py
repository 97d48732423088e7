"""Altair charts of the mercury inventory tables: every figure shown as a range, never a bare bar.

Each function takes a table from ``render.report.tables.inventory_tables`` and returns an Altair chart;
nothing is computed here but the long form the chart needs.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from geo.inventory import METRICS


def comparison_chart(comparison: pd.DataFrame) -> alt.LayerChart:
    """Our used and released totals beside the published estimates: points with range bars,
    kg of mercury a year on a log axis (the published figures span 233 kg to 6 t)."""
    data = comparison.copy()
    data["estimate"] = [f"{q.replace('mercury_', '')}: {s[:40]}" for q, s in
                        zip(data["quantity"], data["source"])]
    data["low"] = data["low_kg"].fillna(data["central_kg"])
    data["high"] = data["high_kg"].fillna(data["central_kg"])
    base = alt.Chart(data).encode(
        y=alt.Y("estimate:N", title=None, sort=None),
        color=alt.Color("quantity:N", title="quantity"),
        tooltip=["quantity", "area", "central_kg", "low_kg", "high_kg", "year", "method",
                 "source"])
    bars = base.mark_rule(strokeWidth=3).encode(
        x=alt.X("low:Q", title="kg of mercury a year (log scale)",
                scale=alt.Scale(type="log")), x2="high:Q")
    return bars + base.mark_point(filled=True, size=70).encode(x="central_kg:Q")


def totals_chart(table: pd.DataFrame, group: str) -> alt.LayerChart:
    """Used and released per group: central points with percentile bars, kg a year."""
    rows = []
    for _, r in table.iterrows():
        for q in ("used", "released"):
            rows.append({group: r[group], "quantity": q, "central": r[f"{q}_kg"],
                         "low": r[f"{q}_low"], "high": r[f"{q}_high"],
                         "not estimable": r["n_not_estimable"]})
    data = pd.DataFrame(rows)
    base = alt.Chart(data).encode(
        y=alt.Y(f"{group}:N", title=group.replace("_", " ")),
        yOffset="quantity:N", color=alt.Color("quantity:N"),
        tooltip=[group, "quantity", "central", "low", "high", "not estimable"])
    return base.mark_rule(strokeWidth=3).encode(
        x=alt.X("low:Q", title="kg of mercury a year (5th-95th percentile)"), x2="high:Q"
    ) + base.mark_point(filled=True, size=60).encode(x="central:Q")


def trend_chart(trends: pd.DataFrame, metric: str, target: float | None,
                *, by: str = "admin_area") -> alt.LayerChart | alt.Chart:
    """One metric (a share 0-1) per area across survey rounds, with the target as a rule."""
    data = trends[[by, "survey_round", "round_order", "n_sites", metric]].dropna(subset=[metric])
    line = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("survey_round:N", sort=alt.SortField("round_order"), title="survey round"),
        y=alt.Y(f"{metric}:Q", title=METRICS.get(metric, metric), axis=alt.Axis(format="%")),
        color=alt.Color(f"{by}:N", title=by.replace("_", " ")),
        tooltip=[by, "survey_round", "n_sites", alt.Tooltip(f"{metric}:Q", format=".1%")])
    if target is None:
        return line
    rule = alt.Chart(pd.DataFrame({"target": [target]})).mark_rule(
        strokeDash=[4, 4], color="black").encode(y="target:Q")
    return line + rule
