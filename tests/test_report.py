"""The nightly report: rendered for real with the bundled pandoc, then read back as HTML."""

from __future__ import annotations

import json
import re
import stat
import sys
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadence.errors import CadenceError
from cadence.report import render
from cadence.report.data import ReportData
from cadence.report.report import write_report

sys.path.insert(0, str(Path(__file__).parent))
from test_charts import (  # noqa: E402  (hand-built frames with the docs/frames.md columns)
    _t,
    by_sprint_frame,
    compare_frame,
    curves_frame,
    feedback_frame,
    sprints_frame,
    switches_frame,
)

AS_OF = datetime(2024, 3, 1, 12, tzinfo=timezone.utc)
EVIL = "<script>alert('pwned')</script>"
PEOPLE = ["Alice Secret", "alice@example.com", "5b10ac8d82e05b22cc7d4ef5"]
N_CHARTS = 14  # 12, and the two What if charts
# Issue 16: a formula for a spreadsheet, a right-to-left override that shows "ecilA" as "Alice",
# and a 20,000-character word that made tables 273,000 px wide.
FORMULA = '=HYPERLINK("https://evil.invalid/steal","click me")'
RLO = "\u202eecilA\u202c"
LONG_WORD = "x" * 20_000


def verdict_frame() -> pd.DataFrame:
    """A verdict as cadence.metrics.verdict writes it (its wording is tested in test_metrics_verdict)."""
    rows = [
        ("fast feedback", "Better with 1w than 2w: median feedback latency 6.0 h [4.0 h, 9.0 h] against 45 h.",
         "clear", "the intervals do not overlap", "1w gives 6 h latency against 45 h, but say/do 0.50 against 0.80"),
        ("honest timeboxes", "Can't tell whether 1w or 2w is better.", "can't tell", "too few sprints", ""),
        ("a learning every week", "Better with 1w than 2w: weeks with a learning 80% against 50%.", "suggestive",
         "the two intervals overlap", ""),
        ("another cadence", "A trade-off: 1w did better than 2w on median feedback latency, and worse on say/do.",
         "clear", "the intervals do not overlap", "1w gives 6 h latency against 45 h, but say/do 0.50 against 0.80"),
    ]
    frame = pd.DataFrame(rows, columns=["question", "answer", "evidence", "reason", "tradeoff"])
    return frame.assign(across_teams="Across teams: too few teams.")


