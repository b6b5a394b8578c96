"""The rendered report in headless Chromium: every chart draws, offline, and hostile text stays text.

At 800 and 1400 px the page never scrolls sideways (a 20,000-character word included), every chart
is drawn, the listings sort when a header is clicked, and no request leaves the file.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cadence.report.report import write_report

sys.path.insert(0, str(Path(__file__).parent))
from test_report import EVIL, N_CHARTS, RLO, sample_data  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Outside CI a machine without Chromium skips these with the reason; in CI (.ci/run installs it) a
# missing browser is a failure, never a silent skip.
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and os.environ.get("CI") != "true",
    reason="Debian chromium is not installed (apt-get install chromium; .ci/run installs it)",
)


def _report(kind: str, folder: Path) -> Path:
    if kind == "sample":
        return write_report(sample_data(), folder, generated=datetime(2024, 3, 1, 3, tzinfo=timezone.utc))
    import cadence
    from cadence.importer import import_path
    from cadence.report import build_report

    import_path(folder / "demo.duckdb", ROOT / "data" / "demo")
    return build_report(
        cadence.open(folder / "demo.duckdb"), folder / "out", as_of=datetime(2026, 11, 21, tzinfo=timezone.utc)
    )


@pytest.fixture(scope="module", params=["sample", "demo"])
def browser_page(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The report of the hand-built sample (hostile text, people) and of the demo warehouse, opened in Chromium."""
    from playwright.sync_api import sync_playwright

    report = _report(request.param, tmp_path_factory.mktemp(request.param))
    seen = {"console_errors": [], "page_errors": [], "blocked": [], "dialogs": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.on("console", lambda msg: msg.type == "error" and seen["console_errors"].append(msg.text))
        page.on("pageerror", lambda err: seen["page_errors"].append(str(err)))
        page.on("dialog", lambda dialog: (seen["dialogs"].append(dialog.message), dialog.dismiss()))

        def route(r):
            if r.request.url.split(":", 1)[0] in ("file", "data", "blob", "about"):
                r.continue_()
            else:
                seen["blocked"].append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.goto(report.as_uri())
        page.wait_for_function(
            "[...document.querySelectorAll('.cadence-chart')]"
            ".every(el => el.dataset.drawn === 'true' || el.textContent.includes('could not be drawn'))",
            timeout=30_000,
        )
        page.wait_for_selector("table.dataTable", timeout=30_000)  # DataTables loaded from the page itself
        yield page, seen, request.param
        browser.close()


def test_every_chart_drew(browser_page) -> None:
    page, _, _ = browser_page
    containers = page.eval_on_selector_all(".cadence-chart", "els => els.length")
    drawn = page.eval_on_selector_all(
        ".cadence-chart", "els => els.filter(el => el.querySelector('svg.marks, canvas')).length"
    )
    assert containers == N_CHARTS and drawn == containers
    failed = page.eval_on_selector_all(
        ".cadence-chart", "els => els.filter(el => el.textContent.includes('could not be drawn')).length"
    )
    assert failed == 0


def test_no_console_errors_and_nothing_left_the_page(browser_page) -> None:
    _, seen, _ = browser_page
    assert seen["console_errors"] == [] and seen["page_errors"] == []
    assert seen["blocked"] == []


def test_script_in_a_title_shows_as_text(browser_page) -> None:
    page, seen, kind = browser_page
    assert seen["dialogs"] == []
    if kind == "sample":
        assert EVIL in page.inner_text("body")


def test_a_chart_has_marks_for_its_data(browser_page) -> None:
    """The timeline draws one bar per sprint: 5 sprints in the sample, 98 in the demo data."""
    page, _, kind = browser_page
    bars = page.eval_on_selector("#chart-team_timeline", "el => el.querySelectorAll('g.mark-rect path').length")
    assert bars == {"sample": 5, "demo": 98}[kind]


@pytest.mark.parametrize("width", [800, 1400])
def test_no_horizontal_scroll(browser_page, width: int) -> None:
    page, _, _ = browser_page
    page.set_viewport_size({"width": width, "height": 1000})
    page.wait_for_timeout(300)  # let the layout settle
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, (width, scroll, inner)
    # Not even inside a scrolling box: no table cell reaches past the window (a long word once made one 273,000 px).
    widest = page.evaluate("Math.max(...[...document.querySelectorAll('td, th')].map(c => c.getBoundingClientRect().right))")
    assert widest <= inner, widest


def _column(page, table: str, n: int) -> list[str]:
    return page.eval_on_selector_all(f"#{table} tbody tr td:nth-child({n})", "tds => tds.map(td => td.textContent)")


def test_listings_sort_when_a_header_is_clicked(browser_page) -> None:
    """The sample's learnings sort by week; the demo's overruns (largest first) sort by size, smallest first."""
    page, _, kind = browser_page
    table, column = {"sample": ("listing-learnings", 3), "demo": ("listing-overruns", 8)}[kind]
    before = _column(page, table, column)
    header = f"#{table} thead th:nth-child({column})"
    page.click(header)
    # DataTables marks the sorted header once it has redrawn; reading before that raced it.
    page.wait_for_function(f"document.querySelector('{header}').getAttribute('aria-sort') !== null", timeout=10_000)
    after = _column(page, table, column)
    assert after != before or len(before) < 2
    if kind == "demo":
        sizes = [float(v.rstrip("%").replace(",", "")) for v in after]
        assert sizes == sorted(sizes) and len(sizes) == 20  # one page of 20, numerically sorted
        assert page.inner_text(f"#{table}_info").startswith("Showing 1 to 20 of ")
    else:
        assert after == sorted(after)


def test_listings_filter(browser_page) -> None:
    page, _, kind = browser_page
    table = {"sample": "listing-learnings", "demo": "listing-learnings"}[kind]
    box = page.locator(f"#{table}_wrapper input[type=search]")
    box.fill("halves")
    rows = page.eval_on_selector_all(f"#{table} tbody tr", "trs => trs.map(tr => tr.textContent)")
    box.fill("")
    assert rows and all("halves" in r for r in rows)


def test_bidirectional_overrides_never_reach_the_page(browser_page) -> None:
    page, _, kind = browser_page
    text = page.inner_text("body")
    assert "\u202e" not in text
    if kind == "sample":
        assert RLO not in text and "reviewed by ecilA" in text
