"""What a retro deck shows: one team's sprint, its predecessors, and the rows behind each slide."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from cadence.errors import CadenceError
from cadence.report.data import ReportData
from cadence.report.safe import neutralise_frame, neutralise_value



@dataclass
class SprintDeck:
    """One sprint's rows, picked out of the report data."""

    team: str
    sprint: pd.Series  # the by_sprint row
    previous: pd.DataFrame  # up to trend_window closed sprints before it, oldest first (as the report's arrows)
    team_sprints: pd.DataFrame  # every sprint of the team, oldest first
    feedback: pd.DataFrame  # items started in the sprint
    overruns: pd.DataFrame  # timeboxes that expired in the sprint
    learnings: pd.DataFrame  # learnings in the sprint
    switches: pd.DataFrame  # the team's before/after rows, if it switched cadence

    @property
    def title(self) -> str:
        return f"{self.team}: {self.sprint['sprint_name'] or self.sprint['sprint_id']}"


def pick_team(by_sprint: pd.DataFrame, team: str | None) -> str:
    """The named team; without a name, the team whose latest sprint closed most recently."""
    closed = by_sprint.loc[by_sprint["state"] == "closed"]
    teams = sorted(by_sprint["team"].dropna().unique())
    if team is not None:
        if team not in teams:
            raise CadenceError(f"no team {team!r} in the warehouse; teams: {', '.join(teams) or 'none'}")
        return team
    if closed.empty:
        raise CadenceError("no closed sprint in the warehouse, so there is no sprint to review")
    return str(closed.sort_values("completed_at").iloc[-1]["team"])


def pick_sprint(team_sprints: pd.DataFrame, team: str, sprint: str) -> pd.Series:
    """``latest``: the team's last closed sprint; otherwise the sprint with that id (or key, or name)."""
    if sprint == "latest":
        closed = team_sprints.loc[team_sprints["state"] == "closed"]
        if closed.empty:
            raise CadenceError(f"team {team!r} has no closed sprint yet; pass --sprint ID for an active one")
        return closed.sort_values("completed_at").iloc[-1]
    for column in ("sprint_id", "sprint_key", "sprint_name"):
        match = team_sprints.loc[team_sprints[column].astype(str) == str(sprint)]
        if not match.empty:
            return match.iloc[-1]
    ids = ", ".join(team_sprints["sprint_id"].astype(str).tolist()[-8:])
    raise CadenceError(f"team {team!r} has no sprint {sprint!r}; its latest sprint ids: {ids}")


def sprint_deck(data: ReportData, team: str | None, sprint: str) -> SprintDeck:
    """Select the rows each slide shows."""
    chosen_team = pick_team(data.by_sprint, team)
    team_sprints = data.by_sprint.loc[data.by_sprint["team"] == chosen_team].sort_values("start")
    row = pick_sprint(team_sprints, chosen_team, sprint)
    key = row["sprint_key"]
    before = team_sprints.loc[(team_sprints["start"] < row["start"]) & (team_sprints["state"] == "closed")].tail(
        data.trend_window
    )
    return SprintDeck(
        team=chosen_team,
        sprint=row,
        previous=before,
        team_sprints=team_sprints.loc[team_sprints["start"] <= row["start"]],
        feedback=data.feedback.loc[data.feedback["sprint_key"] == key],
        overruns=data.overruns.loc[data.overruns["sprint_key"] == key].sort_values("overrun_size", ascending=False),
        learnings=data.learnings.loc[data.learnings["sprint_key"] == key].sort_values("occurred_at"),
        switches=data.switches.loc[data.switches["team"] == chosen_team],
    )


def neutralised_deck(d: SprintDeck) -> SprintDeck:
    """``d`` with bidirectional overrides and control characters removed from its text."""
    frames = {f.name: neutralise_frame(getattr(d, f.name)) for f in dataclasses.fields(d)
              if isinstance(getattr(d, f.name), pd.DataFrame)}
    return dataclasses.replace(d, team=neutralise_value(d.team), sprint=d.sprint.map(neutralise_value), **frames)
