"""The rendered report in headless Chromium: every chart draws, offline, and hostile text stays text."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cadence.report.report import write_report

sys.path.insert(0, str(Path(__file__).parent))
from test_report import EVIL, sample_data  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is installed by .ci/run")


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory: pytest.TempPathFactory):
    from playwright.sync_api import sync_playwright

    report = write_report(sample_data(), tmp_path_factory.mktemp("browser"), generated=datetime(2024, 3, 1, 3, tzinfo=timezone.utc))
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
        page.goto(report.as_uri())
        page.wait_for_function(
            "[...document.querySelectorAll('.cadence-chart')].every(el => el.dataset.drawn === 'true' || el.textContent.includes('could not be drawn'))",
            timeout=30_000,
        )
        yield page, seen
        browser.close()


def test_every_chart_drew(browser_page) -> None:
    page, _ = browser_page
    containers = page.eval_on_selector_all(".cadence-chart", "els => els.length")
    drawn = page.eval_on_selector_all(".cadence-chart", "els => els.filter(el => el.querySelector('svg.marks, canvas')).length")
    assert containers == 11 and drawn == containers
    failed = page.eval_on_selector_all(".cadence-chart", "els => els.filter(el => el.textContent.includes('could not be drawn')).length")
    assert failed == 0


def test_no_console_errors_and_nothing_left_the_page(browser_page) -> None:
    _, seen = browser_page
    assert seen["console_errors"] == [] and seen["page_errors"] == []
    assert seen["blocked"] == []


def test_script_in_a_title_shows_as_text(browser_page) -> None:
    page, seen = browser_page
    assert seen["dialogs"] == []
    assert EVIL in page.inner_text("body")


def test_a_chart_has_marks_for_its_data(browser_page) -> None:
    """The timeline draws one bar per sprint: 5 sprints in the sample."""
    page, _ = browser_page
    bars = page.eval_on_selector("#chart-team_timeline", "el => el.querySelectorAll('g.mark-rect path').length")
    assert bars == 5