def sample_data(synthetic: bool = True) -> ReportData:
    """A small world: team A switched 2w -> 1w, team B runs 3w; hostile text and people in it."""
    by_sprint = by_sprint_frame().assign(
        source="demo",
        sprint_key=lambda f: "demo:" + f["sprint_id"],
        completed_at=lambda f: f["end"],
        say_do=[0.5, 0.6, 1.0, 0.75, 0.4],
        throughput_per_week=[2.5, 2.0, 4.0, 3.0, 2.0],
        feedback_latency_median_h=[40.0, 50.0, 8.0, 6.0, 120.0],
        learnings=[0, 1, 0, 0, 1],
        learnings_per_week=[0.0, 0.5, 0.0, 0.0, 0.33],
        timeboxes=[0, 2, 0, 1, 0],
    )
    overruns = pd.DataFrame(
        {
            "source": ["demo"],
            "team": ["A"],
            "key": ["A-7"],
            "summary": [f"Spike {EVIL}"],
            "url": ["https://tracker.demo.invalid/browse/A-7"],
            "type": ["Spike"],
            "rule": ["label"],
            "start": [_t("2024-01-16")],
            "timebox_end": [_t("2024-01-18")],
            "finish": [_t("2024-01-20")],
            "finished": [True],
            "timebox_h": [48.0],
            "actual_h": [96.0],
            "overrun_size": [1.0],
            "sprint_key": ["demo:12"],
            "sprint_id": ["12"],
            "sprint_name": ["A 12"],
            "carry_count": [1],
        }
    )
    learnings = pd.DataFrame(
        {
            "source": ["demo", "demo", "demo"],
            "team": ["A", "B", "B"],
            "key": ["A-7", "B-3", "B-4"],
            "summary": ["Spike", "EDA", "@SUM(1+1)"],
            "url": ["https://tracker.demo.invalid/browse/A-7", "javascript:alert(1)",
                    "https://tracker.demo.invalid/browse/B-4"],
            "kind": ["marker", "item", "marker"],
            "marker": ["Learning", None, "Result"],
            "text": [
                f"Learning: caching halves latency, says Alice Secret (alice@example.com) {EVIL}",
                "EDA of click logs",
                f"{FORMULA} reviewed by {RLO}: {LONG_WORD}",
            ],
            "occurred_at": [_t("2024-01-19"), _t("2024-01-10"), _t("2024-01-09")],
            "sprint_key": ["demo:12", "demo:21", "demo:21"],
            "sprint_id": ["12", "21", "21"],
            "sprint_name": ["A 12", "B 21", "B 21"],
            "iso_week": ["2024-W03", "2024-W02", "2024-W02"],
        }
    )
    summary = pd.DataFrame(
        {
            "group": ["1w", "2w"],
            "kind": ["headline", "headline"],
            "n": [3, 4],
            "n_events": [3, 2],
            "median_h": [6.0, 45.0],
            "median_ci_low": [4.0, 30.0],
            "median_ci_high": [9.0, 80.0],
            "p85_h": [10.0, 90.0],
            "p85_ci_low": [8.0, 60.0],
            "p85_ci_high": [20.0, 140.0],
        }
    )
    issues = pd.DataFrame(
        {
            "source": ["demo"] * 3,
            "team": ["A", "A", "B"],
            "key": ["A-7", "A-8", "B-3"],
            "carry_count": [1, 0, 2],
            "assignees": [["Alice Secret"], [], ["5b10ac8d82e05b22cc7d4ef5"]],
        }
    )
    return ReportData(
        as_of=AS_OF,
        teams=pd.DataFrame(
            {"team": ["A", "B"], "source": ["demo"] * 2, "scope": [None] * 2, "synthetic": [synthetic] * 2}
        ),
        sprints=sprints_frame(),
        by_sprint=by_sprint,
        issues=issues,
        compare=compare_frame(),
        switches=switches_frame(),
        feedback=feedback_frame().assign(
            sprint_key=["demo:13", "demo:11", "demo:21"], feedback_event=[True, True, True]
        ),
        feedback_summary=summary,
        feedback_curves=curves_frame(),
        overruns=overruns,
        learnings=learnings,
        sync_status=pd.DataFrame(
            {
                "source": ["jira"],
                "scope": ["project=A"],
                "cursor": ["c"],
                "last_success_at": [_t("2024-03-01 02:00")],
                "details": [None],
            }
        ),
        problems=pd.DataFrame(
            {
                "source": ["jira"],
                "entity": ["issue"],
                "entity_id": ["A-9"],
                "problem": ["deleted_user"],
                "detail": ["actor 5b10ac8d82e05b22cc7d4ef5 no longer exists"],
                "first_seen": [AS_OF],
                "last_seen": [AS_OF],
            }
        ),
        runs=pd.DataFrame(
            {
                "run_id": ["r1"],
                "command": ["sync jira"],
                "started_at": [_t("2024-03-01 01:55")],
                "ended_at": [_t("2024-03-01 02:00")],
                "status": ["ok"],
                "details": [None],
            }
        ),
        without_history=pd.DataFrame(
            {
                "team": ["B"],
                "sprint_key": ["demo:22"],
                "sprint_id": ["22"],
                "sprint_name": ["B 22"],
                "state": ["closed"],
                "source": ["demo"],
            }
        ),
        people=["Alice Secret", "5b10ac8d82e05b22cc7d4ef5"],
        verdict=verdict_frame(),
        timebox_problems=pd.DataFrame(
            {
                "source": ["demo"], "team": ["B"], "key": ["B-9"], "summary": ["Due before it began"],
                "url": ["https://tracker.demo.invalid/browse/B-9"], "type": ["Story"],
                "problem": ["due before start"], "start": [_t("2024-01-10 09:00")],
                "due_date": [_t("2024-01-03")], "before_start_h": [153.0], "rule_used": [None],
            }
        ),
    )


def listing_rows(page: str, listing_id: str) -> list[list[str]]:
    """The rows (cells as HTML) that itables hands DataTables for one listing: its ``data_json``."""
    script = re.search(rf'(?s)querySelectorAll\("#{listing_id}:not\(\.dataTable\)"\).*?new ITable', page).group(0)
    data_json = re.search(r'"data_json": ("(?:[^"\\]|\\.)*")', script).group(1)
    return json.loads(json.loads(data_json))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    return write_report(sample_data(), out, generated=datetime(2024, 3, 1, 3, tzinfo=timezone.utc))


@pytest.fixture(scope="module")
def page(rendered: Path) -> str:
    return rendered.read_text(encoding="utf-8")


