"""The report's "What if (another cadence)" section: the back-test first, then each team on other grids.

It follows the cadence comparison (``sections.comparison`` appends it). When the report data holds
no what-if frames (a hand-built ``ReportData``), the section says so and its two charts say why
they are empty, so every report has the same charts.
"""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from cadence.charts import AnyChart
from cadence.charts.whatif import what_if, what_if_backtest
from cadence.report.assets import chart_div
from cadence.report.html import Column, esc, fmt_date, raw_block, table
from cadence.report.whatif_text import interval

HEADING = "What if (another cadence)"
BACKTEST_COLUMNS = [
    Column("team", "Team"), Column("change", "Switch"), Column("switch_at", "Switched", fmt_date),
    Column("label", "Metric"), Column("before_cell", "Before [95% CI]"),
    Column("predicted_cell", "Predicted after [95% CI]"), Column("actual_cell", "Actual after [95% CI]"),
    Column("overlap_word", "Intervals overlap"), Column("warning", "Note"),
]


def _intro(not_modelled: str) -> str:
    return (
        '<p class="meta">Each team\'s own history, re-timed onto 1-, 2- and 3-week sprint grids on its usual '
        "weekday and time. Only what follows from the calendar moves: the check-in (the next sprint end), "
        "sprint-end timeboxes, carry-overs, and which sprint weeks hold a learning. Comments, reviews, starts, "
        "finishes and learnings keep their real times. Intervals: 95%, Monte Carlo over the grid's phase with a "
        f"bootstrap over items (sprints, for learnings). <b>Not modelled:</b> {esc(not_modelled)}.</p>")


def _backtest(frame: pd.DataFrame, scrub: Callable[[Any], str]) -> tuple[str, dict[str, AnyChart]]:
    head = "<h3>Checked against a real switch</h3>"
    named = {"what_if_backtest": what_if_backtest(frame)}
    if frame.empty:
        return raw_block(head + '<p class="empty">No team switched cadence, so the method cannot be checked '
                         "against one here.</p>") + _charts(named), named
    rows = frame.to_dict(orient="records")
    shown = frame.assign(
        change=frame["before_cadence"].astype(str) + " → " + frame["after_cadence"].astype(str),
        before_cell=[interval(r, "before", "before_ci_low", "before_ci_high") for r in rows],
        predicted_cell=[interval(r, "predicted", "ci_low", "ci_high") for r in rows],
        actual_cell=[interval(r, "actual", "actual_ci_low", "actual_ci_high") for r in rows],
        overlap_word=frame["overlap"].map({True: "yes", False: "no"}),
    )
    hits = int(frame["overlap"].sum())
    note = (f'<p class="meta">The after period predicted from the before period alone, beside what happened. '
            f"The intervals overlap for {hits} of {len(frame)} figures; where they do not, something other than "
            "the calendar changed with the switch (how people plan, review or learn).</p>")
    return raw_block(head + note + table(shown, BACKTEST_COLUMNS, scrub)) + _charts(named), named


def _team_table(part: pd.DataFrame, scrub: Callable[[Any], str]) -> str:
    """One row per metric: actual, then the prediction on each grid."""
    first = part.drop_duplicates("metric").set_index("metric")
    rows = first.reset_index().to_dict(orient="records")
    wide = pd.DataFrame({"label": first["label"].to_numpy(),
                         "actual": [interval(r, "actual", "actual_ci_low", "actual_ci_high") for r in rows]})
    columns = [Column("label", "Metric"), Column("actual", "Actual [95% CI]")]
    for weeks, grid in part.groupby("weeks", sort=True):
        cells = {r["metric"]: interval(r, "predicted", "ci_low", "ci_high") for r in grid.to_dict(orient="records")}
        wide[f"w{weeks}"] = first.index.map(cells)
        columns.append(Column(f"w{weeks}", f"{weeks}-week grid [95% CI]"))
    wide["better"], wide["note"] = first["better"].to_numpy(), first["warning"].to_numpy()
    return table(wide, [*columns, Column("better", "Better"), Column("note", "Note")], scrub)


ALTS = {"what_if_backtest": "A real cadence switch: before, the after period predicted from before, and what happened",
        "what_if": "Each team's calendar-driven figures on 1-, 2- and 3-week grids, beside the actual ones"}


def _charts(named: dict[str, AnyChart]) -> str:
    return raw_block("\n".join(chart_div(name, ALTS.get(name, name)) for name in named))


def section(scenarios: pd.DataFrame | None, backtest: pd.DataFrame | None,
            scrub: Callable[[Any], str]) -> tuple[str, dict[str, AnyChart]]:
    """The section's markup (with its own ``##`` heading) and its charts."""
    heading = f"\n## {HEADING}\n\n"
    if scenarios is None or backtest is None:
        named = {"what_if_backtest": what_if_backtest(pd.DataFrame()), "what_if": what_if(pd.DataFrame())}
        missing = '<p class="empty">The what-if figures were not computed for this report.</p>'
        return heading + raw_block(missing) + _charts(named), named
    not_modelled = scenarios["not_modelled"].iloc[0] if len(scenarios) else ""
    checked, named = _backtest(backtest, scrub)
    teams = "".join(
        f"<h4>{esc(scrub(team))}</h4><p class=\"meta\">Grid boundaries on {esc(part['boundary'].iloc[0])}, "
        "the team's usual sprint end. On the cadence it already runs, the grid keeps its own phase; a gap to the "
        "actual there is the team's late closes and uneven sprints.</p>"
        + _team_table(part, scrub) for team, part in scenarios.groupby("team", sort=True))
    per_team = {"what_if": what_if(scenarios)}
    body = raw_block("<h3>Each team on other grids</h3>" + (teams or '<p class="empty">No team has sprints.</p>'))
    return heading + raw_block(_intro(not_modelled)) + checked + body + _charts(per_team), {**named, **per_team}


def after_comparison(markup: str, charts: dict[str, AnyChart], data: Any,
                     scrub: Callable[[Any], str]) -> tuple[str, dict[str, AnyChart]]:
    """The comparison section followed by this one (the hook in ``sections.comparison``)."""
    extra, named = section(getattr(data, "what_if", None), getattr(data, "what_if_backtest", None), scrub)
    return markup + extra, {**charts, **named}
