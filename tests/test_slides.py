"""Retro slides: built for real, then opened with python-pptx."""

from __future__ import annotations

import re
import sys
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest
from pptx import Presentation

import cadence
from cadence.errors import CadenceError
from cadence.report.deck import sprint_deck
from cadence.report.slides import build_slides, write_pptx

sys.path.insert(0, str(Path(__file__).parent))
from test_report import EVIL, sample_data  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
DEMO_AS_OF = datetime(2026, 11, 21, tzinfo=timezone.utc)
PICTURE = 13


def _deck(tmp_path: Path, team: str | None = "A", sprint: str = "latest", show_people: bool = False) -> Presentation:
    data = sample_data()
    out = write_pptx(data, sprint_deck(data, team, sprint), tmp_path / "deck.pptx", show_people=show_people)
    return Presentation(str(out))


def _texts(slide) -> str:
    parts = [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]
    parts += [cell.text for shape in slide.shapes if shape.has_table for row in shape.table.rows for cell in row.cells]
    return "\n".join(parts)


def _notes(slide) -> str:
    return slide.notes_slide.notes_text_frame.text


def test_latest_sprint_deck_has_six_titled_slides_with_charts(tmp_path: Path) -> None:
    """Team A's latest closed sprint is A 14, which has no overruns and no learnings."""
    slides = list(_deck(tmp_path).slides)
    assert [s.shapes.title.text for s in slides] == [
        "Retro: A: A 14",
        "Scorecard against the previous 3 sprints",
        "Feedback latency",
        "Timebox overruns: 0 of 1 timeboxes",
        "Learnings: 0 this sprint (0.00 per week)",
        "Cadence comparison",
    ]
    pictures = [sum(shape.shape_type == PICTURE for shape in s.shapes) for s in slides]
    assert pictures == [0, 1, 1, 1, 1, 1]
    assert all(_notes(s) for s in slides)


def test_scorecard_notes_give_the_numbers(tmp_path: Path) -> None:
    """A 14 committed 3; A 11-13 committed 6, 5, 4 (mean 5); say/do 75% against (50+60+100)/3 = 70%."""
    notes = _notes(list(_deck(tmp_path).slides)[1])
    assert "Committed: 3 this sprint; previous mean 5." in notes
    assert "Say/do: 75% this sprint; previous mean 70%." in notes


def test_empty_sprint_still_gets_sensible_slides(tmp_path: Path) -> None:
    slides = list(_deck(tmp_path).slides)
    assert "No timebox ran over in this sprint." in _texts(slides[3])
    assert "No learning was recorded in this sprint." in _texts(slides[4])


def test_sprint_with_overruns_and_learnings_lists_them(tmp_path: Path) -> None:
    slides = list(_deck(tmp_path, sprint="12").slides)
    assert slides[0].shapes.title.text == "Retro: A: A 12"
    overruns = _texts(slides[3])
    assert slides[3].shapes.title.text == "Timebox overruns: 1 of 2 timeboxes"
    assert "A-7" in overruns and EVIL in overruns and "timebox label" in overruns and "100%" in overruns
    learning = slides[4]
    assert "caching halves latency" in _texts(learning)
    links = [
        r.hyperlink.address
        for sh in learning.shapes
        if sh.has_text_frame
        for p in sh.text_frame.paragraphs
        for r in p.runs
        if r.hyperlink.address
    ]
    assert links == ["https://tracker.demo.invalid/browse/A-7"]
    assert "A switched 2w → 1w on 2024-01-29" in _texts(slides[5])


def test_people_hidden_unless_asked(tmp_path: Path) -> None:
    hidden = "".join(_texts(s) + _notes(s) for s in _deck(tmp_path / "h", sprint="12").slides)
    assert "Alice Secret" not in hidden and "alice@example.com" not in hidden and "[person]" in hidden
    shown = "".join(_texts(s) + _notes(s) for s in _deck(tmp_path / "s", sprint="12", show_people=True).slides)
    assert "Alice Secret" in shown


def test_unknown_team_or_sprint_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CadenceError, match="no team 'Z'.*teams: A, B"):
        _deck(tmp_path, team="Z")
    with pytest.raises(CadenceError, match="no sprint '99'"):
        _deck(tmp_path, sprint="99")


@pytest.fixture(scope="module")
def demo_wh(tmp_path_factory: pytest.TempPathFactory) -> cadence.Warehouse:
    from cadence.importer import import_path

    db = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    import_path(db, DEMO)
    return cadence.open(db)


def test_demo_deck_is_for_the_latest_closed_sprint(demo_wh: cadence.Warehouse, tmp_path: Path) -> None:
    team = "Vision (synthetic)"
    out = build_slides(demo_wh, tmp_path, team=team, as_of=DEMO_AS_OF)
    with duckdb.connect(str(demo_wh.path), read_only=True) as con:
        name = con.execute(
            "SELECT name FROM sprints WHERE team = ? AND state = 'closed' AND completed_at <= ? "
            "ORDER BY completed_at DESC LIMIT 1",
            [team, DEMO_AS_OF],
        ).fetchone()[0]
    slides = list(Presentation(str(out)).slides)
    assert len(slides) == 7 and slides[0].shapes.title.text == f"Retro: {team}: {name}"
    assert sum(sh.shape_type == PICTURE for s in slides for sh in s.shapes) >= 5
    for png in (out.parent / f"{out.stem}_assets").glob("*.png"):
        assert png.read_bytes()[:4] == b"\x89PNG"


def test_revealjs_without_quarto_is_a_clear_error(
    demo_wh: cadence.Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(CadenceError, match="reveal.js slides need Quarto.*--format pptx"):
        build_slides(demo_wh, tmp_path, fmt="revealjs")


def test_revealjs_with_quarto_renders_the_same_slides(
    demo_wh: cadence.Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quarto on PATH gets a .qmd holding the deck's slides, pictures and notes; this one records its arguments."""
    import stat

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "quarto"
    fake.write_text('#!/bin/sh\necho "$@" > "$PWD/quarto_args"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    out = build_slides(demo_wh, tmp_path / "out", team="Vision (synthetic)", fmt="revealjs", as_of=DEMO_AS_OF)
    qmd = out.with_suffix(".qmd")
    assert (tmp_path / "out" / "quarto_args").read_text().split() == ["render", qmd.name, "--to", "revealjs"]
    text = qmd.read_text()
    assert text.count("\n## ") == 7 and text.count("::: notes") == 7
    images = re.findall(r"!\[\]\(([^)]+)\)", text)
    assert len(images) >= 5 and all((qmd.parent / image).is_file() for image in images)
