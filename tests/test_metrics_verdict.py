"""The verdict: the rule that picks clear / suggestive / can't tell, and the four answers built on it.

The expected words are worked out by hand from the rule in cadence/metrics/verdict.py's docstring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cadence.metrics import compare, verdict_from
from cadence.metrics.verdict import evidence_word

NAN = float("nan")


@pytest.mark.parametrize(
    "diff_ci, ci_a, ci_b, d, sprints, teams, word",
    [
        # intervals apart, medium effect, enough teams and sprints
        ((-20, -8), (18, 24), (30, 40), -1.7, (18, 10), (4, 3), "clear"),
        # the same numbers within one team (a switch): teams do not count
        ((-20, -8), (18, 24), (30, 40), -1.7, (18, 10), None, "clear"),
        # apart, but a small effect
        ((-2, -1), (10, 11), (11.5, 13), -0.3, (40, 40), (6, 6), "suggestive"),
        # the difference excludes 0 but the two intervals overlap
        ((0.26, 1.44), (1.5, 2.39), (0.75, 1.52), 1.1, (18, 10), None, "suggestive"),
        # the difference includes 0
        ((-0.26, 0.06), (0.41, 0.71), (0.59, 0.73), -0.4, (18, 10), None, "can't tell"),
        # too few teams: whatever the intervals say
        ((-20, -8), (18, 24), (30, 40), -1.7, (52, 28), (2, 2), "can't tell"),
        # too few sprints on one side
        ((-20, -8), (18, 24), (30, 40), -1.7, (5, 28), None, "can't tell"),
        # no interval at all
        ((NAN, NAN), (18, 24), (30, 40), NAN, (8, 8), None, "can't tell"),
    ],
)
def test_the_rule_that_picks_the_word(diff_ci, ci_a, ci_b, d, sprints, teams, word):
    got, reason = evidence_word(diff_ci, ci_a, ci_b, d, sprints, teams)
    assert got == word and reason


def _team(team: str, cadence: str, n: int, latency: float, say_do: float, start: int = 0) -> list[dict]:
    """``n`` closed sprints whose values alternate about the given means (latency +-2 h, say/do +-0.01,
    overrun rate 0.5 +-0.05), so that an even ``n`` has exactly those means."""
    weeks = int(cadence[0])
    return [
        {"team": team, "cadence": cadence, "cadence_weeks": weeks, "state": "closed", "start": start + 7 * weeks * i,
         "sprint_key": f"{team}{start}{i}", "feedback_latency_median_h": latency + (-1) ** i * 2,
         "say_do": say_do + (-1) ** i * 0.01, "overrun_rate": 0.5 + (-1) ** i * 0.05}
        for i in range(n)
    ]


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for metric in compare.METRICS:
        if metric not in frame:
            frame[metric] = np.nan
    return frame


def test_a_teams_own_switch_leads_and_the_trade_off_is_spelled_out():
    """Team S ran 10 two-week sprints (latency about 40 h, say/do 0.83), then 18 one-week ones (about 20 h,
    0.64): with sd 2 h and 0.01, both differences are clear. Overrun rates are the same on both sides."""
    rows = _team("S", "2w", 10, 40, 0.83) + _team("S", "1w", 18, 20, 0.64, start=140)
    rows += _team("V", "1w", 30, 19, 0.7) + _team("R", "2w", 16, 35, 0.82)
    out = verdict_from(_frame(rows), n_boot=1000).set_index("question")
    assert list(out.index) == ["fast feedback", "honest timeboxes", "a learning every week", "another cadence"]
    fast = out.loc["fast feedback"]
    assert fast["evidence"] == "clear" and (fast["side_a"], fast["side_b"]) == ("1w", "2w")
    assert fast["answer"].startswith("Better with 1w than 2w: median feedback latency 20 h [")
    assert "S's own switch from 2w to 1w" in fast["answer"] and fast["diff"] == pytest.approx(-20)
    assert fast["diff_ci_low"] < fast["diff"] < fast["diff_ci_high"] < 0
    # Across teams there are only 2 teams per cadence: said, and never called clear.
    assert "Across teams" in fast["across_teams"] and "can't tell: fewer than 3 teams" in fast["across_teams"]
    assert fast["tradeoff"].startswith("1w gives 20 h latency against 40 h, but say/do 0.64 against 0.83")
    assert out.loc["honest timeboxes", "evidence"] == "can't tell"
    assert out.loc["a learning every week", "answer"].startswith("Can't tell")
    another = out.loc["another cadence"]
    assert another["evidence"] == "clear"
    assert another["answer"].startswith(
        "A trade-off: 1w did better than 2w on median feedback latency, and worse on say/do")


def test_across_teams_the_word_needs_three_teams_a_side():
    """No switch: 1w against 2w across teams. With 3 teams a side and a 15 h gap the word is clear;
    with the same gap between 2 teams a side it is can't tell."""
    three = [r for t in "ABC" for r in _team(t, "1w", 12, 20, 0.7)]
    three += [r for t in "DEF" for r in _team(t, "2w", 8, 35, 0.7)]
    out = verdict_from(_frame(three), n_boot=1000).set_index("question")
    assert out.loc["fast feedback", "evidence"] == "clear"
    assert "across teams: 1w (3 teams, 36 sprints) against 2w (3 teams, 24 sprints)" in out.loc["fast feedback",
                                                                                                "answer"]
    two = [r for r in three if r["team"] not in ("C", "F")]
    out = verdict_from(_frame(two), n_boot=1000).set_index("question")
    assert out.loc["fast feedback", "evidence"] == "can't tell"
    assert out.loc["fast feedback", "answer"].startswith("Can't tell whether 1w or 2w is better")
    assert out.loc["another cadence", "evidence"] == "can't tell"


def test_one_cadence_only_cannot_answer():
    out = verdict_from(_frame(_team("A", "2w", 10, 30, 0.8)), n_boot=200)
    assert list(out["evidence"]) == ["can't tell"] * 4
    assert all(answer.startswith("Can't tell") for answer in out["answer"])
