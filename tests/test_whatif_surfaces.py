"""What if, where users meet it: the command, the charts, the report section and the retro slide.

Oracle: hand-worked histories (days from Monday 2024-01-01, tests/histories.py). In ``_history``
the item starts on day 3 of the sprint [0, 14): its check-in is day 14 (264 h), on a 1-week grid
day 7 (96 h). In ``_switched`` the figures are those worked out in test_metrics_whatif.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import vl_convert as vlc
from pptx import Presentation

from cadence import charts, metrics
from histories import History, at, run
from test_report import N_CHARTS, sample_data

HOSTILE = 'T <b>"x"</b>'
# A waits 264 h, B 288 h: median 264 h. A bootstrap of two items draws B twice with probability 1/4
# (more than 2.5%) and A twice with 1/4, so the 95% interval is [264, 288]. On the 1-week grid: 96 and 120 h.
WAIT, WAIT_1W = "264.0 [264.0, 288.0]", "96.0 [96.0, 120.0]"


def _history(path: Path, team: str = "T") -> Path:
    h = History()
    first, second = h.sprint("1", 0, 14, 14, team=team), h.sprint("2", 14, 28, 28, team=team)
    h.item("A", created=-1, team=team, assignees=["ann"]).add("A", first, 0)
    h.status("A", 3, "in_progress", actor="ann").status("A", 5, "done", actor="ann")
    h.item("B", created=-1, team=team, assignees=["ann"]).add("B", second, 14)
    h.status("B", 16, "in_progress", actor="ann").status("B", 17, "done", actor="ann")
    return h.save(path)


def _switched(path: Path, team: str = "A") -> Path:
    """Two 2-week sprints, then two 1-week ones, all closed on time."""
    h = History()
    a0, a1 = h.sprint("a0", 0, 14, 14, team=team), h.sprint("a1", 14, 28, 28, team=team)
    b0, b1 = h.sprint("b0", 28, 35, 35, team=team), h.sprint("b1", 35, 42, 42, team=team)
    for key, sprint, entry, start, done in (("X", a0, 0, 3, 6), ("Y", a1, 14, 15, 16), ("Z", b0, 28, 29, 30),
                                            ("W", b1, 35, 38, 39)):
        h.item(key, created=-1, team=team, assignees=["ann"]).add(key, sprint, entry)
        h.status(key, start, "in_progress", actor="ann").status(key, done, "done", actor="ann")
    return h.save(path)


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA_", "GITHUB_", "CADENCE_"))}
    return subprocess.run([sys.executable, "-m", "cadence", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_command_prints_the_table_and_what_is_not_modelled(tmp_path: Path) -> None:
    db = str(_history(tmp_path / "w.duckdb"))
    result = cli("whatif", "--team", "T", "--weeks", "1", "--db", db, "--as-of", "2024-01-31T00:00:00")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("What if T ran 1-week sprints?") and "Mondays 00:00 UTC" in out
    # A waits 264 h, B (day 16 -> 28) 288 h: median 264 h; on the 1-week grid 96 h and 120 h: 96 h.
    row = next(line for line in out.splitlines() if line.strip().startswith("Wait for the check-in"))
    assert "264.0 [" in row and "96.0 [" in row
    assert "Not modelled: throughput, scope added and say/do" in out
    assert "assumes people start, finish, comment and review when they did" in out


@pytest.mark.parametrize("args, message", [
    (["--team", "Z", "--weeks", "1"], "no team 'Z' with sprints in the warehouse; teams: T"),
    (["--team", "T", "--weeks", "4"], "weeks must be 1, 2 or 3, not 4"),
    (["--team", "T", "--weeks", "2", "--phase", "soon"], "phase must be 'random', a number of weeks or a time"),
])
def test_command_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = cli("whatif", "--db", str(_history(tmp_path / "w.duckdb")), *args)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("frames")
    scenarios = run(_history(folder / "h.duckdb"), metrics.what_if_all, at(30), n_sim=20)
    backtest = run(_switched(folder / "s.duckdb"), metrics.what_if_backtest, at(42), n_sim=20)
    return scenarios, backtest


def _values(spec: dict) -> list[dict]:
    """The inline rows of a (faceted) spec: Altair moves them to ``datasets`` when it consolidates data."""
    if "datasets" in spec:
        return next(iter(spec["datasets"].values()))
    return spec["data"]["values"]


def test_charts_validate_render_and_have_an_empty_state(frames) -> None:
    scenarios, backtest = frames
    drawn = {}
    for name, chart in (("what_if", charts.what_if(scenarios)), ("backtest", charts.what_if_backtest(backtest))):
        spec = chart.to_dict()  # validated against the Vega-Lite schema
        assert vlc.vegalite_to_png(spec)[:4] == b"\x89PNG"
        drawn[name] = _values(spec)
        assert "assumption" not in drawn[name][0] and "mechanism" not in drawn[name][0]  # only what is drawn
    assert {v["scenario"] for v in drawn["what_if"]} == {"actual", "1w grid", "2w grid", "3w grid"}
    assert {v["scenario"] for v in drawn["backtest"]} == {"before", "predicted", "actual"}
    for empty in (charts.what_if(pd.DataFrame()), charts.what_if_backtest(pd.DataFrame())):
        assert empty.to_dict()["mark"]["type"] == "text"


def test_report_section_follows_the_comparison_and_escapes_team_names(frames, tmp_path: Path) -> None:
    from cadence.report.report import write_report

    scenarios, backtest = frames
    data = replace(sample_data(), what_if=scenarios.assign(team=HOSTILE), what_if_backtest=backtest)
    page = write_report(data, tmp_path / "out").read_text(encoding="utf-8")
    heads = [page.index(f">{h}</h2>") for h in ("Cadence comparison", "What if (another cadence)", "Feedback loops")]
    assert heads == sorted(heads)
    section = page[heads[1]:heads[2]]
    assert "Not modelled:</b> throughput, scope added and say/do" in section
    assert "<th>1-week grid [95% CI]</th>" in section and "<th>3-week grid [95% CI]</th>" in section
    assert f"<td>Wait for the check-in, median (h)</td><td>{WAIT}</td><td>{WAIT_1W}</td>" in section
    assert "<th>Intervals overlap</th>" in section and "2w → 1w" in section
    assert 'T &lt;b&gt;&quot;x&quot;&lt;/b&gt;' in section and HOSTILE not in page
    assert page.count('class="cadence-chart"') == N_CHARTS  # the report's 12 charts and the two What if charts


def test_retro_deck_gets_one_what_if_slide(frames, tmp_path: Path) -> None:
    from cadence.report.deck import sprint_deck
    from cadence.report.slides import write_pptx

    scenarios, backtest = frames
    bare = sample_data()
    data = replace(bare, what_if=scenarios.assign(team="A"), what_if_backtest=backtest)
    slides = list(Presentation(str(write_pptx(data, sprint_deck(data, "A", "latest"), tmp_path / "d.pptx"))).slides)
    titles = [sl.shapes.title.text for sl in slides]
    assert titles.count("What if: our own history on other sprint grids") == 1
    slide = slides[titles.index("What if: our own history on other sprint grids")]
    table = next(sh.table for sh in slide.shapes if sh.has_table)
    cells = [[c.text for c in row.cells] for row in table.rows]
    assert cells[0] == ["", "Actual", "1-week grid", "2-week grid", "3-week grid"]
    assert ["Wait for the check-in, median (h)", WAIT, WAIT_1W] == cells[1][:3]
    text = "\n".join(sh.text_frame.text for sh in slide.shapes if sh.has_text_frame)
    assert "Not modelled: throughput, scope added and say/do" in text
    assert "Back-test: our switch 2w → 1w on 2024-01-29" in text
    assert "check-in at the first grid boundary" in slide.notes_slide.notes_text_frame.text
    without = list(Presentation(str(write_pptx(bare, sprint_deck(bare, "A", "latest"), tmp_path / "b.pptx"))).slides)
    # a hand-built ReportData without the what-if frames keeps the slide, which says there is nothing to re-time
    assert [sl.shapes.title.text for sl in without] == titles
    empty = without[titles.index("What if: our own history on other sprint grids")]
    assert "This team has no sprints to re-time." in "\n".join(
        sh.text_frame.text for sh in empty.shapes if sh.has_text_frame)
