"""``cadence slides``: the retro deck for one team's sprint, as PPTX (offline) or reveal.js (Quarto).

Every deck has the same slides (``SLIDES``, in order; add one there), whatever the sprint held:
an empty sprint gets the same slides with words instead of rows. Each slide function takes the
deck and the ``Inputs``. Layout rules are in :mod:`cadence.report.pptx_parts`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import vl_convert as vlc

from cadence import charts
from cadence.charts import AnyChart, RULE_LABELS, for_slides, metric_label
from cadence.errors import CadenceError
from cadence.report import jira_check
from cadence.report import pptx_parts as pp
from cadence.report.data import ReportData, collect, neutralised
from cadence.report.deck import SprintDeck, neutralised_deck, sprint_deck
from cadence.report.html import Scrubber, fmt_date, fmt_number, fmt_percent, fmt_time
from cadence.report.render import quarto_path, render_revealjs
from cadence.report.sections import QUESTIONS
from cadence.report.whatif_slide import whatif_slide
from cadence.api import Warehouse

log = logging.getLogger(__name__)

SCORE_ROWS = [
    ("committed", "Committed", fmt_number(0)),
    ("added", "Added", fmt_number(0)),
    ("removed", "Removed", fmt_number(0)),
    ("completed", "Completed", fmt_number(0)),
    ("carried_over", "Carried over", fmt_number(0)),
    ("say_do", "Say/do", fmt_percent),
    ("late_close_h", "Late close (h)", fmt_number(1)),
]
# The comparison, three metrics a slide, so that its type stays at 12 pt or more.
COMPARISON_GROUPS = (
    ("feedback_latency_median_h", "weeks_with_learning", "learnings_per_week"),
    ("overrun_rate", "say_do", "throughput_per_week"),
    ("feedback_events_per_week", "scope_added_per_week"),
)
LEFT = pp.Box(0.4, pp.TITLE_BOTTOM, 7.9, 5.9)  # a chart beside text
RIGHT = pp.Box(8.5, 1.5, 4.4, 5.6)
FULL = pp.Box(0.4, 1.4, 12.5, 5.8)
Text = Callable[[Any], str]


@dataclass
class Inputs:
    """What every slide function gets."""

    data: ReportData
    d: SprintDeck
    assets: Path
    scrub: Text

    @property
    def sprint_id(self) -> str:
        return str(self.d.sprint["sprint_id"])


def _slug(text: Any) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", str(text)).strip("-").lower() or "x"


def _png(chart: AnyChart, path: Path, box: pp.Box | None = None) -> Path:
    """The chart as a PNG for a slide; with ``box``, drawn to fill it at 1 px = 0.75 pt."""
    size = (int(box.width * pp.PX_PER_IN), int(box.height * pp.PX_PER_IN)) if box else (None, None)
    path.write_bytes(vlc.vegalite_to_png(for_slides(chart, *size).to_dict(), scale=pp.PNG_SCALE))
    return path


def _chart(slide, chart: AnyChart, path: Path, box: pp.Box) -> pp.Box:
    return pp.picture(slide, _png(chart, path, box), box)


def _mean(frame: pd.DataFrame, column: str) -> Any:
    return frame[column].mean() if column in frame and frame[column].notna().any() else None


def _marker(learning: dict) -> str:
    """``"Learning: "`` for a marker line, nothing for a finished learning item."""
    return f"{learning['marker']}: " if isinstance(learning.get("marker"), str) else ""


def title_slide(deck, s: Inputs) -> None:
    d, data, scrub = s.d, s.data, s.scrub
    slide = pp.titled(deck, f"Retro: {scrub(d.title)}", layout=0)
    row = d.sprint
    lines = [
        f"{fmt_date(row['start'])} to {fmt_date(row['end'])} · {row.get('cadence') or 'other'} cadence · "
        f"closed {fmt_date(row['completed_at']) or 'not yet'}",
        f"Numbers as of {fmt_time(data.as_of)}",
    ]
    if data.synthetic:
        lines.append("Synthetic demo data: generated teams and numbers, not real ones.")
    slide.shapes.title.top, slide.shapes.title.height = pp.Inches(1.2), pp.Inches(1.2)
    subtitle = slide.placeholders[1]
    # The default layout is 4:3; widen the subtitle to the 16:9 slide, under the title.
    subtitle.left, subtitle.top = pp.Inches(0.5), pp.Inches(2.7)
    subtitle.width, subtitle.height = pp.WIDTH - pp.Inches(1.0), pp.Inches(2.5)
    subtitle.text = "\n".join(lines)
    subtitle.text_frame.word_wrap = True
    for paragraph in subtitle.text_frame.paragraphs:
        for run in paragraph.runs:
            run.font.size = pp.Pt(18)
    pp.notes(slide, [f"Team {scrub(d.team)}, sprint {scrub(row['sprint_name'])} (id {row['sprint_id']}).", *lines])


def scorecard_slide(deck, s: Inputs) -> None:
    d, n = s.d, len(s.d.previous)
    window = s.data.trend_window
    slide = pp.titled(deck, f"Scorecard against the previous {n} sprints")
    _chart(slide, charts.scorecard(d.team_sprints, d.team, s.sprint_id, previous=window), s.assets / "scorecard.png",
           LEFT)
    rows = [
        [label, fmt(d.sprint.get(col)), fmt(_mean(d.previous, col)) if n else "–"] for col, label, fmt in SCORE_ROWS
    ]
    used, _ = pp.table(slide, ["", "This sprint", f"Mean of previous {n}"], rows, RIGHT, size=14,
                       weights=[1.4, 1, 1.2])
    jira = jira_check.add_to_scorecard(slide, d.sprint, s.data.reconciliation, RIGHT.below(used))
    pp.notes(slide, [f"{label}: {now} this sprint; previous mean {before}." for label, now, before in rows] + jira)


def feedback_slide(deck, s: Inputs) -> None:
    d, n = s.d, len(s.d.previous)
    row = d.sprint
    slide = pp.titled(deck, "Feedback latency")
    chart = charts.metric_trend(d.team_sprints, "feedback_latency_median_h", highlight=s.sprint_id)
    _chart(slide, chart, s.assets / "feedback.png", LEFT)
    h = fmt_number(1)
    with_feedback = int(d.feedback["feedback_event"].fillna(False).astype(bool).sum()) if len(d.feedback) else 0
    lines = [
        f"Median time from start to first feedback: {h(row.get('feedback_latency_median_h')) or 'n/a'} h"
        + (f" (previous {n} sprints: {h(_mean(d.previous, 'feedback_latency_median_h')) or 'n/a'} h)" if n else ""),
        "Observed feedback (comment, review, status change by someone else): "
        f"median {h(row.get('feedback_observed_median_h')) or 'n/a'} h",
        f"Sprint check-in: median {h(row.get('feedback_review_median_h')) or 'n/a'} h",
        f"Items started in this sprint: {len(d.feedback)}; with feedback so far: {with_feedback}",
    ]
    pp.bullets(slide, lines, RIGHT, size=16)
    pp.notes(slide, lines + ["Items still waiting are censored (Kaplan-Meier), not dropped."])


def _tracked(d: SprintDeck) -> int:
    tracked = d.sprint.get("timeboxes")
    return 0 if tracked is None or pd.isna(tracked) else int(tracked)


def overrun_slide(deck, s: Inputs) -> None:
    d, cfg = s.d, s.data.config
    slide = pp.titled(deck, f"Timebox overruns: {len(d.overruns)} of {_tracked(d)} timeboxes")
    _chart(slide, charts.overrun_rate(d.team_sprints, highlight=s.sprint_id), s.assets / "overruns.png", LEFT)
    lines = [
        f"Timeboxes that expired in this sprint: {_tracked(d)}; ran over: {len(d.overruns)}.",
        f"An overrun within {cfg.timebox_tolerance:.0%} of the timebox (at least {cfg.timebox_min_tolerance_h:g} h) "
        "does not count.",
    ]
    if not d.overruns.empty:
        top = d.overruns.iloc[0]
        lines.append(f"Largest: {s.scrub(top['key'])}, {fmt_percent(top['overrun_size'])} over its "
                     f"{fmt_number(1)(top['timebox_h'])} h timebox.")
    else:
        lines.append("No timebox ran over in this sprint.")
    pp.bullets(slide, lines, RIGHT, size=16)
    pp.notes(slide, lines)


OVERRUN_HEADER = ["Item", "Title", "Timebox from", "Timebox (h)", "Actual (h)", "Overrun", "Finished", "Carried"]
OVERRUN_WEIGHTS = [1.2, 4, 2.1, 1.1, 1.1, 1.1, 1, 1]


def overrun_items_slide(deck, s: Inputs) -> None:
    d, scrub = s.d, s.scrub
    slide = pp.titled(deck, "Overrunning items, largest first")
    h = fmt_number(1)
    rows = [
        [scrub(r["key"]), pp.clip(scrub(r["summary"]), 70), RULE_LABELS.get(r["rule"], str(r["rule"])),
         h(r["timebox_h"]), h(r["actual_h"]), fmt_percent(r["overrun_size"]), "yes" if r["finished"] else "not yet",
         str(r.get("carry_count", ""))]
        for r in d.overruns.to_dict(orient="records")
    ]
    if not rows:
        lines = ["No timebox ran over in this sprint.", f"Timeboxes that expired in it: {_tracked(d)}."]
        pp.bullets(slide, lines, FULL, size=20)
        pp.notes(slide, lines)
        return
    height, shown = pp.table(slide, OVERRUN_HEADER, rows, pp.Box(FULL.left, FULL.top, FULL.width, FULL.height - 0.6),
                             size=12, weights=OVERRUN_WEIGHTS)
    more = [f"…and {len(rows) - shown} more (see the report)."] if shown < len(rows) else []
    if more:
        pp.bullets(slide, more, FULL.below(height, 0.1), size=12)
    notes = [f"{r[0]} {r[1]}: timebox {r[3]} h from {r[2]}, actual {r[4]} h, overrun {r[5]}, finished {r[6]}."
             for r in rows[:shown]]
    pp.notes(slide, notes + more)


def learnings_slide(deck, s: Inputs) -> None:
    d, scrub = s.d, s.scrub
    row, items = d.sprint, d.learnings
    per_week, weeks = fmt_number(2)(row.get("learnings_per_week")), fmt_percent(row.get("weeks_with_learning"))
    slide = pp.titled(deck, f"Learnings: {len(items)} this sprint ({per_week or '0'} per week)")
    box = pp.Box(0.4, 1.4, 7.1, 5.8)
    if items.empty:
        lines: list[pp.Line] = [
            "No learning was recorded in this sprint.",
            "The aim is at least one concrete learning every week.",
            "Worth asking: what did we learn that nobody wrote down? (Mark it with “Learning:” in a comment.)",
        ]
        pp.bullets(slide, lines, box, size=18)
    else:
        lines = [
            (scrub(r["key"]), r["url"] if str(r.get("url", "")).startswith("http") else None,
             ": " + pp.clip(_marker(r) + scrub(r["text"]), 160))
            for r in items.to_dict(orient="records")
        ]
        pp.bullets(slide, lines, box, size=14)
    chart = charts.weeks_with_learning(d.team_sprints, highlight=s.sprint_id)
    _chart(slide, chart, s.assets / "learnings.png", pp.Box(7.7, 1.5, 5.2, 5.6))
    summary = [f"Learnings: {len(items)}; per week: {per_week or '0'}; weeks with a learning: {weeks or 'n/a'}."]
    pp.notes(slide, summary + [line if isinstance(line, str) else line[0] + line[2] for line in lines])


def _compare_lines(s: Inputs, metrics: tuple[str, ...]) -> list[str]:
    f = fmt_number(2)
    cmp = s.data.compare
    lines = []
    for metric in metrics:
        part = cmp[cmp["metric"] == metric] if not cmp.empty else cmp
        if part.empty:
            continue
        values = ", ".join(f"{r['cadence']} {f(r['estimate'])}" for r in part.to_dict(orient="records"))
        marks = sorted(set(part["sample"])) if "sample" in part else []
        lines.append(f"{metric_label(metric)}: {values}" + (f" ({' / '.join(marks)})" if marks else ""))
    sw = s.d.switches
    for r in sw[sw["metric"].isin(metrics)].to_dict(orient="records") if not sw.empty else []:
        lines.append(f"{s.scrub(s.d.team)}'s own switch {r['before_cadence']} → {r['after_cadence']}, "
                     f"{metric_label(r['metric'])}: {f(r['before_estimate'])} → {f(r['after_estimate'])} "
                     f"(diff {f(r['diff'])}, 95% CI {f(r['diff_ci_low'])} to {f(r['diff_ci_high'])})")
    return lines


def comparison_slide(deck, s: Inputs, part: int) -> None:
    metrics = COMPARISON_GROUPS[part]
    slide = pp.titled(deck, f"Cadence comparison ({part + 1} of {len(COMPARISON_GROUPS)})")
    box = pp.Box(0.4, pp.TITLE_BOTTOM, 8.4, 5.9)
    # Stacked panels cannot be fitted by Vega-Lite: leave room for the axis labels and the legend.
    chart = charts.cadence_comparison(s.data.compare, metrics=list(metrics), width=int(box.width * pp.PX_PER_IN) - 300,
                                      step=40)
    pp.picture(slide, _png(chart, s.assets / f"comparison-{part + 1}.png"), box)
    lines = _compare_lines(s, metrics) or [f"No values yet for {', '.join(metric_label(m) for m in metrics)}."]
    if s.d.switches.empty:
        lines.append("This team has not switched cadence: the chart compares teams, so cadence and team are mixed.")
    pp.bullets(slide, lines, pp.Box(9.0, 1.5, 3.9, 5.6), size=13)
    pp.notes(slide, lines)


def verdict_slide(deck, s: Inputs) -> None:
    """The four answers, last: what the retro takes away."""
    slide = pp.titled(deck, "The verdict")
    rows = [[QUESTIONS.get(r["question"], r["question"]), s.scrub(r["answer"]), r["evidence"]]
            for r in s.data.verdict.to_dict(orient="records")]
    if not rows:
        pp.bullets(slide, ["No closed sprints yet, so no verdict."], FULL, size=20)
        pp.notes(slide, ["No verdict."])
        return
    box = pp.Box(FULL.left, FULL.top, FULL.width, FULL.height - 1.2)
    header, weights = ["Question", "Answer (95% intervals)", "Evidence"], [2.2, 8.3, 1.5]
    size = next((n for n in (18, 16, 14) if pp.fits(header, rows, box, n, weights)), pp.MIN_PT)
    height, shown = pp.table(slide, header, rows, box, size=size, weights=weights)
    trade = next((r["tradeoff"] for r in s.data.verdict.to_dict(orient="records")[::-1] if r.get("tradeoff")), "")
    if trade:
        pp.bullets(slide, [f"Trade-off: {s.scrub(trade)}"], FULL.below(height), size=14)
    pp.notes(slide, [f"{q} {a} ({e})" for q, a, e in rows[:shown]] + ([trade] if trade else []))


SLIDES: list[Callable[[Any, Inputs], None]] = [
    title_slide, scorecard_slide, feedback_slide, overrun_slide, overrun_items_slide, learnings_slide,
    *(partial(comparison_slide, part=i) for i in range(len(COMPARISON_GROUPS))),
    whatif_slide, verdict_slide,
]


def write_pptx(data: ReportData, d: SprintDeck, out: Path, show_people: bool = False) -> Path:
    """Write the deck (``SLIDES``) to ``out`` (a .pptx path); chart images go beside it."""
    assets = out.with_suffix("")
    assets = assets.parent / f"{assets.name}_assets"
    assets.mkdir(parents=True, exist_ok=True)
    data = neutralised(data)
    inputs = Inputs(data, neutralised_deck(d), assets, Scrubber(data.people, show_people))
    deck = pp.new_deck()
    for make in SLIDES:
        make(deck, inputs)
    deck.save(out)
    return out


def build_slides(
    wh: Warehouse,
    out_dir: Path,
    team: str | None = None,
    sprint: str = "latest",
    fmt: str = "pptx",
    as_of: datetime | None = None,
    show_people: bool = False,
) -> Path:
    """Build the retro deck for ``team``'s latest closed sprint (or ``sprint``) and return its path.

    Without ``team``, the team whose latest sprint closed most recently is chosen.
    ``fmt="revealjs"`` needs Quarto on PATH and says so otherwise.
    """
    if fmt not in ("pptx", "revealjs"):
        raise CadenceError(f"--format must be pptx or revealjs, not {fmt!r}")
    if fmt == "revealjs" and not quarto_path():
        render_revealjs(Path(out_dir) / "slides.qmd")  # raises the clear "needs Quarto" message
    data = collect(wh, as_of)
    d = sprint_deck(data, team, sprint)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"retro-{_slug(d.team)}-{_slug(d.sprint['sprint_id'])}"
    pptx = write_pptx(data, d, out_dir / f"{stem}.pptx", show_people=show_people)
    if fmt == "pptx":
        log.info("slides written to %s", pptx)
        return pptx
    from cadence.report.reveal import write_revealjs

    return write_revealjs(pptx, out_dir / f"{stem}.qmd")
