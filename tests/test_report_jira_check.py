"""The report's and the deck's words about Jira's Sprint Report, from hand-made frames (oracle: the
frames are written here, and the expected sentences follow from them by counting)."""

from __future__ import annotations

import pandas as pd

from cadence.report.html import Scrubber
from cadence.report.jira_check import report_markup, scorecard_line, summary_line


def by_sprint(verdicts: list[object], states: list[str] | None = None) -> pd.DataFrame:
    n = len(verdicts)
    return pd.DataFrame({"sprint_key": [f"jira:{i}" for i in range(n)], "state": states or ["closed"] * n,
                         "jira_report": pd.array(verdicts, dtype="string")})


def keys() -> pd.DataFrame:
    return pd.DataFrame({
        "team": ["T", "T"], "sprint_key": ["jira:1", "jira:1"], "sprint_id": ["1", "1"],
        "sprint_name": ["Sprint <1>", "Sprint <1>"], "board_id": ["7", "7"], "count": ["completed", "carried_over"],
        "ours": [3, 1], "jira": [2, 2], "key": ["A-1", "A-1"], "side": ["ours", "jira"],
        "cause": ["done in a status that is not the board's last column (QA done)"] * 2,
        "url": ["https://x.invalid/browse/A-1", "javascript:alert(1)"],
    })


def test_the_opening_line_counts_the_sprints_compared():
    # Closed: agrees, differs, agrees, unavailable; the active one is not counted.
    frame = by_sprint(["agrees", "differs", "agrees", "unavailable", None], ["closed"] * 4 + ["active"])
    assert summary_line(frame) == (
        "2 of 3 closed sprints agree with Jira's Sprint Report. 1 more closed Jira sprint has no Sprint Report "
        "from Jira to compare (see the board's note under Problems in the input).")
    assert summary_line(by_sprint(["agrees", "agrees"])) == "2 of 2 closed sprints agree with Jira's Sprint Report."
    assert summary_line(by_sprint([None, None])) == "No closed Jira sprint, so nothing is compared with Jira's Sprint Report."
    assert summary_line(pd.DataFrame({"state": ["closed"]})) == summary_line(by_sprint([None]))


def test_the_listing_links_safely_and_escapes():
    markup = report_markup(by_sprint(["agrees", "differs"]), keys(), Scrubber([], False))
    assert markup.index("1 of 2 closed sprints agree") < markup.index("<table")
    assert '<a href="https://x.invalid/browse/A-1"' in markup and "javascript:" not in markup
    assert "Sprint &lt;1&gt;" in markup and "<1>" not in markup
    assert markup.count("<tr>") == 3  # the header and the two rows


def test_the_scorecard_line():
    row = pd.Series({"sprint_key": "jira:1", "jira_report": "differs"})
    assert scorecard_line(row, keys()) == (
        "Differs from Jira's Sprint Report: completed 3 (Jira 2), carried over 1 (Jira 2). Causes are in the report.")
    assert scorecard_line(row.copy().replace("differs", "agrees"), keys()) == "Matches Jira's Sprint Report on every count."
    assert "could not be fetched" in scorecard_line(pd.Series({"jira_report": "unavailable"}), keys())
    assert scorecard_line(pd.Series({"jira_report": pd.NA}), keys()) is None
    assert scorecard_line(pd.Series({"sprint_id": "9"}), keys()) is None