def test_writes_qmd_html_and_every_chart_as_png_svg_and_json(rendered: Path) -> None:
    out = rendered.parent
    assert rendered.name == "report.html" and (out / "report.qmd").is_file()
    stems = {p.name.split(".")[0] for p in (out / "report_assets").glob("*.vl.json")}
    assert len(stems) == N_CHARTS
    for stem in stems:
        assert (out / "report_assets" / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"
        assert "<svg" in (out / "report_assets" / f"{stem}.svg").read_text()[:400]
        assert json.loads((out / "report_assets" / f"{stem}.vl.json").read_text())["$schema"]


def test_html_is_self_contained(page: str) -> None:
    """No script, image, style sheet or frame loads from anywhere: all scripts are inline."""
    assert not re.search(r"<script[^>]*\ssrc=", page)
    markup = re.sub(r"(?s)(<script[^>]*>).*?</script>", r"\1</script>", page)  # drop the inlined JavaScript
    assert not re.search(r'<(img|link|iframe|source|video|audio)[^>]+(src|href)="(?!data:)', markup)
    assert page.count('class="cadence-chart"') == N_CHARTS
    assert "window.vegaEmbed" in page  # the bundle is inlined


def test_sections_in_product_order(page: str) -> None:
    heads = [
        "The verdict",
        "Headline metrics per team",
        "Cadence comparison",
        "Feedback loops",
        "Timeboxes",
        "Learnings",
        "Data quality",
    ]
    positions = [page.index(f">{h}</h2>") for h in heads]
    assert positions == sorted(positions)


def test_switching_teams_lead_the_comparison(page: str) -> None:
    section = page[page.index(">Cadence comparison</h2>") : page.index(">Feedback loops</h2>")]
    assert section.index("Teams that switched cadence") < section.index("All cadences")
    assert "2w → 1w" in section and "0.60 [0.40, 0.80]" in section and "0.90 [0.80, 1.00]" in section


def test_hostile_text_is_escaped_everywhere(rendered: Path, page: str) -> None:
    assert EVIL not in page
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in page
    assert 'href="javascript:' not in page
    # The sprint name "B <script>alert(1)</script>" is chart data: inside the inline JSON it cannot close the script.
    assert "<script>alert(1)</script>" not in page and "B \\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in page
    assert EVIL not in (rendered.parent / "report.qmd").read_text()


def test_people_hidden_by_default(rendered: Path, page: str) -> None:
    everything = page + (rendered.parent / "report.qmd").read_text()
    everything += "".join(
        p.read_text(errors="ignore")
        for p in (rendered.parent / "report_assets").iterdir()
        if p.suffix in (".json", ".csv", ".svg", ".html")
    )
    for person in PEOPLE:
        assert person not in everything
    assert "[person]" in page and "[e-mail hidden]" in page


def test_people_shown_when_asked(tmp_path: Path) -> None:
    page = write_report(sample_data(), tmp_path, show_people=True).read_text()
    assert "Alice Secret" in page and "alice@example.com" in page
    assert ">Assignees</th>" in page


def test_header_says_when_and_from_which_sync_and_flags_synthetic_data(page: str) -> None:
    assert "Generated 2024-03-01 03:00 UTC" in page
    assert "metrics as of 2024-03-01 12:00 UTC" in page
    assert "sync of 2024-03-01 02:00 UTC" in page
    assert 'id="synthetic-banner"' in page


def test_no_banner_for_real_data(tmp_path: Path) -> None:
    assert "synthetic-banner" not in write_report(sample_data(synthetic=False), tmp_path).read_text()


def test_listings_and_data_quality(page: str) -> None:
    assert 'href="https://tracker.demo.invalid/browse/A-7"' in page
    assert "EDA of click logs" in page
    quality = page[page.index(">Data quality</h2>") :]
    for expected in ("project=A", "sync jira", "deleted_user", "B 22", "cadence and team cannot be told apart"):
        assert expected in quality
    timeboxes = page[page.index(">Timeboxes</h2>") : page.index(">Learnings</h2>")]
    assert "100%" in timeboxes and "48.0" in timeboxes and "96.0" in timeboxes


def test_headline_trend_against_previous_sprints(page: str) -> None:
    """Team A's latest closed sprint (A 14) has say/do 75%, against the mean of 50%, 60%, 100% = 70%."""
    row = re.search(r"<tr><td>A</td><td>A 14</td>.*?</tr>", page).group(0)
    assert "75%" in row and "▲ from 70%" in row


def test_quarto_is_used_when_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A quarto on PATH gets the .qmd; this one records its arguments and writes the page."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "quarto"
    fake.write_text('#!/bin/sh\necho "$@" > "$PWD/quarto_args"\necho "<html>quarto</html>" > report.html\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    out = write_report(sample_data(), tmp_path / "out")
    assert (tmp_path / "out" / "quarto_args").read_text().split() == ["render", "report.qmd", "--to", "html"]
    assert out.read_text().strip() == "<html>quarto</html>"
    front = (tmp_path / "out" / "report.qmd").read_text().split("---")[1]
    assert "embed-resources: true" in front and "include-after-body: report_assets/_charts.html" in front


def test_revealjs_without_quarto_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(CadenceError, match="Quarto"):
        render.render_revealjs(tmp_path / "slides.qmd")


def test_scrubber_hides_whole_names_only() -> None:
    from cadence.report.html import Scrubber

    scrub = Scrubber(["sam", "alice"], show_people=False)
    assert (
        scrub("Ask Sam about the sample; alice@example.com agreed")
        == "Ask [person] about the sample; [e-mail hidden] agreed"
    )
    assert Scrubber(["sam"], show_people=True)("Ask Sam") == "Ask Sam"


DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    import cadence
    from cadence.importer import import_path
    from cadence.report import build_report

    folder = tmp_path_factory.mktemp("demo")
    import_path(folder / "demo.duckdb", DEMO)
    wh = cadence.open(folder / "demo.duckdb")
    return folder / "demo.duckdb", build_report(wh, folder / "out", as_of=datetime(2026, 11, 21, tzinfo=timezone.utc))


def test_demo_report_end_to_end(demo_report: tuple[Path, Path]) -> None:
    import duckdb

    db, html = demo_report
    page = html.read_text(encoding="utf-8")
    with duckdb.connect(str(db), read_only=True) as con:
        people = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT actor FROM events WHERE actor IS NOT NULL "
                "UNION SELECT DISTINCT unnest(assignees) FROM items"
            ).fetchall()
        ]
        teams = [r[0] for r in con.execute("SELECT team FROM teams").fetchall()]
        learning_keys = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT key FROM events "
                "WHERE kind = 'comment' AND regexp_matches(text, '(?im)^learning:') LIMIT 5"
            ).fetchall()
        ]
    assert page.count('class="cadence-chart"') == N_CHARTS and 'id="synthetic-banner"' in page
    markup = re.sub(r"(?s)(<script[^>]*>).*?</script>", r"\1</script>", page)
    shown = markup + "".join(p.read_text() for p in (html.parent / "report_assets").glob("*.vl.json"))
    assert len(people) > 5
    for person in people:
        assert not re.search(rf"\b{re.escape(person)}\b", shown, re.IGNORECASE), person
    for team in teams:
        assert f"<td>{team}</td>" in markup
    learnings = " ".join(cell for row in listing_rows(page, "listing-learnings") for cell in row)
    assert learning_keys and all(f">{key}</a>" in learnings for key in learning_keys)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_tracker_text_stays_text_in_a_table_cell(text: str) -> None:
    import html as html_lib

    from cadence.report.html import Column, raw_block, table

    from cadence.report.safe import neutralise

    markup = table(pd.DataFrame({"summary": [text]}), [Column("summary", "Title")])
    cell = re.search(r"(?s)<td>(.*)</td>", markup).group(1).replace("<wbr>", "")  # break points in long words
    assert "<" not in cell and ">" not in cell and html_lib.unescape(cell) == neutralise(text)
    block = raw_block(markup)
    assert block.count("```") == 2  # nothing in the text can close the raw block early


