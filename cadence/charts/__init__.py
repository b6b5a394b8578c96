"""Altair charts over the metric frames. Charts draw; they never compute or fetch.

Importing this package registers and enables the ``cadence`` theme.
"""

from cadence.charts.base import RULE_LABELS, AnyChart, axis_title, empty_chart, metric_label
from cadence.charts.comparison import before_after, cadence_comparison
from cadence.charts.feedback import feedback_curves, feedback_distribution
from cadence.charts.sprints import scorecard, team_timeline
from cadence.charts.theme import CADENCE_COLOURS, CADENCES, THEME_NAME, cadence_color, for_slides
from cadence.charts.trends import (
    carry_counts, learnings_per_week, metric_trend, overrun_rate, overrun_sizes, weeks_with_learning,
)
from cadence.charts.whatif import what_if, what_if_backtest

__all__ = [
    "AnyChart",
    "RULE_LABELS",
    "axis_title",
    "for_slides",
    "overrun_sizes",
    "CADENCES",
    "CADENCE_COLOURS",
    "THEME_NAME",
    "before_after",
    "cadence_color",
    "cadence_comparison",
    "carry_counts",
    "empty_chart",
    "feedback_curves",
    "feedback_distribution",
    "learnings_per_week",
    "metric_label",
    "metric_trend",
    "overrun_rate",
    "scorecard",
    "team_timeline",
    "weeks_with_learning",
    "what_if",
    "what_if_backtest",
]
