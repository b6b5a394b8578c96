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
# Which way is better: True higher, False lower, None neither (more scope added is not good or bad).
METRIC_BETTER = {
    "throughput_per_week": True,
    "learnings_per_week": True,
    "feedback_events_per_week": True,
    "scope_added_per_week": None,
    "say_do": True,
    "overrun_rate": False,
    "feedback_latency_median_h": False,
    "weeks_with_learning": True,
}
RULE_LABELS = {
    "label": "timebox label",
    "estimate_worklog": "estimate vs time logged",
    "estimate_working_time": "estimate vs working time",
    "due_date": "due date",
    "sprint_end": "end of its sprint",
}
# Readable ticks for log axes of hours: value -> label.
HOUR_TICKS = {0.25: "15 min", 1: "1 h", 4: "4 h", 8: "8 h", 24: "1 d", 48: "2 d", 168: "1 w", 336: "2 w",
              720: "30 d", 2160: "90 d", 8760: "1 y"}
SHARE_TICKS = [0.1, 0.3, 1, 3, 10, 30, 100, 300]


def metric_label(metric: str) -> str:
    """The metric's name for people, with its unit."""
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


def better(higher: bool | None) -> str:
    """``"higher is better"``, ``"lower is better"``, or nothing."""
    return "" if higher is None else "higher is better" if higher else "lower is better"


def axis_title(metric: str) -> str:
    """The metric's label with its unit and which way is better: "Say/do (share of committed done), higher is better"."""
    direction = better(METRIC_BETTER.get(metric))
    return f"{metric_label(metric)}, {direction}" if direction else metric_label(metric)


def hour_axis(low: float = 0.0, high: float = float("inf")) -> alt.Axis:
    """An axis of hours on a log scale, with ticks at 1 h, 8 h, 1 d, 1 w ... labelled in words."""
    ticks = {v: label for v, label in HOUR_TICKS.items() if low <= v <= high} or HOUR_TICKS
    if low <= 0:
        ticks = {0: "0", **ticks}
    expr = " : ".join(f"datum.value == {v} ? '{label}'" for v, label in ticks.items()) + " : ''"
    return alt.Axis(values=list(ticks), labelExpr=expr, grid=True)


def log_histogram(base: alt.Chart, field: str, floor: float, step: float = 0.25) -> alt.Chart:
    """Bars of a log-binned histogram of ``field`` (values below ``floor`` in the first bin).

    Bins are ``step`` wide in log10 units (x 1.78 each); ``lo``/``hi`` are each bin's edges in
    the field's own units, for an x scale of type log.
    """
    return (
        base.transform_calculate(log_v=f"log(max(datum['{field}'], {floor})) / LN10")
        .transform_bin("b", "log_v", bin=alt.Bin(step=step))
        .transform_calculate(lo="pow(10, datum.b)", hi="pow(10, datum.b_end)")
        .mark_bar(stroke="white", strokeWidth=0.5)
    )


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