def test_trend_arrows_colour_by_what_is_better() -> None:
    from cadence.report.html import fmt_number, fmt_percent
    from cadence.report.sections import _trend_cell

    assert _trend_cell(0.8, 0.79999, fmt_percent, True) == "80%"  # same once rounded: no arrow
    latency = _trend_cell(20.0, 30.0, fmt_number(1), False)  # latency fell: down arrow, good
    assert 'class="up"' in latency and "▼ from 30.0" in latency
    say_do = _trend_cell(0.5, 0.7, fmt_percent, True)  # say/do fell: down arrow, bad
    assert 'class="down"' in say_do and "▼ from 70%" in say_do


def test_empty_warehouse_still_makes_a_report(tmp_path: Path) -> None:
    """The first nightly run, before any sync: every section is there and says there is nothing yet."""
    import cadence
    from cadence.report import build_report, build_slides
    from cadence.warehouse.connection import connect

    with connect(tmp_path / "empty.duckdb", read_only=False):
        pass
    wh = cadence.open(tmp_path / "empty.duckdb")
    page = build_report(wh, tmp_path / "out", as_of=AS_OF).read_text()
    assert page.count('class="cadence-chart"') == N_CHARTS
    assert "No closed sprints yet." in page and "no recorded sync" in page
    assert "synthetic-banner" not in page
    spec = json.loads((tmp_path / "out" / "report_assets" / "team_timeline.vl.json").read_text())
    assert spec["mark"]["type"] == "text"  # the empty state, not an empty axis
    with pytest.raises(CadenceError, match="no closed sprint"):
        build_slides(wh, tmp_path / "slides", as_of=AS_OF)


