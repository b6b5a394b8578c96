"""Per-sprint trends (one colour per team, one shape per cadence), carry-overs and overrun sizes."""

from __future__ import annotations

import altair as alt
import pandas as pd

from cadence.charts.base import (
    SHARE_TICKS, AnyChart, RULE_LABELS, axis_title, empty_chart, inline, is_empty, log_histogram, metric_label,
)
from cadence.charts.theme import CATEGORY_COLOURS, HIGHLIGHT, present_cadences, team_scale

_TOOLTIP_COLUMNS = ["team", "sprint_name", "sprint_id", "cadence", "start", "end"]
_CADENCE_SHAPES = {"1w": "circle", "2w": "square", "3w": "triangle-up", "other": "diamond"}
MAX_COLOURED_TEAMS = 8  # more teams than colours: one small panel per team instead


def _cadence_shape(cadences: list[str]) -> alt.Shape:
    present = present_cadences(cadences)
    return alt.Shape("cadence:N", title="Cadence", sort=present,
                     scale=alt.Scale(domain=present, range=[_CADENCE_SHAPES[c] for c in present]))


def _marker_layers(base: alt.Chart, metric: str, highlight: str | None, target: float | None, fmt: str,
                   tooltip: list) -> list[alt.Chart]:
    """The ring round the retro's sprint and the dashed target, each with its legend entry."""
    layers = []
    if highlight is not None:
        ring = base.transform_filter(
            (alt.datum.sprint_id == str(highlight)) & alt.expr.isValid(alt.datum[metric])
        ).transform_calculate(marker="'this sprint'")
        stroke = alt.Stroke("marker:N", title=None, scale=alt.Scale(domain=["this sprint"], range=["#000000"]))
        layers.append(ring.mark_point(size=320, filled=False, strokeWidth=2.5).encode(stroke=stroke, tooltip=tooltip))
    if target is not None:
        label = f"target {format(target, fmt)}"
        # Drawn from the chart's own data (one aggregated row), so that it also works in small multiples.
        rule = base.transform_aggregate(sprints="count()").transform_calculate(target=str(target), line=f"'{label}'")
        dash = alt.StrokeDash("line:N", title=None, scale=alt.Scale(domain=[label], range=[[6, 4]]))
        layers.append(rule.mark_rule(color=HIGHLIGHT, strokeWidth=2).encode(
            y="target:Q", strokeDash=dash, tooltip=alt.Tooltip("target:Q", title="Target", format=fmt)))
    return layers


def _trend_tooltip(metric: str, label: str, fmt: str) -> list[alt.Tooltip]:
    return [
        alt.Tooltip("team:N", title="Team"),
        alt.Tooltip("sprint_name:N", title="Sprint"),
        alt.Tooltip("cadence:N", title="Cadence"),
        alt.Tooltip("start:T", title="Start", format="%Y-%m-%d"),
        alt.Tooltip(f"{metric}:Q", title=label, format=fmt),
    ]


def metric_trend(
    by_sprint: pd.DataFrame,
    metric: str,
    target: float | None = None,
    percent: bool = False,
    highlight: str | None = None,
    width: int = 520,
    height: int = 240,
) -> AnyChart:
    """A per-sprint metric over time: a line per team in the team's colour, each sprint's cadence as a shape.

    ``by_sprint`` is the ``metrics(by="sprint")`` frame. ``target`` draws a dashed reference line;
    ``highlight`` rings the sprint with that ``sprint_id`` (the one a retro is about). Over eight
    teams, each team gets its own small panel instead of a colour.
    """
    label = metric_label(metric)
    title = f"{label} by sprint"
    if is_empty(by_sprint, [metric, "start"]):
        return empty_chart(title, f"No sprint has a value for {label.lower()} yet.")
    frame = by_sprint.loc[by_sprint[metric].notna()]
    data = inline(frame, [*_TOOLTIP_COLUMNS, metric])
    fmt = ".0%" if percent else ".2f"
    tooltip = _trend_tooltip(metric, label, fmt)
    teams = frame["team"].dropna().unique().tolist()
    many = len(teams) > MAX_COLOURED_TEAMS
    x = alt.X("start:T", title="Sprint start (date, UTC)")
    # Small multiples repeat the y title on every row: there it is the chart's subtitle instead.
    y = alt.Y(f"{metric}:Q", title=None if many else axis_title(metric),
              axis=alt.Axis(format="%") if percent else alt.Axis())
    colour = alt.value("#0072B2") if many else alt.Color("team:N", title="Team", scale=team_scale(teams))
    base = alt.Chart().encode(x=x, y=y)  # the data goes on top, so that small multiples split it
    layers = [
        base.mark_line(strokeWidth=1.5, opacity=0.7).encode(color=colour, detail="team:N"),
        base.mark_point(size=55, filled=True).encode(color=colour, shape=_cadence_shape(frame["cadence"].tolist()),
                                                      tooltip=tooltip),
        *_marker_layers(base, metric, highlight, target, fmt, tooltip),
    ]
    if many:
        return alt.layer(*layers).properties(width=220, height=120).facet(
            facet=alt.Facet("team:N", title="Team"), columns=3, data=data).properties(
            title=alt.Title(title, subtitle=axis_title(metric)))
    return alt.layer(*layers, data=data).properties(width=width, height=height, title=title)


