"""Cadence comparison charts: estimates with 95% intervals, across cadences and within teams."""

from __future__ import annotations

import altair as alt
import pandas as pd

from cadence.charts.base import AnyChart, empty_chart, inline, is_empty, metric_label
from cadence.charts.theme import CADENCES, cadence_color

_SAMPLE = alt.Scale(domain=["enough data", "small sample"], range=["circle", "triangle-down"])
_PERIOD = alt.Scale(domain=["before", "after"], range=["square", "circle"])
_ESTIMATE_TIPS = [
    alt.Tooltip("estimate:Q", title="Estimate", format=".2f"),
    alt.Tooltip("ci_low:Q", title="95% CI low", format=".2f"),
    alt.Tooltip("ci_high:Q", title="95% CI high", format=".2f"),
    alt.Tooltip("n_sprints:Q", title="Sprints"),
    alt.Tooltip("warning:N", title="Warning"),
]
_ROW = alt.Row("metric_label:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left", labelLimit=260))


def _per_metric(base: alt.Chart, shape: alt.Shape, step: int, title: str, subtitle: str) -> alt.FacetChart:
    """An interval rule and an estimate point per row of ``base``, one panel (and x scale) per metric:
    metrics have different units."""
    interval = base.mark_rule(strokeWidth=3).encode(
        x=alt.X("ci_low:Q", title="Estimate (unit in row label)"), x2="ci_high:Q"
    )
    points = base.mark_point(size=100, filled=True).encode(x="estimate:Q", shape=shape)
    return (
        alt.layer(interval, points)
        .properties(width=460, height=alt.Step(step))
        .facet(row=_ROW)
        .resolve_scale(x="independent")
        .properties(title=alt.Title(title, subtitle=subtitle))
    )


def cadence_comparison(compare: pd.DataFrame) -> AnyChart:
    """Per metric, each cadence's estimate with its 95% interval; small samples drawn as triangles.

    ``compare`` is the ``compare_cadences`` frame.
    """
    title = "Cadence comparison: estimate and 95% interval per cadence"
    if is_empty(compare, ["estimate"]):
        return empty_chart(title, "No closed sprints to compare cadences yet.")
    frame = compare.assign(
        metric_label=compare["metric"].map(metric_label),
        sample=compare["small_sample"].map({True: "small sample", False: "enough data"}).fillna("enough data"),
    )
    columns = ["metric_label", "cadence", "estimate", "ci_low", "ci_high", "n_sprints", "n_teams", "sample", "warning"]
    tooltip = [
        alt.Tooltip("metric_label:N", title="Metric"),
        alt.Tooltip("cadence:N", title="Cadence"),
        *_ESTIMATE_TIPS,
        alt.Tooltip("n_teams:Q", title="Teams"),
    ]
    base = alt.Chart(inline(frame, columns)).encode(
        y=alt.Y("cadence:N", title="Cadence", sort=list(CADENCES)), color=cadence_color(), tooltip=tooltip
    )
    shape = alt.Shape("sample:N", title="Sample", scale=_SAMPLE)
    return _per_metric(base, shape, 22, title, "Bars are 95% bootstrap intervals; triangles mark small samples.")


def _before_after_rows(switches: pd.DataFrame) -> pd.DataFrame:
    """One row per team, metric and side (before or after the switch)."""
    sides = []
    for side in ("before", "after"):
        columns = {f"{side}_{name}": name for name in ("cadence", "estimate", "ci_low", "ci_high")}
        columns[f"n_{side}"] = "n_sprints"
        part = switches[["team", "metric", "switch_at", "warning", *columns]].rename(columns=columns)
        sides.append(part.assign(period=side))
    long = pd.concat(sides, ignore_index=True)
    return long.assign(
        metric_label=long["metric"].map(metric_label),
        period_label=long["period"] + " (" + long["cadence"].astype(str) + ")",
    )


def before_after(switches: pd.DataFrame) -> AnyChart:
    """For each team that switched cadence: each metric before (square) and after (circle), with 95% intervals."""
    title = "Teams that switched cadence: before and after"
    if is_empty(switches, ["before_estimate"]):
        return empty_chart(title, "No team has switched cadence in this data.")
    long = _before_after_rows(switches)
    columns = ["team", "metric_label", "switch_at", "period", "period_label", "cadence"]
    tooltip = [
        alt.Tooltip("team:N", title="Team"),
        alt.Tooltip("metric_label:N", title="Metric"),
        alt.Tooltip("period_label:N", title="Period"),
        alt.Tooltip("switch_at:T", title="Switched at", format="%Y-%m-%d"),
        *_ESTIMATE_TIPS,
    ]
    base = alt.Chart(inline(long, [*columns, "estimate", "ci_low", "ci_high", "n_sprints", "warning"])).encode(
        y=alt.Y("team:N", title="Team"),
        yOffset=alt.YOffset("period:N", sort=["before", "after"]),
        color=cadence_color(),
        tooltip=tooltip,
    )
    shape = alt.Shape("period:N", title="Period", sort=["before", "after"], scale=_PERIOD)
    subtitle = "Within-team comparison, the cleanest evidence. Squares: before; circles: after. Bars: 95% intervals."
    return _per_metric(base, shape, 14, title, subtitle)
