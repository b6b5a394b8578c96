"""The report's sections as markdown with raw HTML blocks, and the charts each one draws.

A section is ``fn(data, scrub) -> (markup, charts)``; ``cadence.report.report.SECTIONS`` lists them
in page order (add one there). ``scrub.show_people`` says whether people may be shown. Markup never
holds an unescaped tracker value: tables and text go through :mod:`cadence.report.html`.
"""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from cadence import charts
from cadence.charts import AnyChart, metric_label
from cadence.report.assets import chart_div
from cadence.report.data import ReportData
from cadence.report.html import Column, esc, esc_text, fmt_date, fmt_number, fmt_percent, raw_block, table
from cadence.report.tables import listing
from cadence.report.whatif_section import after_comparison

Section = tuple[str, dict[str, AnyChart]]
SectionFn = Callable[[ReportData, Any], Section]

# The headline columns: metric, how to format it, and whether higher is better (None: neutral).
HEADLINE = [
    ("say_do", fmt_percent, True),
    ("throughput_per_week", fmt_number(1), True),
    ("feedback_latency_median_h", fmt_number(1), False),
    ("overrun_rate", fmt_percent, False),
    ("learnings_per_week", fmt_number(2), True),
    ("weeks_with_learning", fmt_percent, True),
]
QUESTIONS = {
    "fast feedback": "Fast feedback?",
    "honest timeboxes": "Honest timeboxes?",
    "a learning every week": "At least one concrete learning every week?",
    "another cadence": "Would another cadence do better?",
}
WORD_RULE = (
    "<b>clear</b>: the two 95% intervals do not overlap and the effect is at least medium (Cohen's d ≥ 0.5); "
    "<b>suggestive</b>: the interval of the difference excludes 0; <b>can't tell</b>: otherwise, or fewer than "
    "6 sprints a side, or (across teams) fewer than 3 teams a side. A team's own switch of cadence, the same "
    "people before and after, leads wherever there is one."
)


def charts_markup(named: dict[str, AnyChart], alts: dict[str, str]) -> str:
    return raw_block("\n".join(chart_div(name, alts.get(name, name)) for name in named))


def verdict(data: ReportData, scrub: Callable[[Any], str]) -> Section:
    """The four questions answered, first on the page: answer, evidence word, trade-off."""
    rows = []
    for r in data.verdict.to_dict(orient="records"):
        word = r.get("evidence") or "can't tell"
        extra = "".join(f'<div class="{css}">{esc_text(scrub(text))}</div>'
                        for css, text in (("meta", r.get("across_teams")), ("tradeoff", r.get("tradeoff") and "Trade-off: " + r["tradeoff"])) if text)
        rows.append(
            f'<tr><th scope="row">{esc(QUESTIONS.get(r["question"], r["question"]))}</th>'
            f'<td>{esc_text(scrub(r["answer"]))}{extra}</td>'
            f'<td><span class="word word-{esc(word.replace(chr(39), "").replace(" ", "-"))}">{esc(word)}</span>'
            f'<div class="meta">{esc(r.get("reason") or "")}</div></td></tr>'
        )
    if not rows:
        return raw_block('<p class="empty">No closed sprints yet, so no verdict.</p>'), {}
    head = "<thead><tr><th>Question</th><th>Answer, with 95% intervals</th><th>Evidence</th></tr></thead>"
    markup = f'<table class="verdict">{head}<tbody>{"".join(rows)}</tbody></table>'
    return raw_block(markup + f'<p class="meta">{WORD_RULE}</p>'), {}


def _trend_cell(latest: Any, before: Any, fmt: Callable[[Any], str], higher_better: bool | None,
                window: int = 3) -> str:
    if pd.isna(latest):
        return ""
    # Equal once rounded for display means no change worth an arrow.
    if pd.isna(before) or fmt(latest) == fmt(before) or higher_better is None:
        return esc(fmt(latest))
    up = latest > before
    css = "up" if up == higher_better else "down"
    arrow = "▲" if up else "▼"
    was = esc(fmt(before))
    hint = f"mean of the {window} sprints before: {was}"
    return f'{esc(fmt(latest))} <span class="{css}" title="{hint}">{arrow} from {was}</span>'


def headline(data: ReportData, scrub: Callable[[Any], str]) -> Section:
    """Per team: the latest closed sprint's numbers, each against the mean of the sprints before it."""
    window = data.trend_window
    closed = data.by_sprint.loc[data.by_sprint["state"] == "closed"].sort_values(["team", "start"])
    rows = []
    for team, sprints in closed.groupby("team", sort=True):
        latest, before = sprints.iloc[-1], sprints.iloc[-1 - window : -1]
        cells = [
            esc_text(scrub(team)),
            esc_text(scrub(latest["sprint_name"])),
            esc(latest.get("cadence")),
            esc(fmt_date(latest["completed_at"])),
        ]
        for metric, fmt, higher in HEADLINE:
            previous = before[metric].mean() if metric in before and len(before) else float("nan")
            cells.append(_trend_cell(latest.get(metric), previous, fmt, higher, window))
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    heads = ["Team", "Latest closed sprint", "Cadence", "Closed"] + [metric_label(m) for m, _, _ in HEADLINE]
    head = "".join(f"<th>{esc(h)}</th>" for h in heads)
    body = "\n".join(rows)
    markup = (f'<div class="table-wrap"><table class="headline"><thead><tr>{head}</tr></thead><tbody>\n{body}\n'
              "</tbody></table></div>") if rows else ""
    markup = markup or '<p class="empty">No closed sprints yet.</p>'
    note = (
        f'<p class="meta">Arrows compare the latest closed sprint with the mean of the {window} '
        "before it (<code>[report] trend_window</code>); green is better, orange worse.</p>"
    )
    named = {
        "team_timeline": charts.team_timeline(data.sprints),
        "say_do": charts.metric_trend(data.by_sprint, "say_do", percent=True),
        "throughput": charts.metric_trend(data.by_sprint, "throughput_per_week"),
    }
    return raw_block(note + markup) + charts_markup(
        named, {"team_timeline": "Sprints per team, coloured by cadence"}
    ), named


