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
from cadence.report.data import ReportData, collect, neutralised
from cadence.report.html import Scrubber, esc, fmt_time, raw_block
from cadence.report.render import render_html
from cadence.report.safe import write_csv
from cadence.report.sections import SectionFn
from cadence.api import Warehouse

log = logging.getLogger(__name__)

TITLE = "cadence report"
ASSETS = "report_assets"

# The page, in order: (anchor, heading, section). PRODUCT.md's order; add a section here.
SECTIONS: list[tuple[str, str, SectionFn]] = [
    ("verdict", "The verdict", sections.verdict),
    ("headline", "Headline metrics per team", sections.headline),
    ("comparison", "Cadence comparison", sections.comparison),
    ("feedback", "Feedback loops", sections.feedback),
    ("timeboxes", "Timeboxes", listings.timeboxes),
    ("learnings", "Learnings", listings.learnings),
    ("data-quality", "Data quality", listings.data_quality),
]


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


CSV_FILES = ("learnings", "overruns", "timebox_problems", "by_sprint")


def _write_csvs(data: ReportData, folder: Path, scrub: Callable[[Any], str]) -> None:
    """The full listings, free text scrubbed of people, every text cell guarded against formula injection."""
    for name in CSV_FILES:
        frame = getattr(data, name)
        text_columns = [c for c in ("text", "summary") if c in frame]
        write_csv(frame.assign(**{c: frame[c].map(scrub) for c in text_columns}), folder / f"{name}.csv")


def write_report(data: ReportData, out_dir: Path, show_people: bool = False, generated: datetime | None = None) -> Path:
    """Write the ``.qmd``, its assets and the rendered HTML into ``out_dir``; return the HTML path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    assets = out_dir / ASSETS
    assets.mkdir(exist_ok=True)
    data = neutralised(data)
    scrub = Scrubber(data.people, show_people)
    parts = [(anchor, heading, *build(data, scrub)) for anchor, heading, build in SECTIONS]
    all_charts = {name: chart for *_, named in parts for name, chart in named.items()}
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
        sections=[{"heading": heading, "attributes": "{#" + anchor + "}", "markup": markup}
                  for anchor, heading, markup, _ in parts],
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
