"""Sprint charts: the retro scorecard and the team timeline."""

from __future__ import annotations

import altair as alt
import pandas as pd

from cadence.charts.base import AnyChart, empty_chart, inline, is_empty
from cadence.charts.theme import cadence_color

SCORECARD_COUNTS = ["committed", "added", "removed", "completed", "carried_over"]
_COUNT_COLOURS = ["#0072B2", "#56B4E9", "#CC79A7", "#009E73", "#D55E00"]


def _scorecard_rows(window: pd.DataFrame, chosen: str) -> pd.DataFrame:
    """One row per sprint and count, marking the chosen sprint."""
    long = window.melt(
        id_vars=["sprint_id", "sprint_name", "start", "cadence"],
        value_vars=SCORECARD_COUNTS,
        var_name="count",
        value_name="items",
    )
    return long.assign(
        which=(long["sprint_id"].astype(str) == chosen).map({True: "this sprint", False: "previous"}),
        sprint_label=long["sprint_name"].fillna(long["sprint_id"]).astype(str),
        count_label=long["count"].str.replace("_", " "),
    )


_COUNT_LABELS = [c.replace("_", " ") for c in SCORECARD_COUNTS]
_COUNT_SCALE = alt.Scale(domain=_COUNT_LABELS, range=_COUNT_COLOURS)
_WHICH_SCALE = alt.Scale(domain=["this sprint", "previous"], range=[1.0, 0.45])


def scorecard(by_sprint: pd.DataFrame, team: str, sprint_id: str | None = None, previous: int = 3,
              height: int = 240) -> AnyChart:
    """The sprint report counts of one sprint beside the team's ``previous`` sprints before it.

    ``sprint_id`` defaults to the team's last sprint in the frame; that sprint is drawn solid,
    the earlier ones faded.
    """
    title = f"Sprint scorecard: {team}"
    sprints = by_sprint if is_empty(by_sprint, ["team"]) else by_sprint.loc[by_sprint["team"] == team]
    if is_empty(sprints, ["start"]):
        return empty_chart(title, f"No sprints for team {team}.")
    sprints = sprints.sort_values("start")
    ids = sprints["sprint_id"].astype(str).tolist()
    chosen = str(sprint_id) if sprint_id is not None else ids[-1]
    if chosen not in ids:
        return empty_chart(title, f"Sprint {chosen} is not one of {team}'s sprints.")
    window = sprints.iloc[max(0, ids.index(chosen) - previous) : ids.index(chosen) + 1]
    order = window["sprint_name"].fillna(window["sprint_id"]).astype(str).tolist()
    data = inline(_scorecard_rows(window, chosen),
                  ["sprint_label", "start", "cadence", "count", "count_label", "items", "which"])
    subtitle = "Committed, added, removed, completed and carried over, against the previous sprints."
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("sprint_label:N", title="Sprint (oldest to newest)", sort=order, axis=alt.Axis(labelAngle=-30)),
            xOffset=alt.XOffset("count:N", sort=SCORECARD_COUNTS),
            y=alt.Y("items:Q", title="Items"),
            color=alt.Color("count_label:N", title="Sprint report", sort=_COUNT_LABELS, scale=_COUNT_SCALE),
            opacity=alt.Opacity("which:N", title=None, scale=_WHICH_SCALE),
            tooltip=[
                alt.Tooltip("sprint_label:N", title="Sprint"),
                alt.Tooltip("cadence:N", title="Cadence"),
                alt.Tooltip("count_label:N", title="Count"),
                alt.Tooltip("items:Q", title="Items"),
            ],
        )
        .properties(width=alt.Step(12), height=height, title=alt.Title(title, subtitle=subtitle))
    )


def team_timeline(sprints: pd.DataFrame) -> AnyChart:
    """Each team's sprints as bars in time, coloured by cadence, so that switches show at a glance."""
    title = "Team timeline: sprints coloured by cadence"
    if is_empty(sprints, ["start", "end"]):
        return empty_chart(title, "No sprints with planned dates yet.")
    data = inline(
        sprints.dropna(subset=["start", "end"]),
        ["team", "sprint_name", "sprint_id", "state", "start", "end", "length_days", "cadence"],
    )
    n_teams = int(sprints["team"].nunique())
    cadences = sprints.dropna(subset=["start", "end"])["cadence"]
    return (
        alt.Chart(data)
        .mark_bar(height=alt.RelativeBandSize(0.7), stroke="white", strokeWidth=0.5)
        .encode(
            x=alt.X("start:T", title="Date (UTC)"),
            x2="end:T",
            y=alt.Y("team:N", title="Team"),
            color=cadence_color(present=cadences),
            tooltip=[
                alt.Tooltip("team:N", title="Team"),
                alt.Tooltip("sprint_name:N", title="Sprint"),
                alt.Tooltip("state:N", title="State"),
                alt.Tooltip("start:T", title="Start", format="%Y-%m-%d %H:%M"),
                alt.Tooltip("end:T", title="Planned end", format="%Y-%m-%d %H:%M"),
                alt.Tooltip("length_days:Q", title="Planned length (days)", format=".1f"),
                alt.Tooltip("cadence:N", title="Cadence"),
            ],
        )
        .properties(width=540, height=max(60, 22 * n_teams), title=title)
    )
