"""``cadence report``: the nightly report, one self-contained HTML file that works offline."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import jinja2
import pandas as pd

from cadence.report import listings, sections
from cadence.report.assets import after_body, template, write_charts
from cadence.report.data import ReportData, collect
from cadence.report.html import Scrubber, esc, fmt_time, raw_block
from cadence.report.render import render_html
from cadence.warehouse.api import Warehouse

log = logging.getLogger(__name__)

TITLE = "cadence report"
ASSETS = "report_assets"


def _latest_sync(data: ReportData) -> str:
    synced = (
        data.sync_status["last_success_at"].dropna()
        if "last_success_at" in data.sync_status
        else pd.Series(dtype=object)
    )
    if not synced.empty:
        return f"the sync of {fmt_time(synced.max())}"
    done = (
        data.runs.loc[data.runs["status"].isin(["ok", "partial"]), "ended_at"].dropna()
        if not data.runs.empty
        else synced
    )
    return f"the sync of {fmt_time(done.max())}" if not done.empty else "no recorded sync (imported or demo data)"


def header(data: ReportData, generated: datetime, scrub: Callable[[Any], str]) -> str:
    """When it was generated, as of when, from which sync; and the synthetic-data banner."""
    parts = []
    if data.synthetic:
        parts.append(
            '<p class="banner" id="synthetic-banner">'
            "Synthetic demo data: these teams and numbers are generated, not real.</p>"
        )
    parts.append(
        f'<p class="meta" id="generated">Generated {esc(fmt_time(generated))}; '
        f"metrics as of {esc(fmt_time(data.as_of))}; "
        f"data from {esc(_latest_sync(data))}. {len(data.teams):,} teams, {len(data.sprints):,} sprints, "
        f"{len(data.issues):,} items.</p>"
    )
    return raw_block("\n".join(parts))


def _write_csvs(data: ReportData, folder: Path, scrub: Callable[[Any], str]) -> None:
    """The full listings, for when the report shows only the newest rows; free text scrubbed of people."""
    for name, frame in (("learnings", data.learnings), ("overruns", data.overruns), ("by_sprint", data.by_sprint)):
        text_columns = [c for c in ("text", "summary") if c in frame]
        frame.assign(**{c: frame[c].map(scrub) for c in text_columns}).to_csv(folder / f"{name}.csv", index=False)


def write_report(data: ReportData, out_dir: Path, show_people: bool = False, generated: datetime | None = None) -> Path:
    """Write the ``.qmd``, its assets and the rendered HTML into ``out_dir``; return the HTML path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    assets = out_dir / ASSETS
    assets.mkdir(exist_ok=True)
    scrub = Scrubber(data.people, show_people)
    parts = {
        "headline": sections.headline(data, scrub),
        "comparison": sections.comparison(data, scrub),
        "feedback": sections.feedback(data, scrub),
        "timeboxes": listings.timeboxes(data, scrub, show_people),
        "learnings": listings.learnings(data, scrub),
        "data_quality": listings.data_quality(data, scrub),
    }
    all_charts = {name: chart for _, named in parts.values() for name, chart in named.items()}
    specs = write_charts(all_charts, assets)
    head, body = assets / "_head.html", assets / "_charts.html"
    head.write_text(template("report.css"), encoding="utf-8")
    body.write_text(after_body(specs), encoding="utf-8")
    _write_csvs(data, assets, scrub)
    stamp = pd.Timestamp(generated) if generated is not None else pd.Timestamp.now(tz="UTC")
    qmd_text = jinja2.Template(template("report.qmd"), autoescape=False, keep_trailing_newline=True).render(
        title=TITLE,
        generated=fmt_time(stamp),
        head_file=f"{ASSETS}/_head.html",
        body_file=f"{ASSETS}/_charts.html",
        header=header(data, stamp, scrub),
        **{name: markup for name, (markup, _) in parts.items()},
    )
    qmd = out_dir / "report.qmd"
    qmd.write_text(qmd_text, encoding="utf-8")
    html = render_html(qmd, head, body)
    log.info("report written to %s (%d charts)", html, len(specs))
    return html


def build_report(wh: Warehouse, out_dir: Path, as_of: datetime | None = None, show_people: bool = False) -> Path:
    """Build the nightly report from ``wh`` into ``out_dir`` and return the HTML file's path.

    People (assignee names, e-mails, account ids) are hidden unless ``show_people``.
    """
    return write_report(collect(wh, as_of), Path(out_dir), show_people=show_people)