def test_the_verdict_comes_first_with_its_words(page: str) -> None:
    body = page[page.index("<body") :]
    first = re.search(r"<h2[^>]*>([^<]*)</h2>", body).group(1)
    assert first == "The verdict"
    verdict = page[page.index(">The verdict</h2>") : page.index(">Headline metrics per team</h2>")]
    for question in ("Fast feedback?", "Honest timeboxes?", "At least one concrete learning every week?",
                     "Would another cadence do better?"):
        assert question in verdict
    assert verdict.count('class="word word-clear"') == 2 and 'class="word word-cant-tell"' in verdict
    assert 'class="word word-suggestive"' in verdict
    assert "Trade-off: 1w gives 6 h latency against 45 h, but say/do 0.50 against 0.80" in verdict
    assert "Cohen" in verdict  # the rule that picks the word is on the page


def test_listings_are_datatables_inlined_for_offline_use(page: str) -> None:
    """itables in offline mode: the DataTables bundle is in the page; each listing pages at 20 rows."""
    for listing_id in ("listing-overruns", "listing-learnings", "listing-due-before-start", "listing-cadences"):
        assert f'<table id="{listing_id}"' in page
    assert page.count("injectModule(") >= 1 and "unpkg.com" not in page  # DataTables from the page, not a CDN
    assert '"pageLength": 20' in page


def test_csv_files_are_guarded_against_formula_injection(rendered: Path) -> None:
    """OWASP CSV Injection: a text cell starting with = + - @ (tab, CR) is prefixed with a single quote."""
    import csv

    with open(rendered.parent / "report_assets" / "learnings.csv", newline="", encoding="utf-8") as f:
        rows = {r["key"]: r for r in csv.DictReader(f)}
    assert rows["B-4"]["summary"] == "'@SUM(1+1)"
    assert rows["B-4"]["text"].startswith("'=HYPERLINK(") and "\u202e" not in rows["B-4"]["text"]
    assert rows["B-3"]["text"] == "EDA of click logs"
    with open(rendered.parent / "report_assets" / "by_sprint.csv", newline="", encoding="utf-8") as f:
        sprint = next(csv.DictReader(f))
    assert not sprint["say_do"].startswith("'")  # numbers stay numbers
    assert (rendered.parent / "report_assets" / "timebox_problems.csv").read_text().count("due before start") == 1


def test_csv_guard_rule() -> None:
    from cadence.report.safe import csv_cell

    guarded = ["=1+1", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "  =1", "\uff1d1"]
    assert [csv_cell(v) for v in guarded] == ["'" + v for v in guarded]
    assert [csv_cell(v) for v in ("plain", "1-2", "", "a=b")] == ["plain", "1-2", "", "a=b"]
    assert csv_cell(-0.5) == -0.5


def test_bidirectional_overrides_are_neutralised(page: str, rendered: Path) -> None:
    for char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
        assert char not in page and char not in (rendered.parent / "report.qmd").read_text()
    assert "reviewed by ecilA" in page  # the text is there, read in its real order


def test_a_20000_character_word_gets_break_points(page: str) -> None:
    assert LONG_WORD not in page
    assert ("x" * 20 + "<wbr>") * 10 in page


def test_due_dates_before_the_start_are_listed_apart_and_counted(page: str) -> None:
    timeboxes = page[page.index(">Timeboxes</h2>") : page.index(">Learnings</h2>")]
    assert "Due before the start (1)" in timeboxes and "B-9" in timeboxes and "153.0" in timeboxes
    quality = page[page.index(">Data quality</h2>") :]
    assert "due before start" in quality and "10% of the timebox" in timeboxes


def test_the_trend_window_is_configurable(tmp_path: Path) -> None:
    """With [report] trend_window = 1, A 14's say/do (75%) is compared with A 13's alone (100%)."""
    import dataclasses

    from cadence.config import Config

    data = dataclasses.replace(sample_data(), config=Config(trend_window=1))
    page = write_report(data, tmp_path).read_text()
    row = re.search(r"<tr><td>A</td><td>A 14</td>.*?</tr>", page).group(0)
    assert "▼ from 100%" in row and "mean of the 1 sprints before" in row
