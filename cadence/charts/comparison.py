"""Cadence comparison charts: estimates with 95% intervals, across cadences and within teams.

One panel per metric, stacked: metrics have different units, so each panel has its own x axis,
titled with the unit and which way is better. An interval the data cannot support ("can't
tell": under 3 teams or 6 sprints) is drawn as a cross with the words, never as a bar.
"""

from __future__ import annotations

from typing import Sequence

import altair as alt
import pandas as pd

from cadence.charts.base import AnyChart, axis_title, empty_chart, inline, is_empty, metric_label
from cadence.charts.theme import cadence_color, present_cadences

SAMPLES = ("enough data", "rough", "can't tell")
_SAMPLE_SHAPES = {"enough data": "circle", "rough": "triangle-down", "can't tell": "cross"}
_PERIOD = alt.Scale(domain=["before", "after"], range=["square", "circle"])
_CANT_TELL = "datum.sample === \"can't tell\""
_ESTIMATE_TIPS = [
    alt.Tooltip("estimate:Q", title="Estimate", format=".2f"),
    alt.Tooltip("ci_low:Q", title="95% CI low", format=".2f"),
    alt.Tooltip("ci_high:Q", title="95% CI high", format=".2f"),
    alt.Tooltip("n_sprints:Q", title="Sprints"),
    alt.Tooltip("sample:N", title="Interval"),
    alt.Tooltip("warning:N", title="Warning"),
]


def sample_shape(values: Sequence[str]) -> alt.Shape:
    """Shapes for the interval marks present: circle enough data, triangle rough, cross can't tell."""
    domain = [s for s in SAMPLES if s in set(values)]
    return alt.Shape("sample:N", title="Interval", scale=alt.Scale(domain=domain, range=[_SAMPLE_SHAPES[s] for s in domain]))


def _panel(metric: str, y: alt.Y, shape: alt.Shape, extra: dict, step: int, width: int) -> alt.LayerChart:
    """The interval rule (unless can't tell), the estimate, and the words "can't tell" for one metric."""
    base = alt.Chart().transform_filter(alt.datum.metric == metric).encode(y=y, **extra)
    x_title = axis_title(metric)
    rule = base.transform_filter(f"!({_CANT_TELL})").mark_rule(strokeWidth=3).encode(
        x=alt.X("ci_low:Q", title=x_title, scale=alt.Scale(zero=True)), x2="ci_high:Q"
    )
    point = base.mark_point(size=110, filled=True, strokeWidth=2).encode(x=alt.X("estimate:Q", title=x_title),
                                                                          shape=shape)
    words = base.transform_filter(_CANT_TELL).mark_text(align="left", dx=9).encode(
        x=alt.X("estimate:Q", title=x_title), text=alt.value("can't tell")
    )
    return alt.layer(rule, point, words).properties(width=width, height=alt.Step(step))


def _stack(frame: pd.DataFrame, columns: list[str], panels: list[alt.LayerChart], title: str, subtitle: str):
    return alt.vconcat(*panels, data=inline(frame, columns), spacing=14).properties(
        title=alt.Title(title, subtitle=subtitle)
    ).resolve_scale(x="independent")


def cadence_comparison(compare: pd.DataFrame, metrics: Sequence[str] | None = None, width: int = 440,
                       step: int = 24) -> AnyChart:
    """Per metric, each cadence's estimate with its 95% interval; ``metrics`` picks and orders the panels.

    ``compare`` is the ``compare_cadences`` frame.
    """
    title = "Cadence comparison: estimate and 95% interval per cadence"
    if is_empty(compare, ["estimate"]):
        return empty_chart(title, "No closed sprints to compare cadences yet.")
    frame = compare.loc[compare["estimate"].notna()]
    frame = frame.assign(sample=frame["sample"] if "sample" in frame else "enough data")
    chosen = [m for m in (metrics or list(dict.fromkeys(frame["metric"]))) if m in set(frame["metric"])]
    if not chosen:
        return empty_chart(title, "None of these metrics has a value yet.")
    frame = frame.loc[frame["metric"].isin(chosen)].assign(metric_label=lambda f: f["metric"].map(metric_label))
    present = present_cadences(frame["cadence"])
    tooltip = [alt.Tooltip("metric_label:N", title="Metric"), alt.Tooltip("cadence:N", title="Cadence"),
               *_ESTIMATE_TIPS, alt.Tooltip("n_teams:Q", title="Teams")]
    y = alt.Y("cadence:N", title="Cadence", sort=present)
    extra = {"color": cadence_color(present=present), "tooltip": tooltip}
    panels = [_panel(m, y, sample_shape(frame["sample"].tolist()), extra, step, width) for m in chosen]
    columns = ["metric", "metric_label", "cadence", "estimate", "ci_low", "ci_high", "n_sprints", "n_teams",
               "sample", "warning"]
    subtitle = "Bars: 95% two-stage bootstrap intervals. Crosses: can't tell (under 3 teams or 6 sprints)."
    return _stack(frame, columns, panels, title, subtitle)


def _before_after_rows(switches: pd.DataFrame) -> pd.DataFrame:
    """One row per team, metric and side (before or after the switch)."""
    sides = []
    keep = ["team", "metric", "switch_at", "warning", *(["sample"] if "sample" in switches else [])]
    for side in ("before", "after"):
        columns = {f"{side}_{name}": name for name in ("cadence", "estimate", "ci_low", "ci_high")}
        columns[f"n_{side}"] = "n_sprints"
        part = switches[[*keep, *columns]].rename(columns=columns)
        sides.append(part.assign(period=side))
    long = pd.concat(sides, ignore_index=True)
    if "sample" not in long:
        long["sample"] = "enough data"
    return long.assign(
        metric_label=long["metric"].map(metric_label),
        period_label=long["period"] + " (" + long["cadence"].astype(str) + ")",
    )


def before_after(switches: pd.DataFrame, metrics: Sequence[str] | None = None, width: int = 440) -> AnyChart:
    """For each team that switched cadence: each metric before (square) and after (circle), with 95% intervals."""
    title = "Teams that switched cadence: before and after"
    if is_empty(switches, ["before_estimate"]):
        return empty_chart(title, "No team has switched cadence in this data.")
    long = _before_after_rows(switches)
    long = long.loc[long["estimate"].notna()]
    chosen = [m for m in (metrics or list(dict.fromkeys(long["metric"]))) if m in set(long["metric"])]
    long = long.loc[long["metric"].isin(chosen)]
    tooltip = [
        alt.Tooltip("team:N", title="Team"),
        alt.Tooltip("metric_label:N", title="Metric"),
        alt.Tooltip("period_label:N", title="Period"),
        alt.Tooltip("switch_at:T", title="Switched at", format="%Y-%m-%d"),
        *_ESTIMATE_TIPS,
    ]
    y = alt.Y("team:N", title="Team")
    extra = {
        "yOffset": alt.YOffset("period:N", sort=["before", "after"]),
        "color": cadence_color(present=long["cadence"].tolist()),
        "tooltip": tooltip,
    }
    shape = alt.Shape("period:N", title="Period", sort=["before", "after"], scale=_PERIOD)
    panels = [_panel(m, y, shape, extra, 16, width) for m in chosen]
    columns = ["team", "metric", "metric_label", "switch_at", "period", "period_label", "cadence", "estimate",
               "ci_low", "ci_high", "n_sprints", "sample", "warning"]
    subtitle = "The same team before (square) and after (circle): the cleanest evidence. Bars: 95% intervals."
    return _stack(long, columns, panels, title, subtitle)
