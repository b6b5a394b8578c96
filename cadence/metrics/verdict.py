"""The verdict: a one-line answer to each of the four questions, with its number, interval and a word.

The questions (PRODUCT.md): fast feedback, honest timeboxes, at least one concrete learning every
week, and would another cadence do better. Each is answered from the **cleanest evidence**
there is: a team's own cadence switch (the same people, before and after) when a team switched,
else the comparison across teams of the two cadences with the most sprints (shorter first).

**The word** (``evidence_word``) for one comparison of a metric between two sides:

1. ``"can't tell"`` when there are too few to compare: under 6 sprints on a side, or (across
   teams) under 3 teams on a side, where team and cadence cannot be told apart;
2. ``"can't tell"`` when the 95% interval of the difference includes 0;
3. ``"clear"`` when, besides, the two sides' own 95% intervals do not overlap and the effect is
   at least medium: |Cohen's d| >= 0.5 (the difference over the pooled standard deviation of the
   sprint values);
4. ``"suggestive"`` otherwise: the difference is there, but the sides' intervals overlap or the
   effect is small.

Non-overlapping 95% intervals are a stricter test than an interval of the difference that excludes
0 (about p < 0.006 against p < 0.05), which is why they mark "clear". Question 4's word is the
strongest word among the metrics on which the shorter cadence did better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from cadence.metrics.compare import MIN_SPRINTS, MIN_TEAMS

CLEAR, SUGGESTIVE, CANT_TELL = "clear", "suggestive", "can't tell"
MEDIUM_EFFECT = 0.5
WORDS = (CLEAR, SUGGESTIVE, CANT_TELL)


@dataclass(frozen=True)
class Measure:
    """How a metric reads in a sentence, and which way is better."""

    noun: str
    fmt: Callable[[float], str]
    higher_better: bool
    phrase: str  # the two values in a trade-off: {a} against {b}


def _hours(v: float) -> str:
    return f"{v:,.0f} h" if abs(v) >= 10 else f"{v:.1f} h"


def _share(v: float) -> str:
    return f"{v:.0%}"


def _one(v: float) -> str:
    return f"{v:.1f}"


MEASURES = {
    "feedback_latency_median_h": Measure("median feedback latency", _hours, False, "{a} latency against {b}"),
    "overrun_rate": Measure("timeboxes overrun", _share, False, "{a} of timeboxes overrun against {b}"),
    "weeks_with_learning": Measure("weeks with a learning", _share, True, "a learning in {a} of weeks against {b}"),
    "learnings_per_week": Measure("learnings a week", _one, True, "{a} learnings a week against {b}"),
    "say_do": Measure("say/do", lambda v: f"{v:.2f}", True, "say/do {a} against {b}"),
    "throughput_per_week": Measure("items done a week", _one, True, "{a} items done a week against {b}"),
}
# Question 4 and the trade-offs weigh these, in this order.
TRADE_METRICS = ("feedback_latency_median_h", "learnings_per_week", "weeks_with_learning", "overrun_rate",
                 "say_do", "throughput_per_week")
QUESTIONS = (
    ("fast feedback", "feedback_latency_median_h"),
    ("honest timeboxes", "overrun_rate"),
    ("a learning every week", "weeks_with_learning"),
    ("another cadence", None),
)
COLUMNS = ["question", "answer", "evidence", "reason", "basis", "metric", "side_a", "side_b", "estimate_a",
           "estimate_b", "diff", "diff_ci_low", "diff_ci_high", "effect_size", "across_teams", "tradeoff"]


def evidence_word(diff_ci: tuple[float, float], ci_a: tuple[float, float], ci_b: tuple[float, float],
                  effect: float, n_sprints: tuple[int, int], n_teams: tuple[int, int] | None) -> tuple[str, str]:
    """The word for one comparison and the reason for it; ``n_teams`` None for a within-team switch."""
    if min(n_sprints) < MIN_SPRINTS:
        return CANT_TELL, f"fewer than {MIN_SPRINTS} sprints on a side"
    if n_teams is not None and min(n_teams) < MIN_TEAMS:
        return CANT_TELL, f"fewer than {MIN_TEAMS} teams on a side, so team and cadence cannot be told apart"
    low, high = diff_ci
    if any(math.isnan(x) for x in (low, high)) or low <= 0 <= high:
        return CANT_TELL, "the 95% interval of the difference includes 0"
    apart = ci_a[1] < ci_b[0] or ci_b[1] < ci_a[0]
    if apart and not math.isnan(effect) and abs(effect) >= MEDIUM_EFFECT:
        return CLEAR, f"the intervals do not overlap and the effect is large enough (d = {abs(effect):.1f})"
    if not apart:
        return SUGGESTIVE, "the difference's interval excludes 0, but the two intervals overlap"
    return SUGGESTIVE, f"a small effect (d = {abs(effect):.1f})"


@dataclass(frozen=True)
class Comparison:
    """One metric compared between side a (the switch's after, or the shorter cadence) and side b."""

    metric: str
    basis: str
    side_a: str
    side_b: str
    estimate_a: float
    estimate_b: float
    ci_a: tuple[float, float]
    ci_b: tuple[float, float]
    diff_ci: tuple[float, float]
    effect: float
    word: str
    reason: str

    @property
    def a_better(self) -> bool | None:
        """Whether side a did better, when the word says there is a difference at all."""
        if self.word == CANT_TELL or self.metric not in MEASURES:
            return None
        return (self.estimate_a > self.estimate_b) == MEASURES[self.metric].higher_better

    def pair(self) -> str:
        """``"20 h latency against 35 h"``."""
        m = MEASURES[self.metric]
        return m.phrase.format(a=m.fmt(self.estimate_a), b=m.fmt(self.estimate_b))


def _lead_switch(switches: pd.DataFrame) -> pd.DataFrame:
    """The switch with the most sprints on its smaller side (the latest on a tie): its rows per metric."""
    if switches.empty:
        return switches
    sides = switches.assign(smaller=switches[["n_before", "n_after"]].min(axis=1))
    best = sides.sort_values(["smaller", "switch_at"]).iloc[-1]
    return switches[(switches["team"] == best["team"]) & (switches["switch_at"] == best["switch_at"])]


def _from_switch(row: pd.Series) -> Comparison:
    word, reason = evidence_word(
        (row["diff_ci_low"], row["diff_ci_high"]), (row["after_ci_low"], row["after_ci_high"]),
        (row["before_ci_low"], row["before_ci_high"]), row["effect_size"], (row["n_after"], row["n_before"]), None)
    basis = f"{row['team']}'s own switch from {row['before_cadence']} to {row['after_cadence']}"
    return Comparison(row["metric"], basis, str(row["after_cadence"]), str(row["before_cadence"]),
                      row["after_estimate"], row["before_estimate"], (row["after_ci_low"], row["after_ci_high"]),
                      (row["before_ci_low"], row["before_ci_high"]), (row["diff_ci_low"], row["diff_ci_high"]),
                      row["effect_size"], word, reason)


def _from_difference(row: pd.Series) -> Comparison:
    word, reason = evidence_word(
        (row["diff_ci_low"], row["diff_ci_high"]), (row["ci_low_a"], row["ci_high_a"]),
        (row["ci_low_b"], row["ci_high_b"]), row["effect_size"], (row["n_sprints_a"], row["n_sprints_b"]),
        (row["n_teams_a"], row["n_teams_b"]))
    basis = (f"across teams: {row['cadence_a']} ({row['n_teams_a']} teams, {row['n_sprints_a']} sprints) "
             f"against {row['cadence_b']} ({row['n_teams_b']} teams, {row['n_sprints_b']} sprints)")
    return Comparison(row["metric"], basis, str(row["cadence_a"]), str(row["cadence_b"]), row["estimate_a"],
                      row["estimate_b"], (row["ci_low_a"], row["ci_high_a"]), (row["ci_low_b"], row["ci_high_b"]),
                      (row["diff_ci_low"], row["diff_ci_high"]), row["effect_size"], word, reason)


def _cross_pair(compare: pd.DataFrame, lead: pd.DataFrame) -> tuple[str, str] | None:
    """The cadences compared across teams: the lead switch's, else the two with the most sprints."""
    if not lead.empty:
        after, before = str(lead["after_cadence"].iloc[0]), str(lead["before_cadence"].iloc[0])
        return tuple(sorted((after, before)))  # type: ignore[return-value]
    counts = compare[compare["cadence"] != "other"].groupby("cadence")["n_sprints"].max()
    counts = counts[counts > 0].sort_values(ascending=False, kind="stable")
    if len(counts) < 2:
        return None
    return tuple(sorted(counts.index[:2]))  # type: ignore[return-value]


def _comparisons(compare: pd.DataFrame, diffs: pd.DataFrame, switches: pd.DataFrame
                 ) -> tuple[dict[str, Comparison], dict[str, Comparison]]:
    """Per metric: the lead comparison (switch if any, else across teams) and the across-teams one."""
    lead = _lead_switch(switches)
    pair = _cross_pair(compare, lead)
    across: dict[str, Comparison] = {}
    if pair is not None and not diffs.empty:
        rows = diffs[(diffs["cadence_a"] == pair[0]) & (diffs["cadence_b"] == pair[1])]
        across = {r["metric"]: _from_difference(r) for _, r in rows.iterrows()}
    if lead.empty:
        return dict(across), across
    return {r["metric"]: _from_switch(r) for _, r in lead.iterrows() if r["n_before"] and r["n_after"]}, across


def tradeoff(comparisons: dict[str, Comparison], focus: str | None = None) -> str:
    """``"1w gives 20 h latency against 35 h ..., but say/do 0.67 against 0.82"`` for side a."""
    rated = [comparisons[m] for m in TRADE_METRICS if m in comparisons and comparisons[m].a_better is not None]
    gains = [c for c in rated if c.a_better and (focus is None or c.metric == focus)]
    losses = [c for c in rated if not c.a_better]
    if not rated:
        return "No difference that the data can show on any metric."
    side = rated[0].side_a
    parts = []
    if gains:
        parts.append(f"{side} gives " + " and ".join(c.pair() for c in gains))
    if losses:
        parts.append(("but " if gains else f"{side} gives ") + " and ".join(c.pair() for c in losses))
    return ", ".join(parts) if parts else f"{side}: no cost on the other metrics that the data can show."


def _interval(c: Comparison) -> str:
    fmt = MEASURES[c.metric].fmt
    return f"{fmt(c.estimate_a)} [{fmt(c.ci_a[0])}, {fmt(c.ci_a[1])}] against " \
           f"{fmt(c.estimate_b)} [{fmt(c.ci_b[0])}, {fmt(c.ci_b[1])}]"


def _answer(c: Comparison) -> str:
    m = MEASURES[c.metric]
    if c.a_better is None:
        head = f"Can't tell whether {c.side_a} or {c.side_b} is better"
    else:
        better, worse = (c.side_a, c.side_b) if c.a_better else (c.side_b, c.side_a)
        head = f"Better with {better} than {worse}"
    return f"{head}: {m.noun} {_interval(c)} ({c.basis})."


def _across_line(c: Comparison | None) -> str:
    if c is None:
        return ""
    m = MEASURES[c.metric]
    return (f"Across teams, {m.noun}: {c.side_a} {m.fmt(c.estimate_a)} against {c.side_b} "
            f"{m.fmt(c.estimate_b)} ({c.word}: {c.reason}).")


def _row(question: str, answer: str, c: Comparison | None, across: Comparison | None, trade: str,
         word: str | None = None, reason: str | None = None) -> dict:
    base = {"question": question, "answer": answer, "evidence": word or (c.word if c else CANT_TELL),
            "reason": reason or (c.reason if c else "no two cadences or switch to compare"),
            "across_teams": _across_line(across), "tradeoff": trade}
    if c is None:
        return {**base, **{k: None for k in COLUMNS if k not in base}}
    return {**base, "basis": c.basis, "metric": c.metric, "side_a": c.side_a, "side_b": c.side_b,
            "estimate_a": c.estimate_a, "estimate_b": c.estimate_b, "diff": c.estimate_a - c.estimate_b,
            "diff_ci_low": c.diff_ci[0], "diff_ci_high": c.diff_ci[1], "effect_size": c.effect}


def _names(comparisons: list[Comparison]) -> str:
    """``"a, b and c"``."""
    nouns = [MEASURES[c.metric].noun for c in comparisons]
    return nouns[0] if len(nouns) == 1 else ", ".join(nouns[:-1]) + " and " + nouns[-1]


def _another_cadence(lead: dict[str, Comparison], across: dict[str, Comparison]) -> dict:
    rated = [lead[m] for m in TRADE_METRICS if m in lead and lead[m].a_better is not None]
    gains = [c for c in rated if c.a_better]
    losses = [c for c in rated if not c.a_better]
    first = next(iter(lead.values()), None)
    if first is None:
        return _row("another cadence", "Can't tell: no two cadences or cadence switch to compare.", None, None, "")
    side, other = first.side_a, first.side_b
    if gains and losses:
        head = f"A trade-off: {side} did better than {other} on {_names(gains)}, and worse on {_names(losses)}"
    elif gains:
        head = f"Yes: {side} did better than {other} on {_names(gains)}"
    elif losses:
        head = f"No: {side} did worse than {other} on {_names(losses)}"
    else:
        head = f"Can't tell: no difference between {side} and {other} that the data can show"
    key = gains[0] if gains else (losses[0] if losses else first)
    word = CLEAR if any(c.word == CLEAR for c in gains) else SUGGESTIVE if gains else CANT_TELL
    reason = key.reason if gains else "no metric is better with the other cadence that the data can show"
    answer = f"{head} ({first.basis})."
    return _row("another cadence", answer, key, across.get(key.metric), tradeoff(lead), word, reason)


def verdict(compare: pd.DataFrame, diffs: pd.DataFrame, switches: pd.DataFrame) -> pd.DataFrame:
    """One row per question: answer, evidence word and its reason, the numbers behind it, the trade-off."""
    lead, across = _comparisons(compare, diffs, switches)
    rows = []
    for question, metric in QUESTIONS[:3]:
        c = lead.get(metric)
        if c is None:
            rows.append(_row(question, f"Can't tell: no comparison of {MEASURES[metric].noun} yet.", None,
                             across.get(metric), ""))
            continue
        trade = tradeoff(lead, focus=metric) if c.a_better else ""
        rows.append(_row(question, _answer(c), c, across.get(metric), trade))
    rows.append(_another_cadence(lead, across))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("estimate_a", "estimate_b", "diff", "diff_ci_low", "diff_ci_high", "effect_size"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame
