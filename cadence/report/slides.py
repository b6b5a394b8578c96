"""``cadence slides``: the retro deck for one team's sprint, as PPTX (offline) or reveal.js (Quarto)."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import vl_convert as vlc

from cadence import charts
from cadence.charts import AnyChart
from cadence.errors import CadenceError
from cadence.report import pptx_parts as pp
from cadence.report.data import ReportData, collect
from cadence.report.deck import SprintDeck, sprint_deck
from cadence.report.html import Scrubber, fmt_date, fmt_number, fmt_percent, fmt_time
from cadence.report.listings import RULES
from cadence.report.render import quarto_path, render_revealjs
from cadence.report.whatif_slide import whatif_slide
from cadence.warehouse.api import Warehouse

log = logging.getLogger(__name__)

MAX_LISTED = 8  # items or learnings on one slide; the notes say how many more
SCORE_ROWS = [
    ("committed", "Committed", fmt_number(0)),
    ("added", "Added", fmt_number(0)),
    ("removed", "Removed", fmt_number(0)),
    ("completed", "Completed", fmt_number(0)),
    ("carried_over", "Carried over", fmt_number(0)),
    ("say_do", "Say/do", fmt_percent),
    ("late_close_h", "Late close (h)", fmt_number(1)),
]
Text = Callable[[Any], str]


def _slug(text: Any) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", str(text)).strip("-").lower() or "x"


def _png(chart: AnyChart, path: Path) -> Path:
    path.write_bytes(vlc.vegalite_to_png(chart.to_dict(), scale=2))
    return path


def _mean(frame: pd.DataFrame, column: str) -> Any:
    return frame[column].mean() if column in frame and frame[column].notna().any() else None


def _sprint_id(d: SprintDeck) -> str:
    return str(d.sprint["sprint_id"])


def _marker(learning: dict) -> str:
    """``"Learning: "`` for a marker line, nothing for a finished learning item."""
    return f"{learning['marker']}: " if isinstance(learning.get("marker"), str) else ""


def title_slide(deck, d: SprintDeck, data: ReportData, scrub: Text) -> None:
    slide = pp.titled(deck, f"Retro: {scrub(d.title)}", layout=0)
    s = d.sprint
    lines = [
        f"{fmt_date(s['start'])} to {fmt_date(s['end'])} · {s.get('cadence') or 'other'} cadence · "
        f"closed {fmt_date(s['completed_at']) or 'not yet'}",
        f"Numbers as of {fmt_time(data.as_of)}",
    ]
    if data.synthetic:
        lines.append("Synthetic demo data: generated teams and numbers, not real ones.")
    subtitle = slide.placeholders[1]
    # The default layout is 4:3; widen the subtitle to the 16:9 slide, under the title.
    subtitle.left, subtitle.top = pp.Inches(0.5), pp.Inches(2.5)
    subtitle.width, subtitle.height = pp.WIDTH - pp.Inches(1.0), pp.Inches(3.0)
    subtitle.text = "\n".join(lines)
    for paragraph in subtitle.text_frame.paragraphs:
        for run in paragraph.runs:
            run.font.size = pp.Pt(18)
    pp.notes(slide, [f"Team {scrub(d.team)}, sprint {scrub(s['sprint_name'])} (id {s['sprint_id']}).", *lines])


def scorecard_slide(deck, d: SprintDeck, assets: Path, scrub: Text) -> None:
    n = len(d.previous)
    slide = pp.titled(deck, f"Scorecard against the previous {n} sprints")
    png = _png(
        charts.scorecard(d.team_sprints, d.team, str(d.sprint["sprint_id"]), previous=n), assets / "scorecard.png"
    )
    pp.picture(slide, png, pp.Box(0.4, 1.4, 7.6, 5.6))
    rows = [
        [label, fmt(d.sprint.get(col)), fmt(_mean(d.previous, col)) if n else "–"] for col, label, fmt in SCORE_ROWS
    ]
    pp.table(
        slide, ["", "This sprint", f"Mean of previous {n}"], rows, pp.Box(8.3, 1.6, 4.6, 3.2), weights=[1.4, 1, 1.2]
    )
    pp.notes(slide, [f"{label}: {now} this sprint; previous mean {before}." for label, now, before in rows])


def feedback_slide(deck, d: SprintDeck, assets: Path) -> None:
    s, n = d.sprint, len(d.previous)
    slide = pp.titled(deck, "Feedback latency")
    png = _png(
        charts.metric_trend(d.team_sprints, "feedback_latency_median_h", highlight=_sprint_id(d)),
        assets / "feedback.png",
    )
    pp.picture(slide, png, pp.Box(0.4, 1.4, 7.6, 5.6))
    h = fmt_number(1)
    with_feedback = int(d.feedback["feedback_event"].fillna(False).astype(bool).sum()) if len(d.feedback) else 0
    lines = [
        f"Median time from start to first feedback: {h(s.get('feedback_latency_median_h')) or 'n/a'} h"
        + (f" (previous {n} sprints: {h(_mean(d.previous, 'feedback_latency_median_h'))} h)" if n else ""),
        "Observed feedback (comment, review, status change by someone else): "
        f"median {h(s.get('feedback_observed_median_h')) or 'n/a'} h",
        f"Sprint check-in: median {h(s.get('feedback_review_median_h')) or 'n/a'} h",
        f"Items started in this sprint: {len(d.feedback)}; with feedback so far: {with_feedback}",
    ]
    pp.bullets(slide, lines, pp.Box(8.2, 1.6, 4.8, 5.0))
    pp.notes(slide, lines + ["Items still waiting are censored (Kaplan-Meier), not dropped."])


OVERRUN_HEADER = ["Item", "Title", "Timebox from", "Timebox (h)", "Actual (h)", "Overrun", "Finished", "Carried"]
OVERRUN_WEIGHTS = [1.1, 4, 2, 1, 1, 1, 1, 0.9]


def _overrun_rows(items: pd.DataFrame, scrub: Text) -> list[list[str]]:
    h = fmt_number(1)
    return [
        [
            scrub(r["key"]),
            scrub(r["summary"])[:70],
            RULES.get(r["rule"], str(r["rule"])),
            h(r["timebox_h"]),
            h(r["actual_h"]),
            fmt_percent(r["overrun_size"]),
            "yes" if r["finished"] else "not yet",
            str(r.get("carry_count", "")),
        ]
        for r in items.head(MAX_LISTED).to_dict(orient="records")
    ]


def overrun_slide(deck, d: SprintDeck, assets: Path, scrub: Text) -> None:
    tracked = d.sprint.get("timeboxes")
    tracked = 0 if tracked is None or pd.isna(tracked) else int(tracked)
    slide = pp.titled(deck, f"Timebox overruns: {len(d.overruns)} of {tracked} timeboxes")
    chart = charts.overrun_rate(d.team_sprints, highlight=_sprint_id(d))
    if d.overruns.empty:
        lines = ["No timebox ran over in this sprint.", f"Timeboxes that expired in it: {tracked}."]
        pp.bullets(slide, lines, pp.Box(0.6, 1.6, 5.0, 3.0), size=20)
        pp.picture(slide, _png(chart, assets / "overruns.png"), pp.Box(5.8, 1.4, 7.2, 5.6))
        pp.notes(slide, lines)
        return
    rows = _overrun_rows(d.overruns, scrub)
    height = pp.table(slide, OVERRUN_HEADER, rows, pp.Box(0.4, 1.4, 12.5, 4.5), size=11, weights=OVERRUN_WEIGHTS)
    more = [f"…and {len(d.overruns) - MAX_LISTED} more (see the report)."] if len(d.overruns) > MAX_LISTED else []
    if more:
        pp.bullets(slide, more, pp.Box(0.4, 1.5 + height, 12.0, 0.5), size=12)
    elif 7.2 - (1.6 + height) >= 2.5:  # room left: the team's overrun rate over time
        pp.picture(slide, _png(chart, assets / "overruns.png"), pp.Box(0.4, 1.6 + height, 8.0, 5.6 - height))
    notes = [
        f"{r[0]} {r[1]}: timebox {r[3]} h from {r[2]}, actual {r[4]} h, overrun {r[5]}, finished {r[6]}." for r in rows
    ]
    pp.notes(slide, notes + more)


def learnings_slide(deck, d: SprintDeck, assets: Path, scrub: Text) -> None:
    s, rows = d.sprint, d.learnings
    per_week, weeks = fmt_number(2)(s.get("learnings_per_week")), fmt_percent(s.get("weeks_with_learning"))
    slide = pp.titled(deck, f"Learnings: {len(rows)} this sprint ({per_week or '0'} per week)")
    if rows.empty:
        lines = [
            "No learning was recorded in this sprint.",
            "The aim is at least one concrete learning every week.",
            "Worth asking: what did we learn that nobody wrote down? (Mark it with “Learning:” in a comment.)",
        ]
        pp.bullets(slide, lines, pp.Box(0.6, 1.6, 5.4, 4.0), size=18)
    else:
        lines = [
            (
                f"{scrub(r['key'])}: {_marker(r)}{scrub(r['text'])[:160]}",
                r["url"] if str(r.get("url", "")).startswith("http") else None,
            )
            for r in rows.head(MAX_LISTED).to_dict(orient="records")
        ]
        if len(rows) > MAX_LISTED:
            lines.append(f"…and {len(rows) - MAX_LISTED} more (see the report).")
        pp.bullets(slide, lines, pp.Box(0.6, 1.5, 6.6, 5.6), size=14)
    pp.picture(
        slide,
        _png(charts.weeks_with_learning(d.team_sprints, highlight=_sprint_id(d)), assets / "learnings.png"),
        pp.Box(7.4, 1.6, 5.6, 4.6),
    )
    summary = [f"Learnings: {len(rows)}; per week: {per_week or '0'}; weeks with a learning: {weeks or 'n/a'}."]
    pp.notes(slide, summary + [line[0] if isinstance(line, tuple) else line for line in lines])


def comparison_slide(deck, d: SprintDeck, data: ReportData, assets: Path, scrub: Text) -> None:
    slide = pp.titled(deck, "Cadence comparison")
    pp.picture(
        slide, _png(charts.cadence_comparison(data.compare), assets / "comparison.png"), pp.Box(0.3, 1.3, 8.2, 6.0)
    )
    f = fmt_number(2)
    if d.switches.empty:
        lines = [
            "This team has not switched cadence.",
            "The chart compares teams, so cadence and team differences are mixed; small samples are marked.",
        ]
    else:
        lines = [
            f"{scrub(d.team)} switched {d.switches.iloc[0]['before_cadence']} → {d.switches.iloc[0]['after_cadence']} "
            f"on {fmt_date(d.switches.iloc[0]['switch_at'])} (the cleanest evidence):"
        ]
        lines += [
            f"{charts.metric_label(r['metric'])}: {f(r['before_estimate'])} → {f(r['after_estimate'])} "
            f"(diff {f(r['diff'])}, 95% CI {f(r['diff_ci_low'])} to {f(r['diff_ci_high'])})"
            for r in d.switches.to_dict(orient="records")
        ]
    pp.bullets(slide, lines, pp.Box(8.6, 1.5, 4.5, 5.8), size=12)
    rows = [
        f"{charts.metric_label(r['metric'])}, {r['cadence']}: {f(r['estimate'])} "
        f"[{f(r['ci_low'])}, {f(r['ci_high'])}], "
        f"{r['n_sprints']} sprints, {r['n_teams']} teams {r['warning'] or ''}".strip()
        for r in data.compare.to_dict(orient="records")
    ]
    pp.notes(slide, lines + rows)


def write_pptx(data: ReportData, d: SprintDeck, out: Path, show_people: bool = False) -> Path:
    """Write the six-slide deck to ``out`` (a .pptx path); chart images go beside it."""
    assets = out.with_suffix("")
    assets = assets.parent / f"{assets.name}_assets"
    assets.mkdir(parents=True, exist_ok=True)
    scrub = Scrubber(data.people, show_people)
    deck = pp.new_deck()
    title_slide(deck, d, data, scrub)
    scorecard_slide(deck, d, assets, scrub)
    feedback_slide(deck, d, assets)
    overrun_slide(deck, d, assets, scrub)
    learnings_slide(deck, d, assets, scrub)
    comparison_slide(deck, d, data, assets, scrub)
    whatif_slide(deck, d, data, scrub)  # only when the data holds the what-if frames
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
