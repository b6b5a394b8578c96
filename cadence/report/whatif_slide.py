"""The retro deck's "What if" slide: the team's history on other grids, and how far to trust it."""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from cadence.report import pptx_parts as pp
from cadence.report.html import fmt_date
from cadence.report.whatif_text import interval

Text = Callable[[Any], str]


def _rows(part: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Header and one row per metric: actual, then each grid's prediction."""
    grids = sorted(part["weeks"].unique())
    header = ["", "Actual", *[f"{int(k)}-week grid" for k in grids]]
    rows = []
    for metric, per_grid in part.groupby("metric", sort=False):
        by_weeks = {int(r["weeks"]): r for r in per_grid.to_dict(orient="records")}
        first = next(iter(by_weeks.values()))
        cells = [interval(by_weeks[int(k)], "predicted", "ci_low", "ci_high") for k in grids]
        rows.append([first["label"], interval(first, "actual", "actual_ci_low", "actual_ci_high"), *cells])
    return header, rows


def _trust(backtest: pd.DataFrame, team: str, scrub: Text) -> list[str]:
    """One line per switch: how many predicted intervals overlap what happened."""
    if backtest.empty:
        return ["No team has switched cadence yet, so the method is not checked against a real switch."]
    lines = []
    for (who, at), part in backtest.groupby(["team", "switch_at"], sort=True):
        first = part.iloc[0]
        review = part.loc[part["metric"] == "review_latency_median_h"].to_dict(orient="records")
        said = (f" Check-in wait predicted {interval(review[0], 'predicted', 'ci_low', 'ci_high')} h, "
                f"actual {interval(review[0], 'actual', 'actual_ci_low', 'actual_ci_high')} h.") if review else ""
        whose = "our" if who == team else f"{scrub(who)}'s"
        lines.append(f"Back-test: {whose} switch {first['before_cadence']} → {first['after_cadence']} on "
                     f"{fmt_date(at)}: the prediction's interval overlaps what happened for "
                     f"{int(part['overlap'].sum())} of {len(part)} figures.{said}")
    return lines


def whatif_slide(deck, s: Any) -> None:
    """Add the slide (``s`` is the deck's ``slides.Inputs``); the report data always holds the what-if frames."""
    d, data, scrub = s.d, s.data, s.scrub
    scenarios, backtest = getattr(data, "what_if", None), getattr(data, "what_if_backtest", None)
    slide = pp.titled(deck, "What if: our own history on other sprint grids")
    part = scenarios.loc[scenarios["team"] == d.team] if scenarios is not None else pd.DataFrame()
    if part.empty or backtest is None:
        lines = ["This team has no sprints to re-time."]
        pp.bullets(slide, lines, pp.Box(0.6, 1.6, 12.0, 2.0), size=18)
        pp.notes(slide, lines)
        return
    header, rows = _rows(part)
    weights = [2.6] + [1.6] * (len(header) - 1)
    box = pp.Box(0.4, 1.3, 12.5, 5.9)  # the table takes what it needs; the lines get the rest
    height, shown = pp.table(slide, header, rows, box, size=12, weights=weights)
    lines = [
        "Only what follows from the calendar moves: check-ins, sprint-end timeboxes, carry-overs, weeks with a "
        "learning. Starts, finishes, comments and learnings keep their real times. 95% intervals.",
        f"Not modelled: {part['not_modelled'].iloc[0]}.",
        *_trust(backtest, d.team, scrub),
    ]
    if shown < len(rows):
        lines.insert(0, f"{len(rows) - shown} more figures are in the report's What if section.")
    pp.bullets(slide, lines, box.below(height), size=12)
    notes = [f"Grid: {part['grid'].iloc[0]}."]
    notes += [f"{r['label']}: {r['mechanism']}; assumes {r['assumption']}. {r['warning']}".strip()
              for r in part.drop_duplicates("metric").to_dict(orient="records")]
    pp.notes(slide, [*lines, *notes])