def _interval(frame: pd.DataFrame, estimate: str, low: str, high: str, digits: int = 2) -> pd.Series:
    """``"estimate [low, high]"`` per row; ``"estimate (can't tell)"`` where the row's sample says so."""
    fmt = fmt_number(digits)
    bound = lambda v: fmt(v) or "–"  # noqa: E731  (an interval the data cannot close, e.g. a KM median not reached)
    shown = frame[estimate].map(fmt) + " [" + frame[low].map(bound) + ", " + frame[high].map(bound) + "]"
    if "sample" in frame:
        shown = shown.where(frame["sample"] != "can't tell", frame[estimate].map(fmt) + " (can't tell)")
    return shown


SWITCH_COLUMNS = [
    Column("team", "Team"),
    Column("change", "Switch"),
    Column("switch_at", "Switched", fmt_date),
    Column("metric_label", "Metric"),
    Column("before", "Before [95% CI]"),
    Column("after", "After [95% CI]"),
    Column("difference", "After − before [95% CI]"),
    Column("sprints", "Sprints before / after"),
    Column("sample", "Interval"),
]
COMPARE_COLUMNS = [
    Column("metric_label", "Metric"),
    Column("cadence", "Cadence"),
    Column("interval", "Estimate [95% CI]"),
    Column("n_sprints", "Sprints"),
    Column("n_teams", "Teams"),
    Column("sample", "Interval"),
    Column("warning", "Warning"),
]
FEEDBACK_COLUMNS = [
    Column("group", "Cadence"),
    Column("kind", "Kind"),
    Column("n", "Items"),
    Column("n_events", "With feedback"),
    Column("median", "Median hours [95% CI]"),
    Column("p85", "85th percentile hours [95% CI]"),
]


def _switch_table(sw: pd.DataFrame, scrub: Callable[[Any], str]) -> str:
    if sw.empty:
        return '<p class="empty">No team switched cadence, so there is no within-team comparison.</p>'
    shown = sw.assign(
        metric_label=sw["metric"].map(metric_label),
        change=sw["before_cadence"].astype(str) + " → " + sw["after_cadence"].astype(str),
        before=_interval(sw.drop(columns="sample", errors="ignore"), "before_estimate", "before_ci_low",
                         "before_ci_high"),
        after=_interval(sw.drop(columns="sample", errors="ignore"), "after_estimate", "after_ci_low", "after_ci_high"),
        difference=_interval(sw, "diff", "diff_ci_low", "diff_ci_high"),
        sprints=sw["n_before"].astype(str) + " / " + sw["n_after"].astype(str),
    )
    return listing(shown, SWITCH_COLUMNS, scrub, "switches")


def comparison(data: ReportData, scrub: Callable[[Any], str]) -> Section:
    """Switching teams' before/after first (the cleanest evidence), then all cadences side by side."""
    cmp = data.compare
    named_switch = {"before_after": charts.before_after(data.switches)}
    named_all = {"cadence_comparison": charts.cadence_comparison(cmp)}
    shown = cmp.assign(metric_label=cmp["metric"].map(metric_label))
    if not cmp.empty:
        shown = shown.assign(interval=_interval(cmp, "estimate", "ci_low", "ci_high"))
    intro_all = (
        '<h3>All cadences</h3><p class="meta">Rates are per week, ratios per sprint; '
        "latencies are never divided by sprint length. Intervals resample whole teams, then sprints within "
        "each team; under 3 teams or 6 sprints a cadence shows <b>can't tell</b> instead of an interval, and "
        "under 5 teams or 12 sprints the interval is <b>rough</b>.</p>"
    )
    markup = (
        raw_block("<h3>Teams that switched cadence</h3>" + _switch_table(data.switches, scrub))
        + charts_markup(named_switch, {})
        + raw_block(intro_all)
        + charts_markup(named_all, {})
        + raw_block(listing(shown, COMPARE_COLUMNS, scrub, "cadences"))
    )
    return after_comparison(markup, {**named_switch, **named_all}, data, scrub)  # then "What if"


def feedback(data: ReportData, scrub: Callable[[Any], str]) -> Section:
    """Kaplan-Meier medians per cadence and kind, the curves, and the observed/review distributions."""
    summary = data.feedback_summary
    if not summary.empty:
        summary = summary.assign(
            median=_interval(summary, "median_h", "median_ci_low", "median_ci_high", digits=1),
            p85=_interval(summary, "p85_h", "p85_ci_low", "p85_ci_high", digits=1),
        )
    note = (
        '<p class="meta">Latency from an item\'s start to its first feedback: <b>observed</b> '
        "(a comment, review or status change by someone other than its assignees), <b>review</b> "
        "(the sprint check-in), and the <b>headline</b>, whichever came first. "
        "Items still waiting are censored at the report time, never dropped.</p>"
    )
    named = {
        "feedback_curves": charts.feedback_curves(data.feedback_curves),
        "feedback_distribution": charts.feedback_distribution(data.feedback),
    }
    return raw_block(note + table(summary, FEEDBACK_COLUMNS, scrub)) + charts_markup(named, {}), named