def overrun_rate(by_sprint: pd.DataFrame, highlight: str | None = None, **size: int) -> AnyChart:
    """Share of timeboxes that ran over, per sprint."""
    return metric_trend(by_sprint, "overrun_rate", percent=True, highlight=highlight, **size)


def learnings_per_week(by_sprint: pd.DataFrame, highlight: str | None = None, **size: int) -> AnyChart:
    """Learnings per week of sprint, against the one-a-week target."""
    return metric_trend(by_sprint, "learnings_per_week", target=1.0, highlight=highlight, **size)


def weeks_with_learning(by_sprint: pd.DataFrame, highlight: str | None = None, **size: int) -> AnyChart:
    """Share of each sprint's weeks that had at least one learning, against 100%."""
    return metric_trend(by_sprint, "weeks_with_learning", target=1.0, percent=True, highlight=highlight, **size)


def carry_counts(issues: pd.DataFrame, rabbit_hole: int = 2) -> AnyChart:
    """How many items were carried over 0, 1, 2... times; items carried ``rabbit_hole`` times or more stand out.

    The count axis is symlog, so that the few rabbit holes stay visible beside hundreds of items
    that were never carried over; each bar is labelled with its count.
    """
    title = "Carry-overs per item: the rabbit holes"
    if is_empty(issues, ["carry_count"]):
        return empty_chart(title, "No items in sprints yet.")
    data = inline(issues.dropna(subset=["carry_count"]), ["team", "carry_count"])
    groups = [f"{rabbit_hole}+ times: rabbit holes", f"fewer than {rabbit_hole} times"]
    base = (
        alt.Chart(data)
        .transform_aggregate(items="count()", groupby=["carry_count"])
        .transform_calculate(group=f"datum.carry_count >= {rabbit_hole} ? '{groups[0]}' : '{groups[1]}'")
        .encode(
            x=alt.X("carry_count:O", title="Times carried over to the next sprint (fewer is better)",
                    axis=alt.Axis(labelAngle=0)),
            y=alt.Y("items:Q", title="Items (log scale)", scale=alt.Scale(type="symlog"),
                    axis=alt.Axis(values=[0, 1, 10, 100, 1000, 10000, 100000], format=",d")),
            tooltip=[alt.Tooltip("carry_count:O", title="Times carried over"), alt.Tooltip("items:Q", title="Items")],
        )
    )
    colour = alt.Color("group:N", title=None, scale=alt.Scale(domain=groups, range=[HIGHLIGHT, "#0072B2"]))
    bars = base.mark_bar().encode(color=colour)
    counts = base.mark_text(dy=-7, fontSize=12).encode(text=alt.Text("items:Q", format=","))
    return alt.layer(bars, counts).properties(
        width=420, height=220,
        title=alt.Title(title, subtitle=f"Items carried over {rabbit_hole} or more times are in vermillion."),
    )


def overrun_sizes(overruns: pd.DataFrame) -> AnyChart:
    """How far timeboxes ran over: a histogram of (actual - timebox) / timebox on a log axis, by rule."""
    title = "How far timeboxes ran over"
    if is_empty(overruns, ["overrun_size"]):
        return empty_chart(title, "No timebox ran over.")
    frame = overruns.loc[overruns["overrun_size"] > 0].assign(rule_label=lambda f: f["rule"].map(RULE_LABELS))
    rules = [r for r in RULE_LABELS.values() if r in set(frame["rule_label"])]
    floor = SHARE_TICKS[0]
    high = max(float(frame["overrun_size"].max()), 1.0)
    ticks = [t for t in SHARE_TICKS if t <= high * 1.8]
    return (
        log_histogram(alt.Chart(inline(frame, ["team", "key", "rule_label", "overrun_size"])), "overrun_size", floor)
        .encode(
            x=alt.X("lo:Q", title="Overrun, as a share of the timebox (log scale), smaller is better",
                    scale=alt.Scale(type="log"), axis=alt.Axis(values=ticks, format=",.0%")),
            x2="hi:Q",
            y=alt.Y("count():Q", title="Items", stack=True),
            color=alt.Color("rule_label:N", title="Timebox from", sort=rules,
                            scale=alt.Scale(domain=rules, range=list(CATEGORY_COLOURS[: len(rules)]))),
            tooltip=[alt.Tooltip("rule_label:N", title="Timebox from"),
                     alt.Tooltip("lo:Q", title="From", format=".0%"), alt.Tooltip("hi:Q", title="To", format=".0%"),
                     alt.Tooltip("count():Q", title="Items")],
        )
        .properties(width=480, height=200, title=alt.Title(
            title, subtitle="Only overruns beyond the tolerance; 100% = twice the timebox."))
    )
