"""Cadence comparison charts: estimates with 95% intervals, across cadences and within teams."""

from __future__ import annotations

import altair as alt
import pandas as pd

from cadence.charts.base import AnyChart, empty_chart, inline, is_empty, metric_label
from cadence.charts.theme import CADENCES, cadence_color

_SAMPLE = alt.Scale(domain=["enough data", "small sample"], range=["circle", "triangle-down"])


def cadence_comparison(compare: pd.DataFrame) -> AnyChart:
    """Per metric, each cadence's estimate with its 95% interval; small samples drawn as open triangles.

    ``compare`` is the ``compare_cadences`` frame. Metrics have different units, so each gets its
    own row and x scale.
    """
    title = "Cadence comparison: estimate and 95% interval per cadence"
    if is_empty(compare, ["estimate"]):
        return empty_chart(title, "No closed sprints to compare cadences yet.")
    frame = compare.assign(
        metric_label=compare["metric"].map(metric_label),
        sample=compare["small_sample"].map({True: "small sample", False: "enough data"}).fillna("enough data"),
    )
    data = inline(
        frame, ["metric_label", "cadence", "estimate", "ci_low", "ci_high", "n_sprints", "n_teams", "sample", "warning"]
    )
    tooltip = [
        alt.Tooltip("metric_label:N", title="Metric"),
        alt.Tooltip("cadence:N", title="Cadence"),
        alt.Tooltip("estimate:Q", title="Estimate", format=".2f"),
        alt.Tooltip("ci_low:Q", title="95% CI low", format=".2f"),
        alt.Tooltip("ci_high:Q", title="95% CI high", format=".2f"),
        alt.Tooltip("n_sprints:Q", title="Sprints"),
        alt.Tooltip("n_teams:Q", title="Teams"),
        alt.Tooltip("warning:N", title="Warning"),
    ]
    y = alt.Y("cadence:N", title="Cadence", sort=list(CADENCES))
    base = alt.Chart(data).encode(y=y, color=cadence_color(), tooltip=tooltip)
    interval = base.mark_rule(strokeWidth=3).encode(
        x=alt.X("ci_low:Q", title="Estimate (unit in row label)"), x2="ci_high:Q"
    )
    points = base.mark_point(size=110, filled=True).encode(
        x="estimate:Q", shape=alt.Shape("sample:N", title="Sample", scale=_SAMPLE)
    )
    return (
        alt.layer(interval, points)
        .properties(width=480, height=alt.Step(22))
        .facet(
            row=alt.Row(
                "metric_label:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left", labelLimit=260)
            )
        )
        .resolve_scale(x="independent")
        .properties(title=alt.Title(title, subtitle="Bars are 95% bootstrap intervals; triangles mark small samples."))
    )


def before_after(switches: pd.DataFrame) -> AnyChart:
    """For each team that switched cadence: each metric before and after, with 95% intervals.

    One panel per metric; within it a line per team, before (hollow) above after (filled).
    """
    title = "Teams that switched cadence: before and after"
    if is_empty(switches, ["before_estimate"]):
        return empty_chart(title, "No team has switched cadence in this data.")
    sides = []
    for side in ("before", "after"):
        part = switches[
            [
                "team",
                "metric",
                "switch_at",
                f"{side}_cadence",
                f"{side}_estimate",
                f"{side}_ci_low",
                f"{side}_ci_high",
                f"n_{side}",
                "warning",
            ]
        ]
        part = part.rename(columns=lambda c: c.replace(f"{side}_", "").replace(f"n_{side}", "n_sprints"))
        sides.append(part.assign(period=side))
    long = pd.concat(sides, ignore_index=True)
    long = long.assign(
        metric_label=long["metric"].map(metric_label),
        period_label=long["period"] + " (" + long["cadence"].astype(str) + ")",
    )
    data = inline(
        long,
        [
            "team",
            "metric_label",
            "switch_at",
            "period",
            "period_label",
            "cadence",
            "estimate",
            "ci_low",
            "ci_high",
            "n_sprints",
            "warning",
        ],
    )
    tooltip = [
        alt.Tooltip("team:N", title="Team"),
        alt.Tooltip("metric_label:N", title="Metric"),
        alt.Tooltip("period_label:N", title="Period"),
        alt.Tooltip("switch_at:T", title="Switched at", format="%Y-%m-%d"),
        alt.Tooltip("estimate:Q", title="Estimate", format=".2f"),
        alt.Tooltip("ci_low:Q", title="95% CI low", format=".2f"),
        alt.Tooltip("ci_high:Q", title="95% CI high", format=".2f"),
        alt.Tooltip("n_sprints:Q", title="Sprints"),
        alt.Tooltip("warning:N", title="Warning"),
    ]
    base = alt.Chart(data).encode(
        y=alt.Y("team:N", title="Team"),
        yOffset=alt.YOffset("period:N", sort=["before", "after"]),
        color=cadence_color(),
        tooltip=tooltip,
    )
    interval = base.mark_rule(strokeWidth=3).encode(
        x=alt.X("ci_low:Q", title="Estimate (unit in row label)"), x2="ci_high:Q"
    )
    points = base.mark_point(size=90, filled=True).encode(
        x="estimate:Q",
        shape=alt.Shape(
            "period:N",
            title="Period",
            sort=["before", "after"],
            scale=alt.Scale(domain=["before", "after"], range=["square", "circle"]),
        ),
    )
    return (
        alt.layer(interval, points)
        .properties(width=420, height=alt.Step(14))
        .facet(
            row=alt.Row(
                "metric_label:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left", labelLimit=260)
            )
        )
        .resolve_scale(x="independent")
        .properties(
            title=alt.Title(
                title,
                subtitle="Within-team comparison: the cleanest evidence. Squares: before; circles: after. Bars are 95% intervals.",
            )
        )
    )
