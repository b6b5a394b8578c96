"""Per-sprint trends: one line per team, each sprint coloured by its cadence."""

from __future__ import annotations

import altair as alt
import pandas as pd

from cadence.charts.base import AnyChart, empty_chart, inline, is_empty, metric_label
from cadence.charts.theme import HIGHLIGHT, cadence_color

_TOOLTIP_COLUMNS = ["team", "sprint_name", "sprint_id", "cadence", "start", "end"]


def metric_trend(
    by_sprint: pd.DataFrame,
    metric: str,
    target: float | None = None,
    percent: bool = False,
    highlight: str | None = None,
) -> AnyChart:
    """A per-sprint metric over time: a grey line per team, points coloured by cadence.

    ``by_sprint`` is the ``metrics(by="sprint")`` frame. ``target`` draws a dashed reference line;
    ``highlight`` rings the sprint with that ``sprint_id`` (the one a retro is about).
    """
    label = metric_label(metric)
    title = f"{label} by sprint"
    if is_empty(by_sprint, [metric, "start"]):
        return empty_chart(title, f"No sprint has a value for {label.lower()} yet.")
    data = inline(by_sprint, [*_TOOLTIP_COLUMNS, metric])
    fmt = ".0%" if percent else ".2f"
    tooltip = [
        alt.Tooltip("team:N", title="Team"),
        alt.Tooltip("sprint_name:N", title="Sprint"),
        alt.Tooltip("cadence:N", title="Cadence"),
        alt.Tooltip("start:T", title="Start", format="%Y-%m-%d"),
        alt.Tooltip(f"{metric}:Q", title=label, format=fmt),
    ]
    x = alt.X("start:T", title="Sprint start (date, UTC)")
    y = alt.Y(f"{metric}:Q", title=label, axis=alt.Axis(format="%") if percent else alt.Axis())
    base = alt.Chart(data).encode(x=x, y=y)
    layers = [
        base.mark_line(color="#BBBBBB", strokeWidth=1).encode(detail="team:N"),
        base.mark_point(size=50, filled=True).encode(color=cadence_color(), tooltip=tooltip),
    ]
    if highlight is not None:
        ring = base.mark_point(size=260, filled=False, strokeWidth=2, color="#000000")
        layers.append(ring.transform_filter(alt.datum.sprint_id == str(highlight)).encode(tooltip=tooltip))
    if target is not None:
        rule = alt.Chart({"values": [{"target": target}]}).mark_rule(color=HIGHLIGHT, strokeDash=[6, 4])
        layers.append(rule.encode(y="target:Q", tooltip=alt.Tooltip("target:Q", title="Target", format=fmt)))
    return alt.layer(*layers).properties(width=560, height=240, title=title)


def overrun_rate(by_sprint: pd.DataFrame, highlight: str | None = None) -> AnyChart:
    """Share of timeboxes that ran over, per sprint."""
    return metric_trend(by_sprint, "overrun_rate", percent=True, highlight=highlight)


def learnings_per_week(by_sprint: pd.DataFrame, highlight: str | None = None) -> AnyChart:
    """Learnings per week of sprint, against the one-a-week target."""
    return metric_trend(by_sprint, "learnings_per_week", target=1.0, highlight=highlight)


def weeks_with_learning(by_sprint: pd.DataFrame, highlight: str | None = None) -> AnyChart:
    """Share of each sprint's weeks that had at least one learning, against 100%."""
    return metric_trend(by_sprint, "weeks_with_learning", target=1.0, percent=True, highlight=highlight)


def carry_counts(issues: pd.DataFrame, rabbit_hole: int = 2) -> AnyChart:
    """How many items were carried over 0, 1, 2... times; items carried ``rabbit_hole`` times or more stand out."""
    title = "Carry-overs per item: the rabbit holes"
    if is_empty(issues, ["carry_count"]):
        return empty_chart(title, "No items in sprints yet.")
    data = inline(issues.dropna(subset=["carry_count"]), ["team", "carry_count"])
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "carry_count:O", title="Times carried over to the next sprint (sprints)", axis=alt.Axis(labelAngle=0)
            ),
            y=alt.Y("count():Q", title="Items"),
            color=alt.condition(alt.datum.carry_count >= rabbit_hole, alt.value(HIGHLIGHT), alt.value("#0072B2")),
            tooltip=[
                alt.Tooltip("carry_count:O", title="Times carried over"),
                alt.Tooltip("count():Q", title="Items"),
            ],
        )
        .properties(
            width=420,
            height=220,
            title=alt.Title(title, subtitle=f"Items carried over {rabbit_hole} or more times are highlighted."),
        )
    )
