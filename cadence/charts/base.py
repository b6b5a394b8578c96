"""Pieces every chart shares: inline data, the empty state, and metric labels with units."""

from __future__ import annotations

from typing import Sequence, Union

import altair as alt
import pandas as pd

# What a chart function returns: a single, layered or faceted Altair chart.
AnyChart = Union[alt.Chart, alt.LayerChart, alt.FacetChart, alt.VConcatChart, alt.HConcatChart]

METRIC_LABELS = {
    "throughput_per_week": "Throughput (items/week)",
    "learnings_per_week": "Learnings (per week)",
    "feedback_events_per_week": "Feedback events (per week)",
    "scope_added_per_week": "Scope added (items/week)",
    "say_do": "Say/do (share of committed done)",
    "overrun_rate": "Timebox overrun rate (share)",
    "feedback_latency_median_h": "Median feedback latency (hours)",
    "weeks_with_learning": "Weeks with a learning (share)",
}


def metric_label(metric: str) -> str:
    """The metric's name for people, with its unit."""
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


def inline(frame: pd.DataFrame, columns: Sequence[str]) -> dict:
    """Only the columns a chart draws, as inline values (a plain Vega-Lite data dict).

    Passing values rather than the DataFrame keeps other columns (assignees, say) out of the
    spec and skips Altair's 5,000-row guard: a nightly report over years of sprints is larger.
    A plain dict, not ``alt.InlineData``: constructing that validates every row, which took
    tens of seconds for a 2,000-sprint warehouse; the spec is still validated by ``to_dict()``.
    """
    present = [c for c in columns if c in frame.columns]
    subset = alt.utils.sanitize_pandas_dataframe(frame.loc[:, present].copy())
    return {"values": subset.to_dict(orient="records")}


def is_empty(frame: pd.DataFrame | None, needed: Sequence[str] = ()) -> bool:
    """True when there is nothing to draw: no frame, no rows, or all values of a needed column missing."""
    if frame is None or frame.empty:
        return True
    return any(c not in frame.columns or frame[c].isna().all() for c in needed)


def empty_chart(title: str, message: str) -> alt.Chart:
    """A chart that says why there is nothing to draw, instead of an empty axis."""
    return (
        alt.Chart({"values": [{"message": message}]}, title=title)
        .mark_text(fontSize=14, color="#555555", align="center", baseline="middle")
        .encode(text="message:N", tooltip=alt.Tooltip("message:N", title="Why empty"))
        .properties(width=560, height=120)
    )
