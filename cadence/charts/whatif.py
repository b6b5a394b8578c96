"""What-if charts: a team's actual figures beside the same history re-timed onto other grids."""

from __future__ import annotations

import altair as alt
import pandas as pd

from cadence.charts.base import AnyChart, empty_chart, inline, is_empty
from cadence.charts.theme import CADENCE_COLOURS, MUTED

SCENARIOS = ("actual", "1w grid", "2w grid", "3w grid")
_SCENARIO_COLOURS = alt.Scale(
    domain=list(SCENARIOS), range=["#000000", CADENCE_COLOURS["1w"], CADENCE_COLOURS["2w"], CADENCE_COLOURS["3w"]])
CHECK = ("before", "predicted", "actual")
_CHECK_COLOURS = alt.Scale(domain=list(CHECK), range=[MUTED, "#D55E00", "#000000"])
_TIPS = [alt.Tooltip("estimate:Q", title="Estimate", format=".2f"),
         alt.Tooltip("ci_low:Q", title="95% CI low", format=".2f"),
         alt.Tooltip("ci_high:Q", title="95% CI high", format=".2f")]
_ROW = alt.Row("label:N", title=None, sort=alt.EncodingSortField("order"),
               header=alt.Header(labelAngle=0, labelAlign="left", labelLimit=260))


def _panels(long: pd.DataFrame, colour: alt.Color, offset: alt.YOffset, title: str, subtitle: str) -> alt.FacetChart:
    columns = ["team", "label", "order", "scenario", "estimate", "ci_low", "ci_high", "note"]
    tips = [alt.Tooltip("team:N", title="Team"), alt.Tooltip("label:N", title="Metric"),
            alt.Tooltip("scenario:N", title="Calendar"), *_TIPS, alt.Tooltip("note:N", title="Note")]
    base = alt.Chart(inline(long, columns)).encode(y=alt.Y("team:N", title=None), yOffset=offset,
                                                    color=colour, tooltip=tips)
    rules = base.mark_rule(strokeWidth=3).encode(x=alt.X("ci_low:Q", title="Estimate, 95% interval"), x2="ci_high:Q")
    points = base.mark_point(size=90, filled=True).encode(x="estimate:Q")
    return (alt.layer(rules, points).properties(width=440, height=alt.Step(12)).facet(row=_ROW)
            .resolve_scale(x="independent").properties(title=alt.Title(title, subtitle=subtitle)))


def _side(frame: pd.DataFrame, scenario: pd.Series, prefix: str) -> pd.DataFrame:
    """One scenario's rows: ``prefix`` is ``actual``, ``before`` or ``predicted`` (whose bounds are ci_*)."""
    bounds = ("ci_low", "ci_high") if prefix == "predicted" else (f"{prefix}_ci_low", f"{prefix}_ci_high")
    names = {prefix: "estimate", bounds[0]: "ci_low", bounds[1]: "ci_high"}
    part = frame[["team", "metric", "label", *names]].rename(columns=names)
    order = pd.Series(pd.factorize(frame["metric"])[0], index=frame.index)  # the metrics in the frame's order
    return part.assign(scenario=scenario.to_numpy(), note=frame["warning"], order=order)


def what_if(frame: pd.DataFrame) -> AnyChart:
    """Per metric and team: the actual figure (black) and the figure on each grid (cadence colours).

    ``frame`` is a ``what_if`` or ``what_if_all`` frame.
    """
    title = "What if: the same history on other sprint grids"
    if is_empty(frame, ["predicted"]):
        return empty_chart(title, "No team has sprints to re-time.")
    grids = frame["weeks"].astype(int).astype(str) + "w grid"
    first = frame.drop_duplicates(["team", "metric"])
    long = pd.concat([_side(first, pd.Series("actual", index=first.index), "actual"),
                      _side(frame, grids, "predicted")], ignore_index=True)
    colour = alt.Color("scenario:N", title="Calendar", scale=_SCENARIO_COLOURS, sort=list(SCENARIOS))
    subtitle = ("Only what follows from the calendar is re-timed; throughput, scope added and say/do are not "
                "modelled. Bars: 95% intervals (Monte Carlo over the phase, bootstrap over items).")
    return _panels(long, colour, alt.YOffset("scenario:N", sort=list(SCENARIOS)), title, subtitle)


def what_if_backtest(frame: pd.DataFrame) -> AnyChart:
    """For each team that switched: before (grey), the after period predicted from before (orange),
    and what really happened after (black), with 95% intervals."""
    title = "Back-test: a real switch predicted from the period before it"
    if is_empty(frame, ["predicted"]):
        return empty_chart(title, "No team has switched cadence, so there is nothing to check the method against.")
    parts = [_side(frame, pd.Series(name, index=frame.index), column)
             for name, column in (("before", "before"), ("predicted", "predicted"), ("actual", "actual"))]
    long = pd.concat(parts, ignore_index=True)
    colour = alt.Color("scenario:N", title="Period", scale=_CHECK_COLOURS, sort=list(CHECK))
    subtitle = "Where orange and black overlap, the calendar alone is enough to explain what the switch did."
    return _panels(long, colour, alt.YOffset("scenario:N", sort=list(CHECK)), title, subtitle)
