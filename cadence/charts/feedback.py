"""Feedback-loop charts: Kaplan-Meier curves by cadence, and the observed and review distributions."""

from __future__ import annotations

import altair as alt
import pandas as pd

from cadence.charts.base import AnyChart, empty_chart, hour_axis, inline, is_empty, log_histogram
from cadence.charts.theme import CADENCES, cadence_color, cadence_scale

_KINDS = ["headline", "observed", "review"]
_SHARE = alt.Scale(domain=[0, 1])
_CURVE_TIPS = [
    alt.Tooltip("cadence:N", title="Cadence"),
    alt.Tooltip("kind:N", title="Feedback kind"),
    alt.Tooltip("t_h:Q", title="Hours since start", format=".1f"),
    alt.Tooltip("survival:Q", title="Still waiting", format=".0%"),
    alt.Tooltip("ci_low:Q", title="95% CI low", format=".0%"),
    alt.Tooltip("ci_high:Q", title="95% CI high", format=".0%"),
]


def feedback_curves(curves: pd.DataFrame) -> AnyChart:
    """Kaplan-Meier curves: the share of started items still waiting for feedback after t hours.

    ``curves`` is the ``feedback_curves(by="cadence")`` frame; its ``group`` is the cadence.
    One panel per kind (headline, observed, review); the band is the 95% interval.
    """
    title = "Feedback latency by cadence (Kaplan-Meier)"
    if is_empty(curves, ["t_h", "survival"]):
        return empty_chart(title, "No started items, so no feedback latency yet.")
    # Groups other than cadences ("all", items outside any sprint) are in the summary table, not here.
    frame = curves.rename(columns={"group": "cadence"})
    frame = frame.loc[frame["cadence"].isin(CADENCES)]
    if frame.empty:
        return empty_chart(title, "No started items in sprints with a cadence yet.")
    data = inline(frame, ["cadence", "kind", "t_h", "survival", "ci_low", "ci_high"])
    # symlog: the first day matters most, yet censored tails run to months; log alone cannot show 0 h.
    axis = hour_axis(0, float(frame["t_h"].max()))
    x = alt.X("t_h:Q", title="Time since start (log scale)", scale=alt.Scale(type="symlog"), axis=axis)
    colour = cadence_color(present=frame["cadence"])
    base = alt.Chart(data).encode(x=x, tooltip=_CURVE_TIPS)
    # The band's fill and the line's colour share one legend. (A fill with legend=None and the same
    # scale makes Vega-Lite drop the merged legend altogether: the curves had no legend.)
    fill = alt.Fill("cadence:N", title="Cadence", scale=cadence_scale(frame["cadence"]),
                    legend=alt.Legend(symbolOpacity=1, symbolType="stroke", symbolStrokeWidth=3))
    band = base.mark_area(opacity=0.18, interpolate="step-after").encode(y="ci_low:Q", y2="ci_high:Q", fill=fill)
    y = alt.Y("survival:Q", title="Share still waiting (lower is better)", axis=alt.Axis(format="%"), scale=_SHARE)
    subtitle = "Items without feedback yet are censored, not dropped. Bands are 95% intervals."
    return (
        alt.layer(band, base.mark_line(interpolate="step-after").encode(y=y, color=colour))
        .properties(width=180, height=200)
        .facet(column=alt.Column("kind:N", title="Feedback kind", sort=_KINDS))
        .properties(title=alt.Title(title, subtitle=subtitle))
    )


def feedback_distribution(feedback: pd.DataFrame) -> AnyChart:
    """Histogram of observed feedback against review (sprint check-in) latency, coloured by cadence.

    Only items whose feedback arrived are drawn; the censored ones are in the curves.
    """
    title = "Feedback latency: observed feedback against the sprint check-in"
    if is_empty(feedback, ["start"]):
        return empty_chart(title, "No started items, so no feedback latency yet.")
    parts = []
    for kind in ("observed", "review"):
        part = feedback.loc[
            feedback[f"{kind}_event"].fillna(False).astype(bool), ["team", "key", "cadence", f"{kind}_h"]
        ]
        parts.append(part.rename(columns={f"{kind}_h": "hours"}).assign(kind=kind))
    long = pd.concat(parts, ignore_index=True)
    if long.empty:
        return empty_chart(title, "No item has had feedback yet.")
    data = inline(long, ["cadence", "kind", "hours"])
    floor = 0.25  # instant feedback (0 h) lands in the first bin, 15 min
    axis = hour_axis(floor, max(float(long["hours"].max()), floor))
    return (
        log_histogram(alt.Chart(data), "hours", floor)
        .encode(
            x=alt.X("lo:Q", title="Time from start to feedback (log scale), shorter is better",
                    scale=alt.Scale(type="log"), axis=axis),
            x2="hi:Q",
            y=alt.Y("count():Q", title="Items", stack=True),
            color=cadence_color(present=long["cadence"]),
            row=alt.Row("kind:N", title="Feedback kind", sort=["observed", "review"]),
            tooltip=[
                alt.Tooltip("kind:N", title="Feedback kind"),
                alt.Tooltip("cadence:N", title="Cadence"),
                alt.Tooltip("lo:Q", title="From (hours)", format=".1f"),
                alt.Tooltip("hi:Q", title="To (hours)", format=".1f"),
                alt.Tooltip("count():Q", title="Items"),
            ],
        )
        .properties(
            width=500,
            height=130,
            title=alt.Title(title, subtitle="Items whose feedback has arrived; review = the sprint's check-in."),
        )
    )


__all__ = ["feedback_curves", "feedback_distribution", "CADENCES"]
